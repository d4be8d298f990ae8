package topology

import (
	"fmt"
	"net/netip"
	"strconv"
)

// Validate checks t as a whole: every object on its own (as its Validate
// method does) and every relation between objects — dangling references,
// duplicate IDs and names, peering symmetry, bound-and-peered ports,
// overlapping subnets on one router, jumps to missing chains, routes through
// another router's port, shared exclusive references and duplicate interface
// bindings. It returns nil or a *ValidationError listing every problem.
func (t *Topology) Validate() error {
	var ps problems
	// Sized up front: growing to a large topology's 100,000 ports would
	// rehash them a dozen times.
	byID := make(map[ID]Object, t.Len())
	names := map[Kind]map[string]bool{KindPort: make(map[string]bool, len(t.Ports))}
	for o := range t.Objects() {
		o.(selfValidator).validate(&ps)
		id := o.ObjectID()
		if !id.IsZero() {
			if prev, dup := byID[id]; dup {
				ps.add(o, "id", ErrDuplicateID, "also used by "+prev.ObjectKind().String()+" "+quoteName(prev))
			} else {
				byID[id] = o
			}
		}
		if n := o.ObjectName(); n != "" {
			if names[o.ObjectKind()] == nil {
				names[o.ObjectKind()] = make(map[string]bool)
			}
			if names[o.ObjectKind()][n] {
				ps.add(o, "name", ErrDuplicateName, fmt.Sprintf("another %s is named %q", o.ObjectKind(), n))
			}
			names[o.ObjectKind()][n] = true
		}
	}
	ruleIDs := make(map[ID]bool) // IDs that name a rule, not an object
	for i := range t.Chains {
		for j := range t.Chains[i].Rules {
			r := &t.Chains[i].Rules[j]
			if r.ID.IsZero() {
				continue
			}
			if prev, dup := byID[r.ID]; dup {
				if prev == Object(&t.Chains[i]) && r.ID != t.Chains[i].ID {
					continue // a duplicate within the chain: Chain.validate reports it
				}
				ps.add(&t.Chains[i], "rules["+strconv.Itoa(j)+"].id", ErrDuplicateID, "also used by "+prev.ObjectKind().String()+" "+quoteName(prev))
			} else {
				byID[r.ID] = &t.Chains[i]
				ruleIDs[r.ID] = true
			}
		}
	}

	// References.
	for o := range t.Objects() {
		for r := range o.Refs() {
			target, ok := byID[r.ID]
			if ok && target.ObjectKind() == r.Kind && !ruleIDs[r.ID] {
				continue
			}
			class := ErrDangling
			if r.Kind == KindChain && hasSuffix(r.Field, "jump-chain") {
				class = ErrMissingJumpTarget
			}
			ps.add(o, r.Field, class, "no "+r.Kind.String()+" with ID "+r.ID.String())
		}
	}
	for i := range t.Chains {
		c := &t.Chains[i]
		for j := range c.Rules {
			td := c.Rules[j].Condition.TraversedDevice
			if !td.Set {
				continue
			}
			if o, ok := byID[td.Value]; !ok || (o.ObjectKind() != KindBridge && o.ObjectKind() != KindRouter) {
				ps.add(c, "rules["+strconv.Itoa(j)+"].condition.traversed-device", ErrDangling, "no bridge or router with ID "+td.Value.String())
			}
		}
	}

	// Ports: peering, bindings, subnets per router.
	type binding struct {
		host ID
		ifc  string
	}
	bound := make(map[binding]*Port, len(t.Ports))
	routerSubnets := make(map[ID][]portSubnet)
	for i := range t.Ports {
		p := &t.Ports[i]
		if !p.Peer.IsZero() && p.Peer != p.ID {
			if peer, ok := byID[p.Peer].(*Port); ok && peer.Peer != p.ID {
				ps.add(p, "peer", ErrAsymmetricPeer, "peer "+quoteName(peer)+" names "+peerName(peer.Peer, byID)+" as its peer")
			}
		}
		if !p.Host.IsZero() && p.Interface != "" {
			b := binding{p.Host, p.Interface}
			if prev, dup := bound[b]; dup {
				ps.add(p, "interface", ErrDuplicateBinding, fmt.Sprintf("interface %q on that host is already bound to port %s", p.Interface, quoteName(prev)))
			} else {
				bound[b] = p
			}
		}
		if !p.Router.IsZero() {
			for j, s := range p.Subnets {
				routerSubnets[p.Router] = append(routerSubnets[p.Router], portSubnet{p, j, s})
			}
		}
	}
	for _, subs := range routerSubnets {
		for a := 0; a < len(subs); a++ {
			for b := a + 1; b < len(subs); b++ {
				if subs[a].port != subs[b].port && subs[a].prefix.Overlaps(subs[b].prefix) {
					sb := subs[b]
					ps.add(sb.port, "subnets["+strconv.Itoa(sb.index)+"]", ErrOverlappingSubnets,
						fmt.Sprintf("%s overlaps %s of port %s", sb.prefix, subs[a].prefix, quoteName(subs[a].port)))
				}
			}
		}
	}

	// Routes through ports of their own router.
	for i := range t.Routes {
		r := &t.Routes[i]
		if r.NextHopPort.IsZero() {
			continue
		}
		if p, ok := byID[r.NextHopPort].(*Port); ok && p.Router != r.Router {
			detail := "port " + quoteName(p) + " belongs to "
			if p.Router.IsZero() {
				detail += "a bridge"
			} else {
				detail += "router " + peerName(p.Router, byID)
			}
			ps.add(r, "next-hop-port", ErrForeignPort, detail)
		}
	}

	// Exclusive references: a load balancer serves one router.
	lbOwner := make(map[ID]*Router)
	for i := range t.Routers {
		r := &t.Routers[i]
		if r.LoadBalancer.IsZero() {
			continue
		}
		if prev, dup := lbOwner[r.LoadBalancer]; dup {
			ps.add(r, "load-balancer", ErrSharedReference, "load balancer already used by router "+quoteName(prev))
		} else {
			lbOwner[r.LoadBalancer] = r
		}
	}
	t.validateNetwork(&ps, byID)
	return ps.err()
}

type portSubnet struct {
	port   *Port
	index  int
	prefix netip.Prefix
}

func quoteName(o Object) string {
	if n := o.ObjectName(); n != "" {
		return strconv.Quote(n)
	}
	return o.ObjectID().String()
}

func peerName(id ID, byID map[ID]Object) string {
	if id.IsZero() {
		return "nothing"
	}
	if o, ok := byID[id]; ok {
		return quoteName(o)
	}
	return id.String()
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

// selfValidator is implemented by every object type.
type selfValidator interface {
	Object
	validate(ps *problems)
}

func validateObject(o selfValidator) error {
	var ps problems
	o.validate(&ps)
	return ps.err()
}

func requireID(ps *problems, o Object) {
	if o.ObjectID().IsZero() {
		ps.add(o, "id", ErrInvalidField, "missing")
	}
}

func requireRef(ps *problems, o Object, field string, id ID) {
	if id.IsZero() {
		ps.add(o, field, ErrInvalidField, "missing")
	}
}

func checkIPv4(ps *problems, o Object, field string, a netip.Addr, required bool) {
	switch {
	case !a.IsValid():
		if required {
			ps.add(o, field, ErrInvalidField, "missing")
		}
	case !a.Is4():
		ps.add(o, field, ErrInvalidField, a.String()+" is not an IPv4 address")
	}
}

func checkPrefix(ps *problems, o Object, field string, p netip.Prefix, required bool) {
	switch {
	case !p.IsValid():
		if required {
			ps.add(o, field, ErrInvalidField, "missing")
		}
	case !p.Addr().Is4():
		ps.add(o, field, ErrInvalidField, p.String()+" is not an IPv4 prefix")
	case p.Masked() != p:
		ps.add(o, field, ErrInvalidField, p.String()+" has host bits set (did you mean "+p.Masked().String()+"?)")
	}
}

func checkVLAN(ps *problems, o Object, field string, v uint16) {
	if v > 4094 {
		ps.add(o, field, ErrInvalidField, "VLAN id "+strconv.Itoa(int(v))+" is out of range 0-4094")
	}
}
