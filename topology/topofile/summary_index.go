package topofile

import "github.com/hivenet/hivenet/topology"

// summaryIndex groups a topology's objects by what owns them, in topology
// order, so that the summary visits each object once (a summary used to
// scan every port for every bridge, router, host and group: quadratic).
type summaryIndex struct {
	portsByHost, portsByBridge, portsByRouter, portsByGroup map[topology.ID][]*topology.Port
	dhcpByBridge                                            map[topology.ID][]*topology.DHCPSubnet
	routersByLB                                             map[topology.ID][]*topology.Router
	poolsByLB                                               map[topology.ID][]*topology.Pool
	vipsByPool                                              map[topology.ID][]*topology.VIP
	membersByPool                                           map[topology.ID][]*topology.PoolMember
}

func newSummaryIndex(t *topology.Topology) *summaryIndex {
	x := &summaryIndex{
		portsByHost: map[topology.ID][]*topology.Port{}, portsByBridge: map[topology.ID][]*topology.Port{},
		portsByRouter: map[topology.ID][]*topology.Port{}, portsByGroup: map[topology.ID][]*topology.Port{},
		dhcpByBridge: map[topology.ID][]*topology.DHCPSubnet{}, routersByLB: map[topology.ID][]*topology.Router{},
		poolsByLB: map[topology.ID][]*topology.Pool{}, vipsByPool: map[topology.ID][]*topology.VIP{},
		membersByPool: map[topology.ID][]*topology.PoolMember{},
	}
	for i := range t.Ports {
		p := &t.Ports[i]
		if p.Kind() == topology.PortExterior && !p.Host.IsZero() {
			x.portsByHost[p.Host] = append(x.portsByHost[p.Host], p)
		}
		if !p.Bridge.IsZero() {
			x.portsByBridge[p.Bridge] = append(x.portsByBridge[p.Bridge], p)
		}
		if !p.Router.IsZero() {
			x.portsByRouter[p.Router] = append(x.portsByRouter[p.Router], p)
		}
		for _, g := range p.PortGroups {
			x.portsByGroup[g] = append(x.portsByGroup[g], p)
		}
	}
	for i := range t.DHCPSubnets {
		d := &t.DHCPSubnets[i]
		x.dhcpByBridge[d.Bridge] = append(x.dhcpByBridge[d.Bridge], d)
	}
	for i := range t.Routers {
		if r := &t.Routers[i]; !r.LoadBalancer.IsZero() {
			x.routersByLB[r.LoadBalancer] = append(x.routersByLB[r.LoadBalancer], r)
		}
	}
	for i := range t.Pools {
		p := &t.Pools[i]
		x.poolsByLB[p.LoadBalancer] = append(x.poolsByLB[p.LoadBalancer], p)
	}
	for i := range t.VIPs {
		v := &t.VIPs[i]
		x.vipsByPool[v.Pool] = append(x.vipsByPool[v.Pool], v)
	}
	for i := range t.PoolMembers {
		m := &t.PoolMembers[i]
		x.membersByPool[m.Pool] = append(x.membersByPool[m.Pool], m)
	}
	return x
}
