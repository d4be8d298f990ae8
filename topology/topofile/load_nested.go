package topofile

import (
	"encoding/hex"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/hivenet/hivenet/topology"
)

// What routers, bridges and load balancers declare inside them (routes,
// BGP peers and networks, DHCP subnets, pools, members, VIPs), and the
// health monitors and VTEPs.

func (d *decoder) route(m *mapping, router topology.ID, i int) {
	id := d.child(m, topology.KindRoute, router, i)
	m.rename = map[string]string{"port": "next-hop-port"}
	ri := len(d.t.Routes)
	r := topology.Route{ID: id, Router: router}
	if v, ok := get(m, "dst", prefixValue); ok {
		r.Dst = v
	}
	if v, ok := get(m, "src", prefixValue); ok {
		r.Src = v
	}
	if v, ok := get(m, "gateway", addrValue); ok {
		r.Gateway = v
	}
	getUint(m, "weight", &r.Weight, 32)
	switch {
	case m.has("next-hop"):
		if v, ok := get(m, "next-hop", nextHops.value()); ok {
			r.NextHop = v
		}
	case m.has("port"):
		r.NextHop = topology.NextHopPort
	default:
		d.fail(m.node, m.path, fmt.Errorf("%w: a route needs a port or a next-hop key", ErrMissing))
	}
	m.ref("port", topology.KindPort, func(x topology.ID) { d.t.Routes[ri].NextHopPort = x })
	d.t.Routes = append(d.t.Routes, r)
}

func (d *decoder) bgpPeer(m *mapping, router topology.ID, i int) {
	b := topology.BGPPeer{ID: d.child(m, topology.KindBGPPeer, router, i), Router: router}
	getUint(m, "as-number", &b.ASNumber, 32)
	if v, ok := get(m, "addr", addrValue); ok {
		b.Addr = v
	}
	getUint(m, "keep-alive", &b.KeepAlive, 32)
	getUint(m, "hold-time", &b.HoldTime, 32)
	getUint(m, "connect-retry", &b.ConnectRetry, 32)
	m.str("password", &b.Password)
	d.t.BGPPeers = append(d.t.BGPPeers, b)
}

// bgpNetwork reads a BGP network: a bare prefix or {subnet, id}.
func (d *decoder) bgpNetwork(n *yaml.Node, path string, router topology.ID, i int) {
	if n.Kind == yaml.ScalarNode {
		n = &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column,
			Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "subnet", Line: n.Line, Column: n.Column}, n}}
	}
	d.bgpNetworkFields(d.mapping(n, path, bgpNetworkKeys), router, i)
}

func (d *decoder) bgpNetworkFields(m *mapping, router topology.ID, i int) {
	b := topology.BGPNetwork{ID: d.child(m, topology.KindBGPNetwork, router, i), Router: router}
	if v, ok := get(m, "subnet", prefixValue); ok {
		b.Subnet = v
	}
	d.t.BGPNetworks = append(d.t.BGPNetworks, b)
}

func (d *decoder) dhcp(m *mapping, bridge topology.ID, i int) {
	s := topology.DHCPSubnet{ID: d.child(m, topology.KindDHCPSubnet, bridge, i), Bridge: bridge}
	if v, ok := get(m, "subnet", prefixValue); ok {
		s.Subnet = v
	}
	if v, ok := get(m, "server-addr", addrValue); ok {
		s.ServerAddr = v
	}
	if v, ok := get(m, "gateway", addrValue); ok {
		s.Gateway = v
	}
	s.DNSServers = list(m, "dns-servers", addrValue)
	getUint(m, "mtu", &s.MTU, 16)
	m.flag("disabled", &s.Disabled)
	d.nested(m, "routes", dhcpRouteKeys, func(rm *mapping) {
		var r topology.DHCPRoute
		if v, ok := get(rm, "dst", prefixValue); ok {
			r.Dst = v
		}
		if v, ok := get(rm, "gateway", addrValue); ok {
			r.Gateway = v
		}
		s.Routes = append(s.Routes, r)
	})
	d.nested(m, "hosts", dhcpHostKeys, func(hm *mapping) {
		var h topology.DHCPHost
		if v, ok := get(hm, "mac", macValue); ok {
			h.MAC = v
		}
		if v, ok := get(hm, "addr", addrValue); ok {
			h.Addr = v
		}
		hm.str("name", &h.Name)
		d.nested(hm, "options", dhcpOptionKeys, func(om *mapping) { h.Options = append(h.Options, d.dhcpOption(om)) })
		s.Hosts = append(s.Hosts, h)
	})
	d.t.DHCPSubnets = append(d.t.DHCPSubnets, s)
}

// dhcpOption reads {code: N, value: text} or {code: N, hex: 0a0b...}.
func (d *decoder) dhcpOption(m *mapping) topology.DHCPOption {
	var o topology.DHCPOption
	getUint(m, "code", &o.Code, 8)
	text, _, hasText := m.scalar("value", jsonString)
	h, hn, hasHex := m.scalar("hex", jsonString)
	switch {
	case hasText && hasHex:
		d.fail(hn, join(m.path, "hex"), badValue("value and hex exclude each other"))
	case hasText:
		o.Value = []byte(text)
	case hasHex:
		b, err := hex.DecodeString(h)
		if err != nil {
			d.fail(hn, join(m.path, "hex"), badValue("%q is not hexadecimal bytes", h))
		}
		o.Value = b
	default:
		d.fail(nil, join(m.path, "value"), badValue("an option needs a value (text) or hex (bytes)"))
	}
	return o
}

// nested decodes a list of mappings that are parts of the object m
// describes (not objects of their own): their fields are placed as
// key[i].field of that object.
func (d *decoder) nested(m *mapping, key string, allowed keySet, fn func(*mapping)) {
	elems, p := m.seq(key)
	for i, e := range elems {
		f := index(m.modelName(key), i)
		m.loc.set(f, index(p, i), e)
		em := d.mapping(e, index(p, i), allowed)
		em.loc, em.model = m.loc, f+"."
		fn(em)
	}
}

func (d *decoder) loadBalancer(m *mapping, _ int) {
	id, name := d.named(m, topology.KindLoadBalancer)
	lb := topology.LoadBalancer{ID: id, Name: name}
	d.scope(m, &lb.Scope)
	m.flag("admin-down", &lb.AdminDown)
	d.t.LoadBalancers = append(d.t.LoadBalancers, lb)
	d.each(m, "pools", poolKeys, func(pm *mapping, _ int) { d.pool(pm, id) })
}

func (d *decoder) pool(m *mapping, lb topology.ID) {
	id, name := d.named(m, topology.KindPool)
	pi := len(d.t.Pools)
	p := topology.Pool{ID: id, Name: name, LoadBalancer: lb}
	m.flag("admin-down", &p.AdminDown)
	if v, ok := get(m, "method", lbMethods.value()); ok {
		p.Method = v
	}
	if v, ok := get(m, "persistence", persistences.value()); ok {
		p.Persistence = v
	}
	m.ref("health-monitor", topology.KindHealthMonitor, func(x topology.ID) { d.t.Pools[pi].HealthMonitor = x })
	d.t.Pools = append(d.t.Pools, p)
	d.each(m, "members", memberKeys, func(mm *mapping, i int) { d.poolMember(mm, id, i) })
	d.each(m, "vips", vipKeys, func(vm *mapping, i int) { d.vip(vm, id, i) })
}

func (d *decoder) poolMember(m *mapping, pool topology.ID, i int) {
	pm := topology.PoolMember{ID: d.child(m, topology.KindPoolMember, pool, i), Pool: pool, Weight: 1}
	m.flag("admin-down", &pm.AdminDown)
	if v, ok := get(m, "addr", addrValue); ok {
		pm.Addr = v
	}
	getUint(m, "port", &pm.Port, 16)
	getUint(m, "weight", &pm.Weight, 32)
	if v, ok := get(m, "status", memberStatuses.value()); ok {
		pm.Status = v
	}
	d.t.PoolMembers = append(d.t.PoolMembers, pm)
}

func (d *decoder) vip(m *mapping, pool topology.ID, i int) {
	v := topology.VIP{ID: d.child(m, topology.KindVIP, pool, i), Pool: pool}
	m.flag("admin-down", &v.AdminDown)
	if a, ok := get(m, "addr", addrValue); ok {
		v.Addr = a
	}
	getUint(m, "port", &v.Port, 16)
	if x, ok := get(m, "persistence", persistences.value()); ok {
		v.Persistence = x
	}
	d.t.VIPs = append(d.t.VIPs, v)
}

func (d *decoder) healthMonitor(m *mapping, _ int) {
	id, _ := d.named(m, topology.KindHealthMonitor)
	// The name is only the file's handle for the monitor: the model has
	// none, and validation reports problems without one.
	for _, l := range d.locs[id] {
		if l.kind == topology.KindHealthMonitor {
			l.name = ""
		}
	}
	h := topology.HealthMonitor{ID: id}
	d.scope(m, &h.Scope)
	m.flag("admin-down", &h.AdminDown)
	getUint(m, "delay", &h.Delay, 32)
	getUint(m, "timeout", &h.Timeout, 32)
	getUint(m, "max-retries", &h.MaxRetries, 32)
	d.t.HealthMonitors = append(d.t.HealthMonitors, h)
}

func (d *decoder) vtep(m *mapping, _ int) {
	id, name := d.named(m, topology.KindVTEP)
	vi := len(d.t.VTEPs)
	v := topology.VTEP{ID: id, Name: name}
	d.scope(m, &v.Scope)
	if a, ok := get(m, "management-ip", addrValue); ok {
		v.ManagementIP = a
	}
	getUint(m, "management-port", &v.ManagementPort, 16)
	m.ref("tunnel-zone", topology.KindTunnelZone, func(x topology.ID) { d.t.VTEPs[vi].TunnelZone = x })
	d.nested(m, "bindings", vtepBindingKeys, func(bm *mapping) {
		bi := len(v.Bindings)
		var b topology.VTEPBinding
		bm.str("port-name", &b.PortName)
		getUint(bm, "vlan", &b.VLAN, 16)
		bm.ref("bridge", topology.KindBridge, func(x topology.ID) { d.t.VTEPs[vi].Bindings[bi].Bridge = x })
		v.Bindings = append(v.Bindings, b)
	})
	d.t.VTEPs = append(d.t.VTEPs, v)
}
