package l4

import (
	"net/netip"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// LoadBalance implements simulation.LoadBalancer: the L4 load balancer lb of
// router. NAT keys it writes belong to device lb.
//
// Inbound, a TCP packet to an administratively up VIP of an up load
// balancer is DNATed to a backend of the VIP's pool: the connection's
// existing mapping when its backend is still valid (sticky VIPs: the
// backend is up; others: up or administratively disabled, so that old
// connections finish), else a member drawn at random in proportion to the
// weights of the up members. Sticky VIPs (persistence SOURCE_IP on the VIP
// or its pool) map every connection of a client address to the same
// backend. When the pool is down (administratively, or no member up) only
// existing non-sticky connections go on; others are dropped. Anything else
// (UDP to a VIP included) continues to the router's inbound filter.
//
// Outbound, a packet matching a reverse mapping (the reply of a backend) is
// translated back to the VIP; it is dropped if the load balancer is down,
// the VIP is gone or, for sticky VIPs, the backend is no longer up.
func (s *Services) LoadBalance(f *simulation.Flow, router *topology.Router, lb topology.ID, dir simulation.Direction) (simulation.LBResult, error) {
	s.begin(f)
	f.AddTag(simulation.TagDevice(lb))
	lv, ok := f.Snapshot().LBView(lb)
	if !ok {
		return simulation.LBContinue, nil
	}
	if dir == simulation.Outbound {
		return s.lbOutbound(f, lv), nil
	}
	return s.lbInbound(f, lv), nil
}

func (s *Services) lbInbound(f *simulation.Flow, lv *topology.LBView) simulation.LBResult {
	if lv.LoadBalancer.AdminDown {
		return simulation.LBContinue
	}
	m := f.Match()
	vip := findVIP(m, lv)
	if vip == nil {
		return simulation.LBContinue
	}
	pool := poolOf(lv, vip.Pool)
	if pool == nil {
		if f.Tracing() {
			f.Note("load balancer: the VIP's pool does not exist")
		}
		return simulation.LBDrop
	}
	f.AddTag(simulation.TagDevice(pool.ID))
	sticky := isSticky(vip, pool)
	members := lv.Members[pool.ID]
	var total uint64
	if !pool.AdminDown {
		for _, pm := range members {
			if s.memberUp(pm) {
				total += uint64(pm.Weight)
			}
		}
	}
	id := lv.LoadBalancer.ID
	if total == 0 {
		// The pool is down: existing non-sticky connections go on.
		if !sticky && s.lbExisting(f, m, id, members, false) {
			return simulation.LBAccept
		}
		if f.Tracing() {
			f.Note("load balancer: pool " + pool.ID.String() + " is down")
		}
		return simulation.LBDrop
	}
	draw := f.Rand() % total
	var pick *topology.PoolMember
	for _, pm := range members {
		if !s.memberUp(pm) {
			continue
		}
		if w := uint64(pm.Weight); draw < w {
			pick = pm
			break
		} else {
			draw -= w
		}
	}
	if s.lbExisting(f, m, id, members, sticky) {
		return simulation.LBAccept
	}
	ip, ok := flowstate.IPv4From(pick.Addr)
	if !ok {
		return simulation.LBDrop
	}
	typ := flowstate.NATFwdDNAT
	if sticky {
		typ = flowstate.NATFwdStickyDNAT
	}
	k := natKey(m, kindL4, id, typ)
	b := flowstate.NATBinding{IP: ip, Port: pick.Port}
	s.putPair(f, k, b)
	if f.Tracing() {
		f.Note("load balancer: new connection to member " + pick.ID.String() + " " + b.String())
	}
	translate(f, m, kindL4, typ, b)
	return simulation.LBAccept
}

// lbExisting applies the connection's existing mapping (sticky: the
// client's) if its backend is still valid. A mapping to a backend no longer
// valid is deleted and the packet left untouched.
func (s *Services) lbExisting(f *simulation.Flow, m *packet.Match, lb topology.ID, members []*topology.PoolMember, sticky bool) bool {
	typ := flowstate.NATFwdDNAT
	if sticky {
		typ = flowstate.NATFwdStickyDNAT
	}
	k := natKey(m, kindL4, lb, typ)
	b, ok := s.getNAT(k)
	if !ok {
		addNATTag(f, k)
		return false
	}
	if !s.validBackend(members, b.IP.Addr(), b.Port, sticky) {
		if f.Tracing() {
			f.Note("load balancer: mapping " + k.String() + " -> " + b.String() + " no longer valid: deleted")
		}
		s.delPair(f, k, b)
		return false
	}
	s.refPair(f, k, b)
	translate(f, m, kindL4, typ, b)
	if f.Tracing() {
		f.Note("load balancer: existing mapping " + k.String() + " -> " + b.String())
	}
	return true
}

func (s *Services) lbOutbound(f *simulation.Flow, lv *topology.LBView) simulation.LBResult {
	m := f.Match()
	var sticky, plain bool
	for _, v := range lv.VIPs {
		if isSticky(v, poolOf(lv, v.Pool)) {
			sticky = true
		} else {
			plain = true
		}
	}
	if !sticky && !plain {
		return simulation.LBContinue
	}
	// The backend, before the reply is translated back to the VIP.
	backend, backendPort := m.IPSrc(), m.SrcPort()
	id := lv.LoadBalancer.ID
	if !(plain && s.reverse(f, m, id, flowstate.NATRevDNAT)) &&
		!(sticky && s.reverse(f, m, id, flowstate.NATRevStickyDNAT)) {
		return simulation.LBContinue
	}
	if lv.LoadBalancer.AdminDown {
		return simulation.LBDrop
	}
	vip := findVIPReturn(m, lv)
	if vip == nil {
		return simulation.LBDrop
	}
	pool := poolOf(lv, vip.Pool)
	if pool == nil {
		return simulation.LBDrop
	}
	f.AddTag(simulation.TagDevice(pool.ID))
	if !s.validBackend(lv.Members[pool.ID], backend, backendPort, isSticky(vip, pool)) {
		return simulation.LBDrop
	}
	return simulation.LBAccept
}

// memberUp reports whether a member may take new connections: a positive
// weight, administratively up, and active (monitored members: up according
// to the health monitor).
func (s *Services) memberUp(pm *topology.PoolMember) bool {
	if pm.Weight == 0 || pm.AdminDown {
		return false
	}
	switch pm.Status {
	case topology.MemberActive:
		return true
	case topology.MemberMonitored:
		return s.health != nil && s.health.MemberUp(pm.ID)
	}
	return false
}

// validBackend reports whether ip:port may still serve a connection: an up
// member, or, for non-sticky VIPs, an administratively disabled one too.
func (s *Services) validBackend(members []*topology.PoolMember, ip netip.Addr, port uint16, sticky bool) bool {
	for _, pm := range members {
		if pm.Addr != ip || pm.Port != port {
			continue
		}
		if s.memberUp(pm) || (!sticky && pm.AdminDown) {
			return true
		}
	}
	return false
}

func isSticky(v *topology.VIP, p *topology.Pool) bool {
	return v.Persistence == topology.PersistenceSourceIP || (p != nil && p.Persistence == topology.PersistenceSourceIP)
}

func poolOf(lv *topology.LBView, id topology.ID) *topology.Pool {
	for _, p := range lv.Pools {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// findVIP returns the administratively up VIP a TCP packet is addressed to.
func findVIP(m *packet.Match, lv *topology.LBView) *topology.VIP {
	if len(lv.VIPs) == 0 {
		return nil
	}
	dst := m.IPDst()
	for _, v := range lv.VIPs {
		if v.AdminDown || v.Addr != dst {
			continue
		}
		if m.IPProto() == packet.ProtoTCP && m.DstPort() == v.Port {
			return v
		}
	}
	return nil
}

// findVIPReturn returns the administratively up VIP a TCP reply, translated
// back, comes from.
func findVIPReturn(m *packet.Match, lv *topology.LBView) *topology.VIP {
	src := m.IPSrc()
	for _, v := range lv.VIPs {
		if v.AdminDown || v.Addr != src {
			continue
		}
		if m.IPProto() == packet.ProtoTCP && m.SrcPort() == v.Port {
			return v
		}
	}
	return nil
}
