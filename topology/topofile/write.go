package topofile

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/hivenet/hivenet/topology"
)

// Write writes t as a topology file. Objects refer to each other by name
// (by UUID when a name is empty or shared); IDs and router-port MACs that
// Load would derive, and fields at their default, are left out; each
// symmetric peering is written once, on the first port of the pair. For
// every topology Load returned, Load(Write(t)) equals t.
//
// Write fails with an error wrapping ErrNotRepresentable for some invalid
// topologies the format cannot express: objects whose owner (a port's
// bridge or router, a route's router, a pool's load balancer, ...) is not
// in t, bridge ports with addresses, router ports with a VLAN, rules whose
// settings contradict their type, and values out of their enumerations.
func Write(w io.Writer, t *topology.Topology) error { return write(w, t, nil) }

func write(w io.Writer, t, outside *topology.Topology) error {
	root, err := encode(t, outside)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("topofile: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("topofile: %w", err)
	}
	// A blank line before each top-level section after the first.
	out := buf.Bytes()
	var b bytes.Buffer
	for i, line := range bytes.SplitAfter(out, []byte("\n")) {
		if i > 0 && len(line) > 0 && line[0] != ' ' && line[0] != '-' && line[0] != '\n' {
			b.WriteByte('\n')
		}
		b.Write(line)
	}
	_, err = w.Write(b.Bytes())
	return err
}

// maxFlowWidth is the longest single-line rendering compact gives a
// mapping.
const maxFlowWidth = 100

// compact renders a mapping of scalars (and flow lists of scalars) in flow
// style, {key: value, ...}, when it fits on one line.
func compact(n *yaml.Node) *yaml.Node {
	width := 2
	for i, c := range n.Content {
		switch {
		case c.Kind == yaml.ScalarNode:
			width += len(c.Value) + 2
		case c.Kind == yaml.SequenceNode && c.Style == yaml.FlowStyle && i%2 == 1:
			for _, e := range c.Content {
				if e.Kind != yaml.ScalarNode {
					return n
				}
				width += len(e.Value) + 2
			}
		default:
			return n
		}
	}
	if width <= maxFlowWidth {
		n.Style = yaml.FlowStyle
	}
	return n
}

// Node helpers.

// str is a user-chosen string: quoted when it would read as something else.
func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// plain is a value the format generates (number, address, keyword).
func plain(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

func uintNode[T ~uint8 | ~uint16 | ~uint32](v T) *yaml.Node {
	return plain(strconv.FormatUint(uint64(v), 10))
}

func seq(flow bool, items ...*yaml.Node) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Content: items}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

type mnode struct{ *yaml.Node }

func newMap() mnode { return mnode{&yaml.Node{Kind: yaml.MappingNode}} }

func (m mnode) add(k string, v *yaml.Node) { m.Content = append(m.Content, plain(k), v) }

func (m mnode) str(k, v string) {
	if v != "" {
		m.add(k, str(v))
	}
}

func (m mnode) flag(k string, v bool) {
	if v {
		m.add(k, plain("true"))
	}
}

func (m mnode) addr(k string, a netip.Addr) {
	if a.IsValid() {
		m.add(k, plain(a.String()))
	}
}

func (m mnode) prefix(k string, p netip.Prefix) {
	if p.IsValid() {
		m.add(k, plain(p.String()))
	}
}

func addUint[T ~uint8 | ~uint16 | ~uint32](m mnode, k string, v T) {
	if v != 0 {
		m.add(k, uintNode(v))
	}
}

func (m mnode) seq(k string, items []*yaml.Node, flow bool) {
	if len(items) > 0 {
		m.add(k, seq(flow, items...))
	}
}

// writer holds what encoding needs: how to name each object.
type writer struct {
	t *topology.Topology
	// names maps each object whose name is unique in its kind to that
	// name; other objects are referred to by ID.
	names map[topology.Kind]map[topology.ID]string
	// handles names health monitors, which have no name of their own.
	handles map[topology.ID]string
	kinds   map[topology.ID][]topology.Kind
	peered  map[topology.ID]bool
	errs    []error
	// api writes single objects in JSON (EncodeObject): references by
	// UUID, every ID and router port MAC written, owners named.
	api bool
}

func (w *writer) fail(format string, args ...any) {
	w.errs = append(w.errs, fmt.Errorf("%w: "+format, append([]any{ErrNotRepresentable}, args...)...))
}

func (w *writer) ref(k topology.Kind, id topology.ID) string {
	if k == topology.KindHealthMonitor {
		if h, ok := w.handles[id]; ok {
			return h
		}
	}
	if n, ok := w.names[k][id]; ok {
		return n
	}
	return id.String()
}

func (w *writer) device(id topology.ID) string {
	for _, k := range w.kinds[id] {
		if k != topology.KindBridge && k != topology.KindRouter {
			continue
		}
		s := w.ref(k, id)
		other := topology.KindRouter
		if k == topology.KindRouter {
			other = topology.KindBridge
		}
		for oid, n := range w.names[other] {
			if n == s && oid != id {
				return id.String() // the name is taken in the other kind
			}
		}
		return s
	}
	return id.String()
}

func newWriter(t *topology.Topology) *writer {
	w := &writer{t: t, names: map[topology.Kind]map[topology.ID]string{}, handles: map[topology.ID]string{},
		kinds: map[topology.ID][]topology.Kind{}, peered: map[topology.ID]bool{}}
	count := map[topology.Kind]map[string]int{}
	for o := range t.Objects() {
		w.kinds[o.ObjectID()] = append(w.kinds[o.ObjectID()], o.ObjectKind())
		if n := o.ObjectName(); n != "" {
			if count[o.ObjectKind()] == nil {
				count[o.ObjectKind()] = map[string]int{}
			}
			count[o.ObjectKind()][n]++
		}
	}
	for o := range t.Objects() {
		k, n := o.ObjectKind(), o.ObjectName()
		if n == "" || count[k][n] != 1 {
			continue
		}
		if w.names[k] == nil {
			w.names[k] = map[topology.ID]string{}
		}
		w.names[k][o.ObjectID()] = n
	}
	for i, h := range t.HealthMonitors {
		if _, dup := w.handles[h.ID]; !dup {
			w.handles[h.ID] = "hm-" + strconv.Itoa(i+1)
		}
	}
	return w
}

func encode(t, outside *topology.Topology) (*yaml.Node, error) {
	w := newWriter(t)
	if outside != nil {
		w.nameOutside(outside)
	}
	root := newMap()
	root.seq("hosts", each(t.Hosts, w.host), false)
	root.seq("tunnel-zones", each(t.TunnelZones, w.tunnelZone), false)
	root.seq("bridges", each(t.Bridges, w.bridge), false)
	root.seq("routers", each(t.Routers, w.router), false)
	root.seq("port-groups", each(t.PortGroups, w.portGroup), false)
	root.seq("ip-addr-groups", each(t.IPAddrGroups, w.addrGroup), false)
	root.seq("chains", each(t.Chains, w.chain), false)
	root.seq("load-balancers", each(t.LoadBalancers, w.loadBalancer), false)
	root.seq("health-monitors", each(t.HealthMonitors, w.healthMonitor), false)
	root.seq("vteps", each(t.VTEPs, w.vtep), false)
	w.checkOwned()
	if len(w.errs) > 0 {
		return nil, fmt.Errorf("topofile: %w", errors.Join(w.errs...))
	}
	return root.Node, nil
}

func each[T any](s []T, fn func(*T) *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	for i := range s {
		out = append(out, fn(&s[i]))
	}
	return out
}

// checkOwned reports objects that belong to an owner missing from the
// topology: they would not appear in the file.
func (w *writer) checkOwned() {
	t := w.t
	has := func(k topology.Kind, id topology.ID) bool {
		for _, x := range w.kinds[id] {
			if x == k {
				return true
			}
		}
		return false
	}
	for i := range t.Ports {
		p := &t.Ports[i]
		switch {
		case !p.Bridge.IsZero() && !p.Router.IsZero():
			w.fail("port %s belongs to both a bridge and a router", w.ref(topology.KindPort, p.ID))
		case !has(topology.KindBridge, p.Bridge) && !has(topology.KindRouter, p.Router):
			w.fail("port %s belongs to no bridge or router of the topology", w.ref(topology.KindPort, p.ID))
		}
	}
	for i := range t.Routes {
		if !has(topology.KindRouter, t.Routes[i].Router) {
			w.fail("route %s belongs to no router of the topology", t.Routes[i].ID)
		}
	}
	for i := range t.BGPPeers {
		if !has(topology.KindRouter, t.BGPPeers[i].Router) {
			w.fail("BGP peer %s belongs to no router of the topology", t.BGPPeers[i].ID)
		}
	}
	for i := range t.BGPNetworks {
		if !has(topology.KindRouter, t.BGPNetworks[i].Router) {
			w.fail("BGP network %s belongs to no router of the topology", t.BGPNetworks[i].ID)
		}
	}
	for i := range t.DHCPSubnets {
		if !has(topology.KindBridge, t.DHCPSubnets[i].Bridge) {
			w.fail("DHCP subnet %s belongs to no bridge of the topology", t.DHCPSubnets[i].ID)
		}
	}
	for i := range t.Pools {
		if !has(topology.KindLoadBalancer, t.Pools[i].LoadBalancer) {
			w.fail("pool %s belongs to no load balancer of the topology", w.ref(topology.KindPool, t.Pools[i].ID))
		}
	}
	for i := range t.PoolMembers {
		if !has(topology.KindPool, t.PoolMembers[i].Pool) {
			w.fail("pool member %s belongs to no pool of the topology", t.PoolMembers[i].ID)
		}
	}
	for i := range t.VIPs {
		if !has(topology.KindPool, t.VIPs[i].Pool) {
			w.fail("VIP %s belongs to no pool of the topology", t.VIPs[i].ID)
		}
	}
}

// nameID writes name: and, when Load would not derive the same ID from
// the name, id:.
func (w *writer) nameID(m mnode, k topology.Kind, name string, id topology.ID) {
	if w.api {
		m.add("id", plain(id.String()))
		m.str("name", name)
		return
	}
	m.str("name", name)
	if name == "" || id != topology.NameID(k, name) {
		m.add("id", plain(id.String()))
	}
}

// scope writes an object's scope, which only the JSON form has: a file is
// applied under a scope, it does not name one.
func (w *writer) scope(m mnode, s string) {
	if w.api && s != "" {
		m.str("scope", s)
	}
}

func (w *writer) childID(m mnode, id, derived topology.ID) {
	if id != derived || w.api {
		m.add("id", plain(id.String()))
	}
}

func (w *writer) refField(m mnode, key string, k topology.Kind, id topology.ID) {
	if !id.IsZero() {
		m.add(key, str(w.ref(k, id)))
	}
}

func (w *writer) host(h *topology.Host) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindHost, h.Name, h.ID)
	w.scope(m, h.Scope)
	if h.FloodingProxyWeight.Set {
		m.add("flooding-proxy-weight", uintNode(h.FloodingProxyWeight.Value))
	}
	return m.Node
}

func (w *writer) tunnelZone(z *topology.TunnelZone) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindTunnelZone, z.Name, z.ID)
	w.scope(m, z.Scope)
	if s, ok := zoneTypes.format(z.Type); ok {
		m.add("type", plain(s))
	} else if z.Type != topology.TunnelZoneInvalid {
		w.fail("tunnel zone %s has type %d", w.ref(topology.KindTunnelZone, z.ID), z.Type)
	}
	members := newMap()
	for _, mb := range z.Members {
		if !mb.Addr.IsValid() {
			w.fail("tunnel zone %s has a member without an address", w.ref(topology.KindTunnelZone, z.ID))
			continue
		}
		members.add(w.ref(topology.KindHost, mb.Host), plain(mb.Addr.String()))
		members.Content[len(members.Content)-2].Tag = "!!str"
	}
	if len(members.Content) > 0 {
		m.add("members", members.Node)
	}
	return m.Node
}

func (w *writer) portGroup(g *topology.PortGroup) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindPortGroup, g.Name, g.ID)
	w.scope(m, g.Scope)
	m.flag("stateful", g.Stateful)
	return m.Node
}

func (w *writer) addrs(what string, as []netip.Addr) []*yaml.Node {
	var out []*yaml.Node
	for _, a := range as {
		if !a.IsValid() {
			w.fail("%s holds an empty address", what)
			continue
		}
		out = append(out, plain(a.String()))
	}
	return out
}

func (w *writer) addrGroup(g *topology.IPAddrGroup) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindIPAddrGroup, g.Name, g.ID)
	w.scope(m, g.Scope)
	m.seq("addrs", w.addrs("address group "+w.ref(topology.KindIPAddrGroup, g.ID), g.Addrs), true)
	return m.Node
}

func (w *writer) bridge(b *topology.Bridge) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindBridge, b.Name, b.ID)
	w.scope(m, b.Scope)
	addUint(m, "vni", b.VNI)
	addUint(m, "tunnel-key", b.TunnelKey)
	w.refField(m, "inbound-filter", topology.KindChain, b.InboundFilter)
	w.refField(m, "outbound-filter", topology.KindChain, b.OutboundFilter)
	m.flag("admin-down", b.AdminDown)
	var ports, dhcp []*yaml.Node
	for i := range w.t.Ports {
		if p := &w.t.Ports[i]; p.Bridge == b.ID && p.Router.IsZero() {
			ports = append(ports, w.port(p, false))
		}
	}
	for i := range w.t.DHCPSubnets {
		if s := &w.t.DHCPSubnets[i]; s.Bridge == b.ID {
			dhcp = append(dhcp, w.dhcp(s, b.ID, len(dhcp)))
		}
	}
	m.seq("ports", ports, false)
	m.seq("dhcp", dhcp, false)
	return m.Node
}

func (w *writer) router(r *topology.Router) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindRouter, r.Name, r.ID)
	w.scope(m, r.Scope)
	addUint(m, "as-number", r.ASNumber)
	w.refField(m, "inbound-filter", topology.KindChain, r.InboundFilter)
	w.refField(m, "outbound-filter", topology.KindChain, r.OutboundFilter)
	w.refField(m, "load-balancer", topology.KindLoadBalancer, r.LoadBalancer)
	m.flag("admin-down", r.AdminDown)
	var ports, routes, peers, nets []*yaml.Node
	for i := range w.t.Ports {
		if p := &w.t.Ports[i]; p.Router == r.ID && p.Bridge.IsZero() {
			ports = append(ports, w.port(p, true))
		}
	}
	for i := range w.t.Routes {
		if rt := &w.t.Routes[i]; rt.Router == r.ID {
			routes = append(routes, compact(w.route(rt, r.ID, len(routes))))
		}
	}
	for i := range w.t.BGPPeers {
		if b := &w.t.BGPPeers[i]; b.Router == r.ID {
			peers = append(peers, compact(w.bgpPeer(b, r.ID, len(peers))))
		}
	}
	for i := range w.t.BGPNetworks {
		if b := &w.t.BGPNetworks[i]; b.Router == r.ID {
			nets = append(nets, w.bgpNetwork(b, r.ID, len(nets)))
		}
	}
	m.seq("ports", ports, false)
	m.seq("routes", routes, false)
	m.seq("bgp-peers", peers, false)
	m.seq("bgp-networks", nets, false)
	return m.Node
}

func (w *writer) bgpPeer(b *topology.BGPPeer, router topology.ID, i int) *yaml.Node {
	m := newMap()
	w.childID(m, b.ID, ChildID(router, topology.KindBGPPeer, i))
	addUint(m, "as-number", b.ASNumber)
	m.addr("addr", b.Addr)
	addUint(m, "keep-alive", b.KeepAlive)
	addUint(m, "hold-time", b.HoldTime)
	addUint(m, "connect-retry", b.ConnectRetry)
	m.str("password", b.Password)
	return m.Node
}

// bgpNetwork is a bare prefix when Load would derive its ID.
func (w *writer) bgpNetwork(b *topology.BGPNetwork, router topology.ID, i int) *yaml.Node {
	if !w.api && b.ID == ChildID(router, topology.KindBGPNetwork, i) && b.Subnet.IsValid() {
		return plain(b.Subnet.String())
	}
	m := newMap()
	m.add("id", plain(b.ID.String()))
	m.prefix("subnet", b.Subnet)
	return m.Node
}

func (w *writer) port(p *topology.Port, onRouter bool) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindPort, p.Name, p.ID)
	name := w.ref(topology.KindPort, p.ID)
	w.refField(m, "host", topology.KindHost, p.Host)
	m.str("interface", p.Interface)
	if onRouter {
		w.portAddrs(m, p, name)
		if p.MAC != DefaultMAC(p.ID) || w.api && !p.MAC.IsZero() {
			m.add("mac", plain(p.MAC.String()))
		}
		addUint(m, "mtu", p.MTU)
		if p.VLAN != 0 || !p.VTEP.IsZero() {
			w.fail("router port %s has a VLAN or VTEP", name)
		}
	} else {
		if len(p.Subnets) > 0 || p.Address.IsValid() || !p.MAC.IsZero() || p.MTU != 0 {
			w.fail("bridge port %s has an address, subnets, a MAC or an MTU", name)
		}
		addUint(m, "vlan", p.VLAN)
		w.refField(m, "vtep", topology.KindVTEP, p.VTEP)
	}
	if !p.Peer.IsZero() {
		if peer := w.findPort(p.Peer); peer == nil || peer.Peer != p.ID || !w.peered[p.Peer] || p.Peer == p.ID {
			m.add("peer", str(w.ref(topology.KindPort, p.Peer)))
		}
	}
	w.peered[p.ID] = true
	w.refField(m, "inbound-filter", topology.KindChain, p.InboundFilter)
	w.refField(m, "outbound-filter", topology.KindChain, p.OutboundFilter)
	var groups []*yaml.Node
	for _, g := range p.PortGroups {
		groups = append(groups, str(w.ref(topology.KindPortGroup, g)))
	}
	m.seq("port-groups", groups, true)
	addUint(m, "tunnel-key", p.TunnelKey)
	m.flag("admin-down", p.AdminDown)
	m.flag("service-container", p.ServiceContainer)
	return m.Node
}

func (w *writer) findPort(id topology.ID) *topology.Port {
	for i := range w.t.Ports {
		if w.t.Ports[i].ID == id {
			return &w.t.Ports[i]
		}
	}
	return nil
}

// portAddrs writes address: a.b.c.d/n when the first subnet is the
// address's, a bare address otherwise, and the remaining subnets.
func (w *writer) portAddrs(m mnode, p *topology.Port, name string) {
	subnets := p.Subnets
	switch {
	case p.Address.IsValid() && len(subnets) > 0 && subnets[0].IsValid() &&
		subnets[0] == netip.PrefixFrom(p.Address, subnets[0].Bits()).Masked():
		m.add("address", plain(netip.PrefixFrom(p.Address, subnets[0].Bits()).String()))
		subnets = subnets[1:]
	case p.Address.IsValid():
		m.add("address", plain(p.Address.String()))
	}
	var items []*yaml.Node
	for _, s := range subnets {
		if !s.IsValid() {
			w.fail("router port %s has an empty subnet", name)
			continue
		}
		items = append(items, plain(s.String()))
	}
	m.seq("subnets", items, true)
}

func (w *writer) route(r *topology.Route, router topology.ID, i int) *yaml.Node {
	m := newMap()
	w.childID(m, r.ID, ChildID(router, topology.KindRoute, i))
	m.prefix("dst", r.Dst)
	m.prefix("src", r.Src)
	if r.NextHop != topology.NextHopPort || r.NextHopPort.IsZero() {
		if s, ok := nextHops.format(r.NextHop); ok {
			m.add("next-hop", plain(s))
		} else {
			w.fail("route %s has next hop %s", r.ID, r.NextHop)
		}
	}
	w.refField(m, "port", topology.KindPort, r.NextHopPort)
	m.addr("gateway", r.Gateway)
	addUint(m, "weight", r.Weight)
	return m.Node
}

func (w *writer) dhcp(s *topology.DHCPSubnet, bridge topology.ID, i int) *yaml.Node {
	m := newMap()
	w.childID(m, s.ID, ChildID(bridge, topology.KindDHCPSubnet, i))
	m.prefix("subnet", s.Subnet)
	m.addr("server-addr", s.ServerAddr)
	m.addr("gateway", s.Gateway)
	m.seq("dns-servers", w.addrs("DHCP subnet "+s.ID.String(), s.DNSServers), true)
	addUint(m, "mtu", s.MTU)
	var routes, hosts []*yaml.Node
	for _, r := range s.Routes {
		rm := newMap()
		rm.Style = yaml.FlowStyle
		rm.prefix("dst", r.Dst)
		rm.addr("gateway", r.Gateway)
		routes = append(routes, rm.Node)
	}
	for _, h := range s.Hosts {
		hm := newMap()
		hm.Style = yaml.FlowStyle
		if !h.MAC.IsZero() {
			hm.add("mac", plain(h.MAC.String()))
		}
		hm.addr("addr", h.Addr)
		hm.str("name", h.Name)
		var opts []*yaml.Node
		for _, o := range h.Options {
			om := newMap()
			om.Style = yaml.FlowStyle
			addUint(om, "code", o.Code)
			if printable(o.Value) {
				om.add("value", str(string(o.Value)))
			} else {
				om.add("hex", str(hex.EncodeToString(o.Value)))
			}
			opts = append(opts, om.Node)
		}
		hm.seq("options", opts, false)
		hosts = append(hosts, hm.Node)
	}
	m.seq("routes", routes, false)
	m.seq("hosts", hosts, false)
	m.flag("disabled", s.Disabled)
	return m.Node
}

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
