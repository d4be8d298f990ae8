package topology

import (
	"iter"
	"slices"
	"strconv"
)

// Per-type implementations of Object. Relations follow the bindings of the
// reference system (MidoNet) between its objects: owners cascade to what they
// own, optional links are cleared, and links whose loss would silently change
// behaviour (a load balancer in use, a jump target, a rule condition's groups
// and ports) refuse the delete instead.

func ref(field string, k Kind, id ID, p DeletePolicy) Ref {
	return Ref{Field: field, Kind: k, ID: id, OnDelete: p}
}

// refs yields the non-zero references of rs.
func refs(rs ...Ref) iter.Seq[Ref] {
	return func(yield func(Ref) bool) {
		for _, r := range rs {
			if !r.ID.IsZero() && !yield(r) {
				return
			}
		}
	}
}

func drop(f *ID, id ID) {
	if *f == id {
		*f = ID{}
	}
}

func dropFrom(s []ID, id ID) []ID {
	return slices.DeleteFunc(s, func(x ID) bool { return x == id })
}

func (b *Bridge) ObjectID() ID       { return b.ID }
func (b *Bridge) ObjectKind() Kind   { return KindBridge }
func (b *Bridge) ObjectName() string { return b.Name }
func (b *Bridge) Clone() Object      { c := *b; return &c }
func (b *Bridge) Refs() iter.Seq[Ref] {
	return refs(ref("inbound-filter", KindChain, b.InboundFilter, DeleteClear),
		ref("outbound-filter", KindChain, b.OutboundFilter, DeleteClear))
}
func (b *Bridge) DropRef(id ID) { drop(&b.InboundFilter, id); drop(&b.OutboundFilter, id) }

func (r *Router) ObjectID() ID       { return r.ID }
func (r *Router) ObjectKind() Kind   { return KindRouter }
func (r *Router) ObjectName() string { return r.Name }
func (r *Router) Clone() Object      { c := *r; return &c }
func (r *Router) Refs() iter.Seq[Ref] {
	return refs(ref("inbound-filter", KindChain, r.InboundFilter, DeleteClear),
		ref("outbound-filter", KindChain, r.OutboundFilter, DeleteClear),
		ref("load-balancer", KindLoadBalancer, r.LoadBalancer, DeleteRefuse))
}
func (r *Router) DropRef(id ID) {
	drop(&r.InboundFilter, id)
	drop(&r.OutboundFilter, id)
	drop(&r.LoadBalancer, id)
}

func (p *Port) ObjectID() ID       { return p.ID }
func (p *Port) ObjectKind() Kind   { return KindPort }
func (p *Port) ObjectName() string { return p.Name }
func (p *Port) Clone() Object {
	c := *p
	c.PortGroups = slices.Clone(p.PortGroups)
	c.Subnets = slices.Clone(p.Subnets)
	return &c
}
func (p *Port) Refs() iter.Seq[Ref] {
	return func(yield func(Ref) bool) {
		for r := range refs(ref("bridge", KindBridge, p.Bridge, DeleteCascade),
			ref("router", KindRouter, p.Router, DeleteCascade),
			ref("vtep", KindVTEP, p.VTEP, DeleteCascade),
			ref("inbound-filter", KindChain, p.InboundFilter, DeleteClear),
			ref("outbound-filter", KindChain, p.OutboundFilter, DeleteClear),
			ref("peer", KindPort, p.Peer, DeleteClear),
			ref("host", KindHost, p.Host, DeleteClear)) {
			if !yield(r) {
				return
			}
		}
		for i, g := range p.PortGroups {
			if !yield(ref("port-groups["+strconv.Itoa(i)+"]", KindPortGroup, g, DeleteClear)) {
				return
			}
		}
	}
}
func (p *Port) DropRef(id ID) {
	drop(&p.Bridge, id)
	drop(&p.Router, id)
	drop(&p.VTEP, id)
	drop(&p.InboundFilter, id)
	drop(&p.OutboundFilter, id)
	drop(&p.Peer, id)
	if p.Host == id {
		p.Host, p.Interface = ID{}, ""
	}
	p.PortGroups = dropFrom(p.PortGroups, id)
}

func (c *Chain) ObjectID() ID       { return c.ID }
func (c *Chain) ObjectKind() Kind   { return KindChain }
func (c *Chain) ObjectName() string { return c.Name }
func (c *Chain) Clone() Object {
	n := *c
	n.Rules = make([]Rule, len(c.Rules))
	for i := range c.Rules {
		n.Rules[i] = c.Rules[i].clone()
	}
	return &n
}

func (r *Rule) clone() Rule {
	n := *r
	n.Condition.InPorts.Value = slices.Clone(r.Condition.InPorts.Value)
	n.Condition.OutPorts.Value = slices.Clone(r.Condition.OutPorts.Value)
	n.NAT.Targets = slices.Clone(r.NAT.Targets)
	return n
}

func (c *Chain) Refs() iter.Seq[Ref] {
	return func(yield func(Ref) bool) {
		for i := range c.Rules {
			r := &c.Rules[i]
			p := "rules[" + strconv.Itoa(i) + "]."
			cd := &r.Condition
			for x := range refs(ref(p+"jump-chain", KindChain, r.JumpChain, DeleteRefuse),
				ref(p+"condition.port-group", KindPortGroup, cd.PortGroup.Value, DeleteRefuse),
				ref(p+"condition.in-port-group", KindPortGroup, cd.InPortGroup.Value, DeleteRefuse),
				ref(p+"condition.out-port-group", KindPortGroup, cd.OutPortGroup.Value, DeleteRefuse),
				ref(p+"condition.ip-addr-group-src", KindIPAddrGroup, cd.IPAddrGroupSrc.Value, DeleteRefuse),
				ref(p+"condition.ip-addr-group-dst", KindIPAddrGroup, cd.IPAddrGroupDst.Value, DeleteRefuse)) {
				if !yield(x) {
					return
				}
			}
			for j, id := range cd.InPorts.Value {
				if !yield(ref(p+"condition.in-ports["+strconv.Itoa(j)+"]", KindPort, id, DeleteRefuse)) {
					return
				}
			}
			for j, id := range cd.OutPorts.Value {
				if !yield(ref(p+"condition.out-ports["+strconv.Itoa(j)+"]", KindPort, id, DeleteRefuse)) {
					return
				}
			}
		}
	}
}

// DropRef on a chain only ever sees Refuse references; it is a no-op.
func (c *Chain) DropRef(ID) {}

func (r *Route) ObjectID() ID       { return r.ID }
func (r *Route) ObjectKind() Kind   { return KindRoute }
func (r *Route) ObjectName() string { return "" }
func (r *Route) Clone() Object      { c := *r; return &c }
func (r *Route) Refs() iter.Seq[Ref] {
	return refs(ref("router", KindRouter, r.Router, DeleteCascade),
		ref("next-hop-port", KindPort, r.NextHopPort, DeleteCascade))
}
func (r *Route) DropRef(id ID) { drop(&r.Router, id); drop(&r.NextHopPort, id) }

func (g *PortGroup) ObjectID() ID        { return g.ID }
func (g *PortGroup) ObjectKind() Kind    { return KindPortGroup }
func (g *PortGroup) ObjectName() string  { return g.Name }
func (g *PortGroup) Clone() Object       { c := *g; return &c }
func (g *PortGroup) Refs() iter.Seq[Ref] { return refs() }
func (g *PortGroup) DropRef(ID)          {}

func (g *IPAddrGroup) ObjectID() ID        { return g.ID }
func (g *IPAddrGroup) ObjectKind() Kind    { return KindIPAddrGroup }
func (g *IPAddrGroup) ObjectName() string  { return g.Name }
func (g *IPAddrGroup) Clone() Object       { c := *g; c.Addrs = slices.Clone(g.Addrs); return &c }
func (g *IPAddrGroup) Refs() iter.Seq[Ref] { return refs() }
func (g *IPAddrGroup) DropRef(ID)          {}

func (l *LoadBalancer) ObjectID() ID        { return l.ID }
func (l *LoadBalancer) ObjectKind() Kind    { return KindLoadBalancer }
func (l *LoadBalancer) ObjectName() string  { return l.Name }
func (l *LoadBalancer) Clone() Object       { c := *l; return &c }
func (l *LoadBalancer) Refs() iter.Seq[Ref] { return refs() }
func (l *LoadBalancer) DropRef(ID)          {}

func (p *Pool) ObjectID() ID       { return p.ID }
func (p *Pool) ObjectKind() Kind   { return KindPool }
func (p *Pool) ObjectName() string { return p.Name }
func (p *Pool) Clone() Object      { c := *p; return &c }
func (p *Pool) Refs() iter.Seq[Ref] {
	return refs(ref("load-balancer", KindLoadBalancer, p.LoadBalancer, DeleteCascade),
		ref("health-monitor", KindHealthMonitor, p.HealthMonitor, DeleteClear))
}
func (p *Pool) DropRef(id ID) { drop(&p.LoadBalancer, id); drop(&p.HealthMonitor, id) }

func (m *PoolMember) ObjectID() ID       { return m.ID }
func (m *PoolMember) ObjectKind() Kind   { return KindPoolMember }
func (m *PoolMember) ObjectName() string { return "" }
func (m *PoolMember) Clone() Object      { c := *m; return &c }
func (m *PoolMember) Refs() iter.Seq[Ref] {
	return refs(ref("pool", KindPool, m.Pool, DeleteCascade))
}
func (m *PoolMember) DropRef(id ID) { drop(&m.Pool, id) }

func (v *VIP) ObjectID() ID       { return v.ID }
func (v *VIP) ObjectKind() Kind   { return KindVIP }
func (v *VIP) ObjectName() string { return "" }
func (v *VIP) Clone() Object      { c := *v; return &c }
func (v *VIP) Refs() iter.Seq[Ref] {
	return refs(ref("pool", KindPool, v.Pool, DeleteCascade))
}
func (v *VIP) DropRef(id ID) { drop(&v.Pool, id) }

func (h *HealthMonitor) ObjectID() ID        { return h.ID }
func (h *HealthMonitor) ObjectKind() Kind    { return KindHealthMonitor }
func (h *HealthMonitor) ObjectName() string  { return "" }
func (h *HealthMonitor) Clone() Object       { c := *h; return &c }
func (h *HealthMonitor) Refs() iter.Seq[Ref] { return refs() }
func (h *HealthMonitor) DropRef(ID)          {}

func (z *TunnelZone) ObjectID() ID       { return z.ID }
func (z *TunnelZone) ObjectKind() Kind   { return KindTunnelZone }
func (z *TunnelZone) ObjectName() string { return z.Name }
func (z *TunnelZone) Clone() Object      { c := *z; c.Members = slices.Clone(z.Members); return &c }
func (z *TunnelZone) Refs() iter.Seq[Ref] {
	return func(yield func(Ref) bool) {
		for i, m := range z.Members {
			if !yield(ref("members["+strconv.Itoa(i)+"].host", KindHost, m.Host, DeleteClear)) {
				return
			}
		}
	}
}
func (z *TunnelZone) DropRef(id ID) {
	z.Members = slices.DeleteFunc(z.Members, func(m TunnelZoneMember) bool { return m.Host == id })
}

func (h *Host) ObjectID() ID        { return h.ID }
func (h *Host) ObjectKind() Kind    { return KindHost }
func (h *Host) ObjectName() string  { return h.Name }
func (h *Host) Clone() Object       { c := *h; return &c }
func (h *Host) Refs() iter.Seq[Ref] { return refs() }
func (h *Host) DropRef(ID)          {}

func (v *VTEP) ObjectID() ID       { return v.ID }
func (v *VTEP) ObjectKind() Kind   { return KindVTEP }
func (v *VTEP) ObjectName() string { return v.Name }
func (v *VTEP) Clone() Object      { c := *v; c.Bindings = slices.Clone(v.Bindings); return &c }
func (v *VTEP) Refs() iter.Seq[Ref] {
	return func(yield func(Ref) bool) {
		if !v.TunnelZone.IsZero() && !yield(ref("tunnel-zone", KindTunnelZone, v.TunnelZone, DeleteClear)) {
			return
		}
		for i, b := range v.Bindings {
			if !yield(ref("bindings["+strconv.Itoa(i)+"].bridge", KindBridge, b.Bridge, DeleteClear)) {
				return
			}
		}
	}
}
func (v *VTEP) DropRef(id ID) {
	drop(&v.TunnelZone, id)
	v.Bindings = slices.DeleteFunc(v.Bindings, func(b VTEPBinding) bool { return b.Bridge == id })
}

func (d *DHCPSubnet) ObjectID() ID       { return d.ID }
func (d *DHCPSubnet) ObjectKind() Kind   { return KindDHCPSubnet }
func (d *DHCPSubnet) ObjectName() string { return "" }
func (d *DHCPSubnet) Clone() Object {
	c := *d
	c.DNSServers = slices.Clone(d.DNSServers)
	c.Routes = slices.Clone(d.Routes)
	c.Hosts = slices.Clone(d.Hosts)
	for i := range c.Hosts {
		h := &c.Hosts[i]
		h.Options = slices.Clone(h.Options)
		for j := range h.Options {
			h.Options[j].Value = slices.Clone(h.Options[j].Value)
		}
	}
	return &c
}
func (d *DHCPSubnet) Refs() iter.Seq[Ref] {
	return refs(ref("bridge", KindBridge, d.Bridge, DeleteCascade))
}
func (d *DHCPSubnet) DropRef(id ID) { drop(&d.Bridge, id) }

func (b *BGPPeer) ObjectID() ID       { return b.ID }
func (b *BGPPeer) ObjectKind() Kind   { return KindBGPPeer }
func (b *BGPPeer) ObjectName() string { return "" }
func (b *BGPPeer) Clone() Object      { c := *b; return &c }
func (b *BGPPeer) Refs() iter.Seq[Ref] {
	return refs(ref("router", KindRouter, b.Router, DeleteCascade))
}
func (b *BGPPeer) DropRef(id ID) { drop(&b.Router, id) }

func (b *BGPNetwork) ObjectID() ID       { return b.ID }
func (b *BGPNetwork) ObjectKind() Kind   { return KindBGPNetwork }
func (b *BGPNetwork) ObjectName() string { return "" }
func (b *BGPNetwork) Clone() Object      { c := *b; return &c }
func (b *BGPNetwork) Refs() iter.Seq[Ref] {
	return refs(ref("router", KindRouter, b.Router, DeleteCascade))
}
func (b *BGPNetwork) DropRef(id ID) { drop(&b.Router, id) }
