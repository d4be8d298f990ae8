package topofile

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/hivenet/hivenet/topology"
)

// The writers of chains and their rules, load balancers, pools, members,
// VIPs, health monitors and VTEPs: the services devices use.

func (w *writer) chain(c *topology.Chain) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindChain, c.Name, c.ID)
	w.scope(m, c.Scope)
	var rules []*yaml.Node
	for i := range c.Rules {
		rm, err := ruleNode(w, &c.Rules[i])
		if err != nil {
			w.errs = append(w.errs, fmt.Errorf("chain %s rule %d: %w", w.ref(topology.KindChain, c.ID), i, err))
			continue
		}
		if r := &c.Rules[i]; r.ID != RuleID(c.ID, i) || w.api {
			rm.Content = append([]*yaml.Node{plain("id"), plain(r.ID.String())}, rm.Content...)
		}
		rules = append(rules, compact(rm.Node))
	}
	m.seq("rules", rules, false)
	return m.Node
}

// ruleNode is the file form of a rule (without its id).
func ruleNode(n namer, r *topology.Rule) (mnode, error) {
	m := newMap()
	actionDefault := topology.ActionInvalid
	hasNAT := len(r.NAT.Targets) > 0 || r.NAT.DNAT || r.NAT.Reverse || r.NAT.Masquerade
	switch r.Type {
	case topology.RuleLiteral:
		if !r.JumpChain.IsZero() || hasNAT {
			return m, fmt.Errorf("%w: a literal rule with a jump chain or NAT settings", ErrNotRepresentable)
		}
	case topology.RuleJump:
		if r.JumpChain.IsZero() || hasNAT {
			return m, fmt.Errorf("%w: a jump rule without a chain or with NAT settings", ErrNotRepresentable)
		}
		m.add("jump", str(n.ref(topology.KindChain, r.JumpChain)))
		actionDefault = topology.ActionJump
	case topology.RuleNAT:
		if !r.JumpChain.IsZero() {
			return m, fmt.Errorf("%w: a NAT rule with a jump chain", ErrNotRepresentable)
		}
		key := map[[2]bool]string{{false, false}: "snat", {true, false}: "dnat", {false, true}: "rev-snat", {true, true}: "rev-dnat"}[[2]bool{r.NAT.DNAT, r.NAT.Reverse}]
		switch {
		case r.NAT.Masquerade:
			if r.NAT.DNAT || r.NAT.Reverse || len(r.NAT.Targets) > 1 {
				return m, fmt.Errorf("%w: a masquerade rule that is DNAT, reverse or has several targets", ErrNotRepresentable)
			}
			if len(r.NAT.Targets) == 0 {
				m.add("masquerade", plain("true"))
				break
			}
			t := r.NAT.Targets[0]
			if t.AddrStart.IsValid() || t.AddrEnd.IsValid() {
				return m, fmt.Errorf("%w: a masquerade target with addresses", ErrNotRepresentable)
			}
			m.add("masquerade", plain(formatPortRange(topology.PortRange{Start: t.PortStart, End: t.PortEnd})))
		case r.NAT.Reverse && len(r.NAT.Targets) == 0:
			m.add(key, plain("true"))
		default:
			var targets []*yaml.Node
			for _, t := range r.NAT.Targets {
				s, err := formatNATTarget(t)
				if err != nil {
					return m, err
				}
				targets = append(targets, plain(s))
			}
			if len(targets) == 1 {
				m.add(key, targets[0])
			} else {
				m.add(key, seq(true, targets...))
			}
		}
		actionDefault = topology.ActionAccept
	default:
		return m, fmt.Errorf("%w: rule type %d", ErrNotRepresentable, r.Type)
	}
	if r.Type == topology.RuleLiteral || r.Action != actionDefault {
		s, ok := actions.format(r.Action)
		if !ok {
			return m, fmt.Errorf("%w: rule action %s", ErrNotRepresentable, r.Action)
		}
		m.add("action", plain(s))
	}
	for _, f := range condFields {
		v, inv, set := f.encode(n, &r.Condition)
		if !set {
			continue
		}
		key := f.name
		if inv {
			key = "not-" + f.name
		}
		node := func(s string) *yaml.Node {
			if v.quoted {
				return str(s)
			}
			return plain(s)
		}
		if v.list {
			items := make([]*yaml.Node, 0, len(v.vals))
			for _, s := range v.vals {
				items = append(items, node(s))
			}
			m.add(key, seq(true, items...))
		} else {
			m.add(key, node(v.vals[0]))
		}
	}
	if r.Condition.FragmentPolicy > topology.FragmentUnfragmented {
		return m, fmt.Errorf("%w: fragment policy %d", ErrNotRepresentable, r.Condition.FragmentPolicy)
	}
	return m, nil
}

func (w *writer) loadBalancer(lb *topology.LoadBalancer) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindLoadBalancer, lb.Name, lb.ID)
	w.scope(m, lb.Scope)
	m.flag("admin-down", lb.AdminDown)
	var pools []*yaml.Node
	for i := range w.t.Pools {
		if p := &w.t.Pools[i]; p.LoadBalancer == lb.ID {
			pools = append(pools, w.pool(p))
		}
	}
	m.seq("pools", pools, false)
	return m.Node
}

func (w *writer) pool(p *topology.Pool) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindPool, p.Name, p.ID)
	w.refField(m, "health-monitor", topology.KindHealthMonitor, p.HealthMonitor)
	if p.Method != topology.LBRoundRobin {
		w.fail("pool %s has balancing method %d", w.ref(topology.KindPool, p.ID), p.Method)
	}
	w.persistence(m, p.Persistence)
	m.flag("admin-down", p.AdminDown)
	var members, vips []*yaml.Node
	for i := range w.t.PoolMembers {
		if pm := &w.t.PoolMembers[i]; pm.Pool == p.ID {
			members = append(members, compact(w.poolMember(pm, p.ID, len(members))))
		}
	}
	for i := range w.t.VIPs {
		if v := &w.t.VIPs[i]; v.Pool == p.ID {
			vips = append(vips, compact(w.vip(v, p.ID, len(vips))))
		}
	}
	m.seq("members", members, false)
	m.seq("vips", vips, false)
	return m.Node
}

func (w *writer) poolMember(pm *topology.PoolMember, pool topology.ID, i int) *yaml.Node {
	m := newMap()
	w.childID(m, pm.ID, ChildID(pool, topology.KindPoolMember, i))
	m.addr("addr", pm.Addr)
	addUint(m, "port", pm.Port)
	if pm.Weight != 1 {
		m.add("weight", uintNode(pm.Weight))
	}
	if pm.Status != topology.MemberActive {
		if s, ok := memberStatuses.format(pm.Status); ok {
			m.add("status", plain(s))
		} else {
			w.fail("pool member %s has status %d", pm.ID, pm.Status)
		}
	}
	m.flag("admin-down", pm.AdminDown)
	return m.Node
}

func (w *writer) vip(v *topology.VIP, pool topology.ID, i int) *yaml.Node {
	m := newMap()
	w.childID(m, v.ID, ChildID(pool, topology.KindVIP, i))
	m.addr("addr", v.Addr)
	addUint(m, "port", v.Port)
	w.persistence(m, v.Persistence)
	m.flag("admin-down", v.AdminDown)
	return m.Node
}

func (w *writer) persistence(m mnode, p topology.SessionPersistence) {
	if p == topology.PersistenceNone {
		return
	}
	if s, ok := persistences.format(p); ok {
		m.add("persistence", plain(s))
	} else {
		w.fail("session persistence %d", p)
	}
}

func (w *writer) healthMonitor(h *topology.HealthMonitor) *yaml.Node {
	m := newMap()
	handle := w.handles[h.ID]
	m.str("name", handle)
	if w.api || h.ID != topology.NameID(topology.KindHealthMonitor, handle) {
		m.add("id", plain(h.ID.String()))
	}
	w.scope(m, h.Scope)
	addUint(m, "delay", h.Delay)
	addUint(m, "timeout", h.Timeout)
	addUint(m, "max-retries", h.MaxRetries)
	m.flag("admin-down", h.AdminDown)
	return m.Node
}

func (w *writer) vtep(v *topology.VTEP) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindVTEP, v.Name, v.ID)
	w.scope(m, v.Scope)
	m.addr("management-ip", v.ManagementIP)
	addUint(m, "management-port", v.ManagementPort)
	w.refField(m, "tunnel-zone", topology.KindTunnelZone, v.TunnelZone)
	var bindings []*yaml.Node
	for _, b := range v.Bindings {
		bm := newMap()
		bm.Style = yaml.FlowStyle
		bm.str("port-name", b.PortName)
		addUint(bm, "vlan", b.VLAN)
		w.refField(bm, "bridge", topology.KindBridge, b.Bridge)
		bindings = append(bindings, bm.Node)
	}
	m.seq("bindings", bindings, false)
	return m.Node
}

// printable reports whether b is non-empty printable ASCII text, which a
// DHCP option value is written as (value:); other bytes are written in hex.
func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return len(b) > 0
}
