package topofile

import (
	"errors"
	"fmt"
	"io"
	"os"

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
	return loadSplit(data, file, outside, splitMin)
}

// loadSplit is loadWith, parsing data in pieces when it is at least
// splitAt bytes (see split.go).
func loadSplit(data []byte, file string, outside *topology.Topology, splitAt int) (*topology.Topology, error) {
	doc, sp, err := parseDocument(data, splitAt)
	if err != nil {
		return nil, ErrorList{{File: file, Line: syntaxLine(err.Error()), Err: err}}
	}
	d := newDecoder(file)
	if outside != nil {
		d.out = newOutsideIndex(outside)
	}
	if sp != nil {
		ok := d.documentSplit(sp)
		sp.close()
		if !ok { // a piece does not parse: the whole file gives the error
			return loadSplit(data, file, outside, len(data)+1)
		}
	} else if doc != nil {
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
			d.failAt(l.at, l.path, p)
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

// sections are the top-level lists of a file, in the order they are
// decoded.
var sections = []struct {
	key    string
	keys   keySet
	decode func(*decoder, *mapping, int)
}{
	{"hosts", hostKeys, (*decoder).host},
	{"tunnel-zones", zoneKeys, (*decoder).tunnelZone},
	{"port-groups", portGroupKeys, (*decoder).portGroup},
	{"ip-addr-groups", addrGroupKeys, (*decoder).addrGroup},
	{"chains", chainKeys, (*decoder).chain},
	{"bridges", bridgeKeys, (*decoder).bridge},
	{"routers", routerKeys, (*decoder).router},
	{"load-balancers", lbKeys, (*decoder).loadBalancer},
	{"health-monitors", monitorKeys, (*decoder).healthMonitor},
	{"vteps", vtepKeys, (*decoder).vtep},
}

func (d *decoder) document(doc *yaml.Node) {
	root := doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return
		}
		root = doc.Content[0]
	}
	m := d.mapping(root, "", topKeys)
	d.sizeFor(countPorts(root))
	for _, sec := range sections {
		d.each(m, sec.key, sec.keys, func(e *mapping, i int) { sec.decode(d, e, i) })
	}
}

// documentSplit decodes a document parsed in pieces, each list's items as
// their pieces are parsed; ok is false when a piece failed to parse.
// Its top-level keys were checked when it was split.
func (d *decoder) documentSplit(sp *split) (ok bool) {
	d.sizeFor(sp.ports)
	for _, sec := range sections {
		i := 0
		ok := sp.items(sec.key, func(n *yaml.Node) {
			sec.decode(d, d.mapping(n, index(sec.key, i), sec.keys), i)
			i++
		})
		if !ok {
			return false
		}
	}
	return true
}

// sizeFor sizes the port slice and indexes for n ports, rather than
// growing them a dozen times on the way to 100,000.
func (d *decoder) sizeFor(n int) {
	if n == 0 {
		return // none: nil ports, as Load of an empty file gives
	}
	d.t.Ports = make([]topology.Port, 0, n)
	d.names[topology.KindPort] = make(map[string]topology.ID, n)
	d.ids[topology.KindPort] = make(map[topology.ID]bool, n)
	d.locs = make(map[topology.ID][]*objLoc, n)
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
			host, kat := scalarValue(k), at(k)
			d.fixes = append(d.fixes, func() {
				if hid, ok := d.resolve(topology.KindHost, host, kat, kp); ok {
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
