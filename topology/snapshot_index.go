package topology

import "slices"

// The reverse indexes a port, route or tunnel zone change updates as the
// builder applies it: bridge and router port sets, host bindings,
// routing tables and host zone memberships.

func exteriorBridge(p *Port) ID {
	if p.Kind() == PortExterior {
		return p.Bridge
	}
	return ID{}
}

func interiorBridge(p *Port) ID {
	if p.Kind() == PortInterior {
		return p.Bridge
	}
	return ID{}
}

func boundHost(p *Port) ID {
	if p.Kind() == PortExterior {
		return p.Host
	}
	return ID{}
}

// port updates the indexes for a port that went from o to n.
func (b *builder) port(id ID, o, n *Port) {
	var none Port
	if o == nil {
		o = &none
	}
	if n == nil {
		n = &none
	}
	b.move(ixBridgePorts, o.Bridge, n.Bridge, id)
	b.move(ixBridgeExterior, exteriorBridge(o), exteriorBridge(n), id)
	b.move(ixBridgeInterior, interiorBridge(o), interiorBridge(n), id)
	b.move(ixRouterPorts, o.Router, n.Router, id)
	b.move(ixPeers, o.Peer, n.Peer, id)
	b.move(ixHostPorts, boundHost(o), boundHost(n), id)
	for _, g := range o.PortGroups {
		if !slices.Contains(n.PortGroups, g) {
			b.remove(ixGroupPorts, g, id)
		}
	}
	for _, g := range n.PortGroups {
		if !slices.Contains(o.PortGroups, g) {
			b.add(ixGroupPorts, g, id)
		}
	}
	oh, nh := boundHost(o), boundHost(n)
	if oh != nh || (!oh.IsZero() && o.Interface != n.Interface) {
		b.unbind(oh, o.Interface, id)
		b.bind(nh, n.Interface, id)
	}

	// The port's own bridge lists it, and shows its VLAN and peer when it
	// is interior.
	if o.Bridge != n.Bridge || exteriorBridge(o) != exteriorBridge(n) {
		b.dirtyBridge(o.Bridge, partLists)
		b.dirtyBridge(n.Bridge, partLists)
	}
	oi, ni := interiorBridge(o), interiorBridge(n)
	if oi != ni || (!oi.IsZero() && (o.VLAN != n.VLAN || o.Peer != n.Peer)) {
		b.dirtyBridge(oi, partInterior)
		b.dirtyBridge(ni, partInterior)
	}
	// The bridges of the ports peered with this one show what kind of
	// port it is, its MAC and address, and its VLAN.
	if o.IsRouterPort() != n.IsRouterPort() || o.MAC != n.MAC || o.Address != n.Address || o.VLAN != n.VLAN {
		if set, ok := b.s.ix.idx[ixPeers].get(id); ok {
			set.t.each(func(pid ID, _ struct{}) bool {
				if p, ok := b.s.Port(pid); ok {
					b.dirtyBridge(p.Bridge, partInterior)
				}
				return true
			})
		}
	}
	// The router lists its ports, and its table holds their implicit
	// routes.
	if o.Router != n.Router {
		b.dirtyRouter(o.Router, partLists)
		b.dirtyRouter(n.Router, partLists)
	}
	if o.Router != n.Router || o.Address != n.Address || !slices.Equal(o.Subnets, n.Subnets) {
		if t := b.table(o.Router); t != nil {
			t.removePort(b.tx, o)
		}
		if t := b.table(n.Router); t != nil {
			t.addPort(b.tx, n)
		}
	}
}

// route updates the indexes and routing tables for a route that went from
// o to n.
func (b *builder) route(id ID, o, n *Route) {
	var none Route
	if o == nil {
		o = &none
	}
	if n == nil {
		n = &none
	}
	b.move(ixRouterRoutes, o.Router, n.Router, id)
	if t := b.table(o.Router); t != nil && o != &none {
		t.remove(b.tx, o.Dst, o.ID)
		if o.NextHop == NextHopPort {
			p, _ := b.s.Port(o.NextHopPort)
			t.recheckConnected(b.tx, o.Router, o.Dst, o.NextHopPort, p)
		}
	}
	if t := b.table(n.Router); t != nil && n != &none {
		t.add(b.tx, n)
		if n.NextHop == NextHopPort {
			p, _ := b.s.Port(n.NextHopPort)
			t.recheckConnected(b.tx, n.Router, n.Dst, n.NextHopPort, p)
		}
	}
}

func (b *builder) bind(host ID, ifc string, port ID) {
	if host.IsZero() {
		return
	}
	k := bindingKey(host, ifc)
	cur, _ := b.s.ix.bindings.get(k)
	i, _ := slices.BinarySearchFunc(cur, port, func(e binding, p ID) int { return compareID(e.port, p) })
	n := make([]binding, 0, len(cur)+1)
	n = append(append(append(n, cur[:i]...), binding{host, ifc, port}), cur[i:]...)
	ix := b.w()
	ix.bindings = ix.bindings.put(b.tx, k, n)
}

func (b *builder) unbind(host ID, ifc string, port ID) {
	if host.IsZero() {
		return
	}
	k := bindingKey(host, ifc)
	cur, _ := b.s.ix.bindings.get(k)
	i := slices.IndexFunc(cur, func(e binding) bool { return e.port == port && e.host == host && e.ifc == ifc })
	switch {
	case i < 0:
	case len(cur) == 1:
		ix := b.w()
		ix.bindings = ix.bindings.del(b.tx, k)
	default:
		ix := b.w()
		ix.bindings = ix.bindings.put(b.tx, k, slices.Delete(slices.Clone(cur), i, i+1))
	}
}

// zone updates the host -> zones index for a zone that went from o to n.
func (b *builder) zone(id ID, o, n *TunnelZone) {
	hosts := func(z *TunnelZone) []ID {
		if z == nil {
			return nil
		}
		hs := make([]ID, 0, len(z.Members))
		for _, m := range z.Members {
			hs = append(hs, m.Host)
		}
		slices.SortFunc(hs, compareID)
		return slices.Compact(hs)
	}
	oh, nh := hosts(o), hosts(n)
	for _, h := range oh {
		if _, found := slices.BinarySearchFunc(nh, h, compareID); !found {
			b.remove(ixHostZones, h, id)
		}
	}
	for _, h := range nh {
		if _, found := slices.BinarySearchFunc(oh, h, compareID); !found {
			b.add(ixHostZones, h, id)
		}
	}
}
