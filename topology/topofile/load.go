package topofile

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hivenet/hivenet/topology"
)

// Load reads a topology file from r; filename is used in error messages
// only. It resolves references by name, derives the IDs and MACs the file
// leaves out, makes peering symmetric and validates the result.
//
// On failure Load returns a nil topology and an ErrorList holding every
// problem found, each placed at its file, line and field path: decoding
// problems (wrapping ErrSyntax, ErrUnknownKey, ErrNotFound, ...) or, when
// the file decodes, the problems topology.Topology.Validate reports (each
// Err a *topology.Problem).
func Load(r io.Reader, filename string) (*topology.Topology, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("topofile: reading %s: %w", filename, err)
	}
	return loadWith(data, filename, nil)
}

// LoadFile is Load on the file at path.
func LoadFile(path string) (*topology.Topology, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("topofile: %w", err)
	}
	return loadWith(data, path, nil)
}

func loadWith(data []byte, file string, outside *topology.Topology) (*topology.Topology, error) {
	doc, err := parseYAML(data)
	if err != nil {
		return nil, ErrorList{{File: file, Line: syntaxLine(err.Error()), Err: err}}
	}
	d := newDecoder(file)
	if outside != nil {
		d.out = newOutsideIndex(outside)
	}
	if doc != nil {
		d.document(doc)
	}
	for _, f := range d.fixes {
		f()
	}
	d.resolvePeers()
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return nil, d.errs
	}
	if err := d.validate(); err != nil {
		var ve *topology.ValidationError
		if !errors.As(err, &ve) {
			return nil, ErrorList{{File: file, Err: err}}
		}
		for _, p := range ve.Problems {
			l := d.locate(p)
			d.fail(l.node, l.path, p)
		}
		sortErrors(d.errs)
		return nil, d.errs
	}
	t := d.t
	return &t, nil
}

var (
	topKeys = keys("hosts", "tunnel-zones", "bridges", "routers", "port-groups", "ip-addr-groups",
		"chains", "load-balancers", "health-monitors", "vteps")
	hostKeys        = keys("name", "id", "flooding-proxy-weight")
	zoneKeys        = keys("name", "id", "type", "members")
	portGroupKeys   = keys("name", "id", "stateful")
	addrGroupKeys   = keys("name", "id", "addrs")
	bridgeKeys      = keys("name", "id", "admin-down", "inbound-filter", "outbound-filter", "vni", "tunnel-key", "ports", "dhcp")
	routerKeys      = keys("name", "id", "admin-down", "inbound-filter", "outbound-filter", "load-balancer", "as-number", "ports", "routes", "bgp-peers", "bgp-networks")
	portKeys        = keys("name", "id", "admin-down", "inbound-filter", "outbound-filter", "tunnel-key", "peer", "host", "interface", "port-groups", "service-container")
	bridgePortKeys  = portKeys.with("vlan", "vtep")
	routerPortKeys  = portKeys.with("address", "subnets", "mac", "mtu")
	routeKeys       = keys("id", "dst", "src", "next-hop", "port", "gateway", "weight")
	bgpPeerKeys     = keys("id", "as-number", "addr", "keep-alive", "hold-time", "connect-retry", "password")
	bgpNetworkKeys  = keys("id", "subnet")
	dhcpKeys        = keys("id", "subnet", "server-addr", "gateway", "dns-servers", "mtu", "routes", "hosts", "disabled")
	dhcpRouteKeys   = keys("dst", "gateway")
	dhcpHostKeys    = keys("mac", "addr", "name", "options")
	dhcpOptionKeys  = keys("code", "value", "hex")
	chainKeys       = keys("name", "id", "rules")
	lbKeys          = keys("name", "id", "admin-down", "pools")
	poolKeys        = keys("name", "id", "admin-down", "health-monitor", "method", "persistence", "members", "vips")
	memberKeys      = keys("id", "addr", "port", "weight", "status", "admin-down")
	vipKeys         = keys("id", "addr", "port", "persistence", "admin-down")
	monitorKeys     = keys("name", "id", "admin-down", "delay", "timeout", "max-retries")
	vtepKeys        = keys("name", "id", "management-ip", "management-port", "tunnel-zone", "bindings")
	vtepBindingKeys = keys("port-name", "vlan", "bridge")
)

func (d *decoder) document(doc *yaml.Node) {
	root := doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return
		}
		root = doc.Content[0]
	}
	m := d.mapping(root, "", topKeys)
	if n := countPorts(root); n > 0 {
		d.t.Ports = make([]topology.Port, 0, n) // none: nil, as Load of an empty file gives
	}
	d.each(m, "hosts", hostKeys, d.host)
	d.each(m, "tunnel-zones", zoneKeys, d.tunnelZone)
	d.each(m, "port-groups", portGroupKeys, d.portGroup)
	d.each(m, "ip-addr-groups", addrGroupKeys, d.addrGroup)
	d.each(m, "chains", chainKeys, d.chain)
	d.each(m, "bridges", bridgeKeys, d.bridge)
	d.each(m, "routers", routerKeys, d.router)
	d.each(m, "load-balancers", lbKeys, d.loadBalancer)
	d.each(m, "health-monitors", monitorKeys, d.healthMonitor)
	d.each(m, "vteps", vtepKeys, d.vtep)
}

// countPorts counts the ports the bridges and routers of a document
// declare, so that the port slice is allocated once: ports are the bulk of
// a large topology, and growing their slice by doubling would copy it and
// keep the old copies until the next collection.
func countPorts(root *yaml.Node) int {
	n := 0
	if root.Kind != yaml.MappingNode {
		return 0
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i].Value; k != "bridges" && k != "routers" {
			continue
		}
		devs := root.Content[i+1]
		if devs.Kind != yaml.SequenceNode {
			continue
		}
		for _, dev := range devs.Content {
			if dev.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(dev.Content); j += 2 {
				if dev.Content[j].Value == "ports" && dev.Content[j+1].Kind == yaml.SequenceNode {
					n += len(dev.Content[j+1].Content)
				}
			}
		}
	}
	return n
}

func (d *decoder) host(m *mapping, _ int) {
	id, name := d.named(m, topology.KindHost)
	h := topology.Host{ID: id, Name: name}
	d.scope(m, &h.Scope)
	if v, ok := get(m, "flooding-proxy-weight", uintValue(32)); ok {
		h.FloodingProxyWeight = topology.Some(uint32(v))
	}
	d.t.Hosts = append(d.t.Hosts, h)
}

func (d *decoder) tunnelZone(m *mapping, _ int) {
	id, name := d.named(m, topology.KindTunnelZone)
	zi := len(d.t.TunnelZones)
	z := topology.TunnelZone{ID: id, Name: name}
	d.scope(m, &z.Scope)
	if v, ok := get(m, "type", zoneTypes.value()); ok {
		z.Type = v
	}
	if mv, p, ok := m.value("members"); ok && d.expect(mv, yaml.MappingNode, p) {
		for i := 0; i+1 < len(mv.Content); i += 2 {
			k, v := mv.Content[i], mv.Content[i+1]
			kp := join(p, k.Value)
			if !d.expect(k, yaml.ScalarNode, kp) || !d.expect(v, yaml.ScalarNode, kp) || !d.typed(v, kp, jsonString) {
				continue
			}
			a, err := parseAddr(scalarValue(v))
			if err != nil {
				d.fail(v, kp, err)
				continue
			}
			mi := len(z.Members)
			f := index("members", mi)
			m.loc.set(f, kp, k)
			m.loc.set(f+".host", kp, k)
			m.loc.set(f+".addr", kp, v)
			z.Members = append(z.Members, topology.TunnelZoneMember{Addr: a})
			host := scalarValue(k)
			d.fixes = append(d.fixes, func() {
				if hid, ok := d.resolve(topology.KindHost, host, k, kp); ok {
					d.t.TunnelZones[zi].Members[mi].Host = hid
				}
			})
		}
	}
	d.t.TunnelZones = append(d.t.TunnelZones, z)
}

func (d *decoder) portGroup(m *mapping, _ int) {
	id, name := d.named(m, topology.KindPortGroup)
	g := topology.PortGroup{ID: id, Name: name}
	d.scope(m, &g.Scope)
	m.flag("stateful", &g.Stateful)
	d.t.PortGroups = append(d.t.PortGroups, g)
}

func (d *decoder) addrGroup(m *mapping, _ int) {
	id, name := d.named(m, topology.KindIPAddrGroup)
	g := topology.IPAddrGroup{ID: id, Name: name, Addrs: list(m, "addrs", addrValue)}
	d.scope(m, &g.Scope)
	d.t.IPAddrGroups = append(d.t.IPAddrGroups, g)
}

func (d *decoder) bridge(m *mapping, _ int) {
	id, name := d.named(m, topology.KindBridge)
	bi := len(d.t.Bridges)
	b := topology.Bridge{ID: id, Name: name}
	d.scope(m, &b.Scope)
	m.flag("admin-down", &b.AdminDown)
	getUint(m, "vni", &b.VNI, 32)
	getUint(m, "tunnel-key", &b.TunnelKey, 32)
	m.ref("inbound-filter", topology.KindChain, func(x topology.ID) { d.t.Bridges[bi].InboundFilter = x })
	m.ref("outbound-filter", topology.KindChain, func(x topology.ID) { d.t.Bridges[bi].OutboundFilter = x })
	d.t.Bridges = append(d.t.Bridges, b)
	d.each(m, "ports", bridgePortKeys, func(pm *mapping, _ int) { d.port(pm, id, false) })
	d.each(m, "dhcp", dhcpKeys, func(dm *mapping, i int) { d.dhcp(dm, id, i) })
}

func (d *decoder) router(m *mapping, _ int) {
	id, name := d.named(m, topology.KindRouter)
	ri := len(d.t.Routers)
	r := topology.Router{ID: id, Name: name}
	d.scope(m, &r.Scope)
	m.flag("admin-down", &r.AdminDown)
	getUint(m, "as-number", &r.ASNumber, 32)
	m.ref("inbound-filter", topology.KindChain, func(x topology.ID) { d.t.Routers[ri].InboundFilter = x })
	m.ref("outbound-filter", topology.KindChain, func(x topology.ID) { d.t.Routers[ri].OutboundFilter = x })
	m.ref("load-balancer", topology.KindLoadBalancer, func(x topology.ID) { d.t.Routers[ri].LoadBalancer = x })
	d.t.Routers = append(d.t.Routers, r)
	d.each(m, "ports", routerPortKeys, func(pm *mapping, _ int) { d.port(pm, id, true) })
	d.each(m, "routes", routeKeys, func(rm *mapping, i int) { d.route(rm, id, i) })
	d.each(m, "bgp-peers", bgpPeerKeys, func(bm *mapping, i int) { d.bgpPeer(bm, id, i) })
	elems, p := m.seq("bgp-networks")
	for i, e := range elems {
		d.bgpNetwork(e, index(p, i), id, i)
	}
}

// peerDecl is a port's peer: key, resolved once every port is known.
type peerDecl struct {
	port topology.ID
	idx  int
	name string
	node *yaml.Node
	path string
	loc  *objLoc
}

func (d *decoder) port(m *mapping, owner topology.ID, onRouter bool) {
	id, name := d.named(m, topology.KindPort)
	pi := len(d.t.Ports)
	p := topology.Port{ID: id, Name: name}
	if onRouter {
		p.Router = owner
	} else {
		p.Bridge = owner
	}
	m.flag("admin-down", &p.AdminDown)
	m.flag("service-container", &p.ServiceContainer)
	getUint(m, "tunnel-key", &p.TunnelKey, 32)
	getUint(m, "vlan", &p.VLAN, 16)
	m.str("interface", &p.Interface)
	m.ref("inbound-filter", topology.KindChain, func(x topology.ID) { d.t.Ports[pi].InboundFilter = x })
	m.ref("outbound-filter", topology.KindChain, func(x topology.ID) { d.t.Ports[pi].OutboundFilter = x })
	m.ref("host", topology.KindHost, func(x topology.ID) { d.t.Ports[pi].Host = x })
	m.ref("vtep", topology.KindVTEP, func(x topology.ID) { d.t.Ports[pi].VTEP = x })
	m.refList("port-groups", topology.KindPortGroup, func(x []topology.ID) { d.t.Ports[pi].PortGroups = x })
	if d.one != nil {
		m.ref("peer", topology.KindPort, func(x topology.ID) { d.t.Ports[pi].Peer = x })
	} else if s, n, ok := m.scalar("peer", jsonString); ok {
		d.peers = append(d.peers, peerDecl{port: id, idx: pi, name: s, node: n, path: join(m.path, "peer"), loc: m.loc})
	}
	if onRouter {
		d.routerPortAddrs(m, &p)
		getUint(m, "mtu", &p.MTU, 16)
		p.MAC = DefaultMAC(id)
		if v, ok := get(m, "mac", macValue); ok {
			p.MAC = v
		}
	}
	d.t.Ports = append(d.t.Ports, p)
}

// routerPortAddrs reads address: (a.b.c.d/n sets the address and the first
// subnet; a bare address sets the address only) and subnets: (further
// subnets).
func (d *decoder) routerPortAddrs(m *mapping, p *topology.Port) {
	if s, n, ok := m.scalar("address", jsonString); ok {
		ap := join(m.path, "address")
		if strings.Contains(s, "/") {
			pfx, err := netip.ParsePrefix(s)
			if err != nil {
				d.fail(n, ap, badValue("%q is not an address with a prefix length (a.b.c.d/n)", s))
			} else {
				p.Address = pfx.Addr()
				p.Subnets = append(p.Subnets, pfx.Masked())
				m.loc.set("subnets[0]", ap, n)
			}
		} else if a, err := parseAddr(s); err != nil {
			d.fail(n, ap, err)
		} else {
			p.Address = a
		}
	}
	elems, sp := m.seq("subnets")
	for i, e := range elems {
		ep := index(sp, i)
		if !d.expect(e, yaml.ScalarNode, ep) || !d.typed(e, ep, jsonString) {
			continue
		}
		pfx, err := parsePrefix(scalarValue(e))
		if err != nil {
			d.fail(e, ep, err)
			continue
		}
		m.loc.set(index("subnets", len(p.Subnets)), ep, e)
		p.Subnets = append(p.Subnets, pfx)
	}
}

// resolvePeers resolves every peer: key and makes peering symmetric: when
// port a names b and b names no peer, b's peer becomes a. Two ports that
// disagree are reported.
func (d *decoder) resolvePeers() {
	type resolved struct {
		decl   peerDecl
		target topology.ID
	}
	portIdx := make(map[topology.ID]int, len(d.t.Ports))
	for i := len(d.t.Ports) - 1; i >= 0; i-- {
		portIdx[d.t.Ports[i].ID] = i
	}
	var rs []resolved
	declared := make(map[topology.ID]topology.ID, len(d.peers))
	for _, pd := range d.peers {
		if tid, ok := d.resolve(topology.KindPort, pd.name, pd.node, pd.path); ok {
			rs = append(rs, resolved{pd, tid})
			declared[pd.port] = tid
		}
	}
	claimed := make(map[topology.ID]topology.ID)
	for _, r := range rs {
		a, b := r.decl.port, r.target
		d.t.Ports[r.decl.idx].Peer = b
		if a == b {
			continue // self-peering: validation reports it
		}
		if bPeer, ok := declared[b]; ok {
			if bPeer != a {
				d.fail(r.decl.node, r.decl.path, fmt.Errorf("%w: port %q names %s as its peer, not this port",
					ErrPeerConflict, r.decl.name, d.nameOf(bPeer)))
			}
			continue
		}
		if prev, ok := claimed[b]; ok && prev != a {
			d.fail(r.decl.node, r.decl.path, fmt.Errorf("%w: port %q is already the peer of %s",
				ErrPeerConflict, r.decl.name, d.nameOf(prev)))
			continue
		}
		claimed[b] = a
		bi, inFile := portIdx[b]
		if !inFile {
			continue // a port outside the file: the store sets its side
		}
		d.t.Ports[bi].Peer = a
		for _, l := range d.locs[b] {
			if l.kind == topology.KindPort {
				l.set("peer", r.decl.path, r.decl.node)
			}
		}
	}
}

// nameOf quotes the name of the object with id, or formats the ID.
func (d *decoder) nameOf(id topology.ID) string {
	for _, l := range d.locs[id] {
		if l.name != "" {
			return fmt.Sprintf("%q", l.name)
		}
	}
	return id.String()
}

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
