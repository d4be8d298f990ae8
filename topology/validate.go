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
	byID := make(map[ID]Object, 64)
	names := make(map[Kind]map[string]bool)
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
	bound := make(map[binding]*Port)
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

func (b *Bridge) Validate() error { return validateObject(b) }
func (b *Bridge) validate(ps *problems) {
	requireID(ps, b)
	if b.VNI != 0 && (b.VNI < 10000 || b.VNI >= 1<<24) {
		ps.add(b, "vni", ErrInvalidField, "VNI "+strconv.Itoa(int(b.VNI))+" is outside 10000-16777215")
	}
}

func (r *Router) Validate() error       { return validateObject(r) }
func (r *Router) validate(ps *problems) { requireID(ps, r) }

func (p *Port) Validate() error { return validateObject(p) }
func (p *Port) validate(ps *problems) {
	requireID(ps, p)
	switch {
	case p.Bridge.IsZero() && p.Router.IsZero():
		ps.add(p, "bridge", ErrInvalidField, "a port belongs to exactly one bridge or router; neither is set")
	case !p.Bridge.IsZero() && !p.Router.IsZero():
		ps.add(p, "router", ErrInvalidField, "a port belongs to exactly one bridge or router; both are set")
	}
	if !p.VTEP.IsZero() && p.Bridge.IsZero() {
		ps.add(p, "vtep", ErrInvalidField, "a VTEP port must belong to a bridge")
	}
	if !p.Peer.IsZero() && p.Peer == p.ID {
		ps.add(p, "peer", ErrSelfPeer, "")
	}
	if p.Host.IsZero() != (p.Interface == "") {
		field := "interface"
		if p.Host.IsZero() {
			field = "host"
		}
		ps.add(p, field, ErrInvalidField, "host and interface bind a port together; set both or neither")
	}
	if !p.Peer.IsZero() && (!p.Host.IsZero() || p.Interface != "" || !p.VTEP.IsZero()) {
		ps.add(p, "peer", ErrBoundAndPeered, "")
	}
	checkVLAN(ps, p, "vlan", p.VLAN)
	if !p.Router.IsZero() {
		if p.VLAN != 0 {
			ps.add(p, "vlan", ErrInvalidField, "only bridge ports carry a VLAN id")
		}
		for i, s := range p.Subnets {
			checkPrefix(ps, p, "subnets["+strconv.Itoa(i)+"]", s, true)
		}
		checkIPv4(ps, p, "address", p.Address, len(p.Subnets) > 0)
		if p.Address.IsValid() && p.Address.Is4() && !p.Subnet().IsValid() {
			ps.add(p, "address", ErrAddrOutsideSubnet, p.Address.String()+" is in none of the port's subnets")
		}
		if !p.MAC.IsUnicast() {
			ps.add(p, "mac", ErrInvalidField, "a router port needs a unicast MAC, not "+p.MAC.String())
		}
		if p.MTU != 0 && p.MTU < MinMTU {
			ps.add(p, "mtu", ErrInvalidField, "an MTU is at least "+strconv.Itoa(MinMTU)+" bytes (IPv4's minimum), not "+strconv.Itoa(int(p.MTU)))
		}
	} else if p.MTU != 0 {
		ps.add(p, "mtu", ErrInvalidField, "only router ports have an MTU")
	} else if len(p.Subnets) > 0 || p.Address.IsValid() || !p.MAC.IsZero() {
		ps.add(p, "address", ErrInvalidField, "only router ports have subnets, an address and a MAC")
	}
}

func (c *Chain) Validate() error { return validateObject(c) }
func (c *Chain) validate(ps *problems) {
	requireID(ps, c)
	seen := make(map[ID]bool, len(c.Rules))
	for i := range c.Rules {
		r := &c.Rules[i]
		p := "rules[" + strconv.Itoa(i) + "]"
		if r.ID.IsZero() {
			ps.add(c, p+".id", ErrInvalidField, "missing")
		} else if seen[r.ID] {
			ps.add(c, p+".id", ErrDuplicateID, "two rules of the chain share it")
		}
		seen[r.ID] = true
		r.validate(ps, c, p)
	}
}

func (r *Rule) validate(ps *problems, c *Chain, p string) {
	switch r.Type {
	case RuleLiteral:
		switch r.Action {
		case ActionAccept, ActionDrop, ActionReject, ActionReturn:
		default:
			ps.add(c, p+".action", ErrInvalidRule, "a literal rule's action is accept, drop, reject or return, not "+r.Action.String())
		}
	case RuleNAT:
		switch r.Action {
		case ActionAccept, ActionContinue, ActionReturn:
		default:
			ps.add(c, p+".action", ErrInvalidRule, "a NAT rule's action is accept, continue or return, not "+r.Action.String())
		}
		r.validateNAT(ps, c, p)
	case RuleJump:
		if r.Action != ActionJump {
			ps.add(c, p+".action", ErrInvalidRule, "a jump rule's action is jump, not "+r.Action.String())
		}
		if r.JumpChain.IsZero() {
			ps.add(c, p+".jump-chain", ErrInvalidRule, "a jump rule needs a target chain")
		}
	default:
		ps.add(c, p+".type", ErrInvalidRule, "unknown rule type "+strconv.Itoa(int(r.Type)))
	}
	if r.Type != RuleJump && !r.JumpChain.IsZero() {
		ps.add(c, p+".jump-chain", ErrInvalidRule, "only jump rules name a chain")
	}
	if r.Type != RuleNAT && (len(r.NAT.Targets) > 0 || r.NAT.DNAT || r.NAT.Reverse || r.NAT.Masquerade) {
		ps.add(c, p+".nat", ErrInvalidRule, "only NAT rules carry NAT settings")
	}
	r.Condition.validate(ps, c, p+".condition")
	if r.NATKind() == NATDynamic {
		if fp := r.Condition.FragmentPolicy; fp != FragmentDefault && fp != FragmentUnfragmented {
			ps.add(c, p+".condition.fragment-policy", ErrInvalidRule, "dynamic NAT only applies to unfragmented packets, not "+fp.String())
		}
	}
}

func (r *Rule) validateNAT(ps *problems, c *Chain, p string) {
	kind := r.NATKind()
	if kind == NATReverse {
		if len(r.NAT.Targets) > 0 {
			ps.add(c, p+".nat.targets", ErrInvalidNAT, "reverse NAT takes no targets")
		}
		if r.NAT.Masquerade {
			ps.add(c, p+".nat.masquerade", ErrInvalidNAT, "reverse NAT does not masquerade")
		}
		return
	}
	if r.NAT.Masquerade {
		r.validateMasquerade(ps, c, p)
		return
	}
	if len(r.NAT.Targets) == 0 {
		ps.add(c, p+".nat.targets", ErrInvalidNAT, "forward NAT needs at least one target")
	}
	if kind == NATStatic && len(r.NAT.Targets) > 1 {
		ps.add(c, p+".nat.targets", ErrInvalidNAT, "static NAT (no port range) takes exactly one target")
	}
	for i, t := range r.NAT.Targets {
		tp := p + ".nat.targets[" + strconv.Itoa(i) + "]"
		for _, a := range []struct {
			f string
			v netip.Addr
		}{{".addr-start", t.AddrStart}, {".addr-end", t.AddrEnd}} {
			if !a.v.IsValid() || !a.v.Is4() {
				ps.add(c, tp+a.f, ErrInvalidNAT, "needs an IPv4 address")
			}
		}
		if t.AddrStart.Is4() && t.AddrEnd.Is4() && t.AddrEnd.Less(t.AddrStart) {
			ps.add(c, tp+".addr-end", ErrInvalidNAT, fmt.Sprintf("range %s-%s is empty", t.AddrStart, t.AddrEnd))
		}
		if kind == NATStatic && t.AddrStart != t.AddrEnd {
			ps.add(c, tp+".addr-end", ErrInvalidNAT, "static NAT maps to one address")
		}
		if kind == NATDynamic {
			switch {
			case t.PortStart == 0 || t.PortEnd == 0:
				ps.add(c, tp+".port-start", ErrInvalidNAT, fmt.Sprintf("port range %d-%d: dynamic NAT needs ports 1-65535", t.PortStart, t.PortEnd))
			case t.PortEnd < t.PortStart:
				ps.add(c, tp+".port-end", ErrInvalidNAT, fmt.Sprintf("port range %d-%d is empty", t.PortStart, t.PortEnd))
			}
		}
	}
}

// validateMasquerade checks a masquerade rule: source NAT, at most one
// target, which gives only a port range.
func (r *Rule) validateMasquerade(ps *problems, c *Chain, p string) {
	if r.NAT.DNAT {
		ps.add(c, p+".nat.masquerade", ErrInvalidNAT, "masquerade is source NAT, not destination NAT")
	}
	if len(r.NAT.Targets) > 1 {
		ps.add(c, p+".nat.targets", ErrInvalidNAT, "masquerade takes at most one target, a port range")
	}
	for i, t := range r.NAT.Targets {
		tp := p + ".nat.targets[" + strconv.Itoa(i) + "]"
		if t.AddrStart.IsValid() || t.AddrEnd.IsValid() {
			ps.add(c, tp+".addr-start", ErrInvalidNAT, "masquerade takes the egress port's address, not "+t.AddrStart.String())
		}
		switch {
		case t.PortStart == 0 || t.PortEnd == 0:
			ps.add(c, tp+".port-start", ErrInvalidNAT, fmt.Sprintf("port range %d-%d: dynamic NAT needs ports 1-65535", t.PortStart, t.PortEnd))
		case t.PortEnd < t.PortStart:
			ps.add(c, tp+".port-end", ErrInvalidNAT, fmt.Sprintf("port range %d-%d is empty", t.PortStart, t.PortEnd))
		}
	}
}

func (cd *Condition) validate(ps *problems, c *Chain, p string) {
	for _, x := range []struct {
		f string
		v Cond[netip.Prefix]
	}{{".nw-src", cd.NwSrc}, {".nw-dst", cd.NwDst}, {".icmp-data-src", cd.ICMPDataSrc}, {".icmp-data-dst", cd.ICMPDataDst}} {
		if x.v.Set {
			checkPrefix(ps, c, p+x.f, x.v.Value, true)
		}
	}
	for _, x := range []struct {
		f string
		v Cond[PortRange]
	}{{".tp-src", cd.TpSrc}, {".tp-dst", cd.TpDst}} {
		if x.v.Set && x.v.Value.End < x.v.Value.Start {
			ps.add(c, p+x.f, ErrInvalidField, fmt.Sprintf("range %d-%d is empty", x.v.Value.Start, x.v.Value.End))
		}
	}
	if cd.VLAN.Set {
		checkVLAN(ps, c, p+".vlan", cd.VLAN.Value)
	}
	if cd.MatchForwardFlow && cd.MatchReturnFlow {
		ps.add(c, p+".match-return-flow", ErrInvalidField, "a packet is either a forward or a return flow; both can never match")
	}
	if cd.FragmentPolicy > FragmentUnfragmented {
		ps.add(c, p+".fragment-policy", ErrInvalidField, "unknown fragment policy")
	}
}

func (r *Route) Validate() error { return validateObject(r) }
func (r *Route) validate(ps *problems) {
	requireID(ps, r)
	requireRef(ps, r, "router", r.Router)
	checkPrefix(ps, r, "dst", r.Dst, true)
	checkPrefix(ps, r, "src", r.Src, false)
	checkIPv4(ps, r, "gateway", r.Gateway, false)
	switch r.NextHop {
	case NextHopPort:
		requireRef(ps, r, "next-hop-port", r.NextHopPort)
	case NextHopBlackhole, NextHopReject, NextHopLocal:
	default:
		ps.add(r, "next-hop", ErrInvalidField, "must be blackhole, reject, port or local")
	}
}

func (g *PortGroup) Validate() error       { return validateObject(g) }
func (g *PortGroup) validate(ps *problems) { requireID(ps, g) }

func (g *IPAddrGroup) Validate() error { return validateObject(g) }
func (g *IPAddrGroup) validate(ps *problems) {
	requireID(ps, g)
	for i, a := range g.Addrs {
		if !a.IsValid() {
			ps.add(g, "addrs["+strconv.Itoa(i)+"]", ErrInvalidField, "missing")
		}
	}
}

func (l *LoadBalancer) Validate() error       { return validateObject(l) }
func (l *LoadBalancer) validate(ps *problems) { requireID(ps, l) }

func (p *Pool) Validate() error { return validateObject(p) }
func (p *Pool) validate(ps *problems) {
	requireID(ps, p)
	requireRef(ps, p, "load-balancer", p.LoadBalancer)
	if p.Persistence > PersistenceSourceIP {
		ps.add(p, "persistence", ErrInvalidField, "unknown session persistence")
	}
}

func (m *PoolMember) Validate() error { return validateObject(m) }
func (m *PoolMember) validate(ps *problems) {
	requireID(ps, m)
	requireRef(ps, m, "pool", m.Pool)
	checkIPv4(ps, m, "addr", m.Addr, true)
	if m.Port == 0 {
		ps.add(m, "port", ErrInvalidField, "missing")
	}
	if m.Status > MemberMonitored {
		ps.add(m, "status", ErrInvalidField, "unknown status")
	}
}

func (v *VIP) Validate() error { return validateObject(v) }
func (v *VIP) validate(ps *problems) {
	requireID(ps, v)
	requireRef(ps, v, "pool", v.Pool)
	checkIPv4(ps, v, "addr", v.Addr, true)
	if v.Port == 0 {
		ps.add(v, "port", ErrInvalidField, "missing")
	}
}

func (h *HealthMonitor) Validate() error { return validateObject(h) }
func (h *HealthMonitor) validate(ps *problems) {
	requireID(ps, h)
	if h.Timeout > h.Delay && h.Delay != 0 {
		ps.add(h, "timeout", ErrInvalidField, "timeout exceeds the delay between probes")
	}
}

func (z *TunnelZone) Validate() error { return validateObject(z) }
func (z *TunnelZone) validate(ps *problems) {
	requireID(ps, z)
	if z.Type == TunnelZoneInvalid || z.Type > TunnelZoneVTEP {
		ps.add(z, "type", ErrInvalidField, "must be gre, vxlan or vtep")
	}
	hosts := make(map[ID]bool, len(z.Members))
	for i, m := range z.Members {
		f := "members[" + strconv.Itoa(i) + "]"
		requireRef(ps, z, f+".host", m.Host)
		checkIPv4(ps, z, f+".addr", m.Addr, true)
		if hosts[m.Host] {
			ps.add(z, f+".host", ErrDuplicateID, "host is a member twice")
		}
		hosts[m.Host] = true
	}
}

func (h *Host) Validate() error       { return validateObject(h) }
func (h *Host) validate(ps *problems) { requireID(ps, h) }

func (v *VTEP) Validate() error { return validateObject(v) }
func (v *VTEP) validate(ps *problems) {
	requireID(ps, v)
	checkIPv4(ps, v, "management-ip", v.ManagementIP, true)
	for i, b := range v.Bindings {
		f := "bindings[" + strconv.Itoa(i) + "]"
		if b.PortName == "" {
			ps.add(v, f+".port-name", ErrInvalidField, "missing")
		}
		checkVLAN(ps, v, f+".vlan", b.VLAN)
		requireRef(ps, v, f+".bridge", b.Bridge)
	}
}

func (d *DHCPSubnet) Validate() error { return validateObject(d) }
func (d *DHCPSubnet) validate(ps *problems) {
	requireID(ps, d)
	requireRef(ps, d, "bridge", d.Bridge)
	checkPrefix(ps, d, "subnet", d.Subnet, true)
	checkIPv4(ps, d, "server-addr", d.ServerAddr, false)
	checkIPv4(ps, d, "gateway", d.Gateway, false)
	if d.Subnet.IsValid() && d.ServerAddr.IsValid() && !d.Subnet.Contains(d.ServerAddr) {
		ps.add(d, "server-addr", ErrAddrOutsideSubnet, d.ServerAddr.String()+" is outside "+d.Subnet.String())
	}
	for i, h := range d.Hosts {
		f := "hosts[" + strconv.Itoa(i) + "]"
		checkIPv4(ps, d, f+".addr", h.Addr, true)
		if !h.MAC.IsUnicast() {
			ps.add(d, f+".mac", ErrInvalidField, "needs a unicast MAC")
		}
		if d.Subnet.IsValid() && h.Addr.IsValid() && !d.Subnet.Contains(h.Addr) {
			ps.add(d, f+".addr", ErrAddrOutsideSubnet, h.Addr.String()+" is outside "+d.Subnet.String())
		}
		for j, o := range h.Options {
			of := f + ".options[" + strconv.Itoa(j) + "]"
			if o.Code == 0 || o.Code == 255 {
				ps.add(d, of+".code", ErrInvalidField, "DHCP option codes run from 1 to 254 (0 is padding, 255 the end)")
			}
			if len(o.Value) > 255 {
				ps.add(d, of+".value", ErrInvalidField, "a DHCP option value holds at most 255 bytes, not "+strconv.Itoa(len(o.Value)))
			}
		}
	}
	if d.MTU != 0 && d.MTU < MinMTU {
		ps.add(d, "mtu", ErrInvalidField, "an MTU is at least "+strconv.Itoa(MinMTU)+" bytes (IPv4's minimum), not "+strconv.Itoa(int(d.MTU)))
	}
}

func (b *BGPPeer) Validate() error { return validateObject(b) }
func (b *BGPPeer) validate(ps *problems) {
	requireID(ps, b)
	requireRef(ps, b, "router", b.Router)
	checkIPv4(ps, b, "addr", b.Addr, true)
	if b.ASNumber == 0 {
		ps.add(b, "as-number", ErrInvalidField, "missing")
	}
}

func (b *BGPNetwork) Validate() error { return validateObject(b) }
func (b *BGPNetwork) validate(ps *problems) {
	requireID(ps, b)
	requireRef(ps, b, "router", b.Router)
	checkPrefix(ps, b, "subnet", b.Subnet, true)
}
