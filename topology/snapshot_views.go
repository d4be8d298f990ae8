package topology

import (
	"net/netip"
	"slices"
)

// bridgeView returns the new view of br: the old one with the given parts
// rebuilt, or a whole new one.
func (b *builder) bridgeView(br *Bridge, parts viewParts) *BridgeView {
	v := &BridgeView{}
	if old, ok := b.s.ix.bridges.get(br.ID); ok && parts&partAll != partAll {
		*v = *old
	} else {
		parts = partAll
	}
	v.Bridge = *br
	if parts&partLists != 0 {
		v.Ports = b.keys(ixBridgePorts, br.ID)
		v.ExteriorPorts = b.keys(ixBridgeExterior, br.ID)
	}
	if parts&partInterior != 0 {
		v.RouterPorts, v.RouterIPs, v.VLANPorts, v.VLANAware, v.VLANPeers = nil, nil, nil, false, nil
		b.interior(v)
	}
	return v
}

// interior fills the parts of v that its interior ports determine.
func (b *builder) interior(v *BridgeView) {
	s := b.s
	set, ok := s.ix.idx[ixBridgeInterior].get(v.Bridge.ID)
	if !ok {
		return
	}
	set.t.each(func(pid ID, _ struct{}) bool {
		p, ok := s.Port(pid)
		if !ok {
			return true
		}
		if p.VLAN != 0 {
			if v.VLANPorts == nil {
				v.VLANPorts = make(map[uint16]ID)
			}
			if _, dup := v.VLANPorts[p.VLAN]; !dup {
				v.VLANPorts[p.VLAN] = p.ID
			}
			v.VLANAware = true
		}
		peer, ok := s.Port(p.Peer)
		if !ok {
			return true
		}
		if peer.IsRouterPort() {
			if v.RouterPorts == nil {
				v.RouterPorts = make(map[MAC]ID)
			}
			if _, dup := v.RouterPorts[peer.MAC]; !dup {
				v.RouterPorts[peer.MAC] = p.ID
			}
			if peer.Address.IsValid() {
				if v.RouterIPs == nil {
					v.RouterIPs = make(map[netip.Addr]MAC)
				}
				if _, dup := v.RouterIPs[peer.Address]; !dup {
					v.RouterIPs[peer.Address] = peer.MAC
				}
			}
		} else if peer.VLAN != 0 && p.VLAN == 0 {
			v.VLANPeers = append(v.VLANPeers, p.ID)
		}
		return true
	})
}

// routerView returns the new view of r: the old one with the parts w names
// rebuilt, or a whole new one.
func (b *builder) routerView(r *Router, w *routerWork) *RouterView {
	s := b.s
	if old, ok := s.ix.routers.get(r.ID); ok && w.parts&partAll != partAll {
		v := &RouterView{Router: *r, Ports: old.Ports, Routes: old.Routes}
		if w.parts&partLists != 0 {
			v.Ports = b.keys(ixRouterPorts, r.ID)
		}
		if w.table != nil {
			v.Routes = w.table
		}
		return v
	}
	v := &RouterView{Router: *r, Ports: b.keys(ixRouterPorts, r.ID)}
	var routes []*Route
	if set, ok := s.ix.idx[ixRouterRoutes].get(r.ID); ok {
		routes = make([]*Route, 0, set.t.n)
		set.t.each(func(id ID, _ struct{}) bool {
			if rt, ok := s.Route(id); ok {
				routes = append(routes, rt)
			}
			return true
		})
	}
	ports := make([]*Port, 0, len(v.Ports))
	for _, id := range v.Ports {
		if p, ok := s.Port(id); ok {
			ports = append(ports, p)
		}
	}
	v.Routes = newRouteTable(b.tx, routes, ports)
	return v
}

func (b *builder) lbView(l *LoadBalancer) *LBView {
	s := b.s
	v := &LBView{LoadBalancer: *l}
	for _, pid := range b.keys(ixLBPools, l.ID) {
		p, ok := s.Pool(pid)
		if !ok {
			continue
		}
		v.Pools = append(v.Pools, p)
		var ms []*PoolMember
		for _, mid := range b.keys(ixPoolMembers, pid) {
			if m, ok := s.PoolMember(mid); ok {
				ms = append(ms, m)
			}
		}
		if len(ms) > 0 {
			if v.Members == nil {
				v.Members = make(map[ID][]*PoolMember)
			}
			v.Members[pid] = ms
		}
		for _, vid := range b.keys(ixPoolVIPs, pid) {
			if vip, ok := s.VIP(vid); ok {
				v.VIPs = append(v.VIPs, vip)
			}
		}
	}
	slices.SortFunc(v.VIPs, func(a, b *VIP) int { return compareID(a.ID, b.ID) })
	return v
}
