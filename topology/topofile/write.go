package topofile

import (
	"bytes"
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
	kinds   map[topology.ID]kindSet
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
	for _, k := range [...]topology.Kind{topology.KindBridge, topology.KindRouter} {
		if !w.kinds[id].has(k) {
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
	// Maps are sized up front: a large topology's ports would otherwise
	// rehash them a dozen times.
	w := &writer{t: t, names: map[topology.Kind]map[topology.ID]string{}, handles: map[topology.ID]string{},
		kinds: make(map[topology.ID]kindSet, t.Len()), peered: map[topology.ID]bool{}}
	count := map[topology.Kind]map[string]int{}
	for o := range t.Objects() {
		k := o.ObjectKind()
		w.kinds[o.ObjectID()] |= kindSet(1) << k
		if n := o.ObjectName(); n != "" {
			if count[k] == nil {
				count[k] = make(map[string]int, kindLen(t, k))
			}
			count[k][n]++
		}
	}
	for o := range t.Objects() {
		k, n := o.ObjectKind(), o.ObjectName()
		if n == "" || count[k][n] != 1 {
			continue
		}
		if w.names[k] == nil {
			w.names[k] = make(map[topology.ID]string, len(count[k]))
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
		return w.kinds[id].has(k)
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

// kindSet is a set of object kinds, one bit per kind: an ID is almost
// always of one kind, and a bit set costs no allocation per object.
type kindSet uint32

// The device kinds fit in a kindSet.
var _ [31 - topology.KindBGPNetwork]struct{}

func (s kindSet) has(k topology.Kind) bool { return s&(kindSet(1)<<k) != 0 }

// kindLen is a size hint for a map of the objects of kind k: the ports,
// the bulk of a large topology, are counted; other kinds grow as needed.
func kindLen(t *topology.Topology, k topology.Kind) int {
	if k == topology.KindPort {
		return len(t.Ports)
	}
	return 0
}
