package simulation

import (
	"encoding/binary"
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// index caches, for the snapshot an Engine last simulated on, the objects
// it looks up by ID: ports, bridges (with small linear tables of their
// linked router ports), routers and chains. Lookups go through small
// open-addressed tables hashed on the ID's bytes, several times faster than
// the snapshot's maps; a miss falls back to the snapshot and fills the
// table. The tables are emptied when the snapshot changes.
type index struct {
	snap    *topology.Snapshot
	ports   idTable[portInfo]
	bridges idTable[bridgeInfo]
	routers idTable[routerInfo]
	chains  idTable[chainInfo]
	routes  [routeCacheSize]routeEntry
}

// routeCacheSize is the number of entries of the direct-mapped route cache.
const routeCacheSize = 256

// routeEntry caches an unfiltered route lookup: the best routes of table
// for src -> dst, ignoring whether their ports publish them, and each
// route's next-hop port (nil when it has none or it does not exist).
type routeEntry struct {
	table    *topology.RouteTable
	src, dst uint32
	n        int
	routes   [4]*topology.Route
	hops     [4]*portInfo
}

// use points the index at snap, emptying it if snap is a new snapshot.
func (x *index) use(snap *topology.Snapshot) {
	if x.snap != snap {
		x.reset(snap)
	}
}

func (x *index) reset(snap *topology.Snapshot) {
	x.snap = snap
	x.ports.reset()
	x.bridges.reset()
	x.routers.reset()
	x.chains.reset()
	clear(x.routes[:])
}

// port returns the port id. It takes the ID by pointer: Go passes arrays
// of more than one element through memory, and reading the two halves of
// a 16-byte argument just stored whole stalls the load on the store; read
// in place, the ID comes straight from the topology object holding it.
func (x *index) port(id *topology.ID) (*portInfo, bool) {
	// Inline probe of the port table (the hottest lookup).
	t := &x.ports
	if t.n > 0 {
		k := keyOfPtr(id)
		mask := len(t.keys) - 1
		for i := int(k.hash() >> t.shift); ; i = (i + 1) & mask {
			v := t.vals[i]
			if v == nil {
				break
			}
			if t.keys[i] == k {
				return v, true
			}
		}
	}
	p, ok := x.snap.Port(*id)
	if !ok {
		return nil, false
	}
	pi := &portInfo{Port: p, kind: p.Kind(), onRouter: p.IsRouterPort(),
		hasIn: !p.InboundFilter.IsZero(), hasOut: !p.OutboundFilter.IsZero()}
	x.ports.put(*id, pi)
	return pi, true
}

// portInfo is a port with its kind, what the walk tests on every packet
// (whether it is a router port, whether it has filters) and, resolved on
// first use, its peer, its device and its filters' chains.
type portInfo struct {
	*topology.Port
	kind     topology.PortKind
	onRouter bool // IsRouterPort
	hasIn    bool // an inbound filter
	hasOut   bool // an outbound filter
	peer     *portInfo
	bridge   *bridgeInfo
	router   *routerInfo
	resolved uint8 // resolvedPeer | resolvedDevice
	in, out  chainSlot
}

// IsRouterPort reports whether p belongs to a router (topology.Port's
// method, answered from the copy taken when p was indexed).
func (p *portInfo) IsRouterPort() bool { return p.onRouter }

const (
	resolvedPeer uint8 = 1 << iota
	resolvedDevice
)

// peerOf returns the port p is linked to. The check is small enough to be
// inlined; resolving, once per port and snapshot, is not.
func (x *index) peerOf(p *portInfo) (*portInfo, bool) {
	if p.resolved&resolvedPeer == 0 {
		x.resolvePeer(p)
	}
	return p.peer, p.peer != nil
}

func (x *index) resolvePeer(p *portInfo) {
	p.resolved |= resolvedPeer
	if !p.Peer.IsZero() {
		p.peer, _ = x.port(&p.Peer)
	}
}

// device resolves the bridge or router owning p (inlined check, as
// peerOf).
func (x *index) device(p *portInfo) {
	if p.resolved&resolvedDevice == 0 {
		x.resolveDevice(p)
	}
}

func (x *index) resolveDevice(p *portInfo) {
	p.resolved |= resolvedDevice
	if p.IsRouterPort() {
		p.router, _ = x.router(p.Router)
	} else {
		p.bridge, _ = x.bridge(p.Bridge)
	}
}

func (x *index) router(id topology.ID) (*routerInfo, bool) {
	if r, ok := x.routers.get(id); ok {
		return r, true
	}
	v, ok := x.snap.RouterView(id)
	if !ok {
		return nil, false
	}
	r := &routerInfo{view: v, hasLB: !v.Router.LoadBalancer.IsZero(),
		hasIn: !v.Router.InboundFilter.IsZero(), hasOut: !v.Router.OutboundFilter.IsZero()}
	x.routers.put(id, r)
	return r, true
}

// routerInfo is a RouterView with its filter slots and what the walk
// tests on every packet: whether it has a load balancer and filters.
type routerInfo struct {
	view                 *topology.RouterView
	in, out              chainSlot
	hasLB, hasIn, hasOut bool
}

// chainSlot caches the compiled chain of a filter slot (a port's, bridge's
// or router's inbound or outbound filter), so that evaluating a filter
// does not look the chain up by ID.
type chainSlot struct {
	ci       *chainInfo
	resolved bool
}

// slot returns the compiled chain id of s, resolving it on first use; nil
// when the chain does not exist.
func (x *index) slot(s *chainSlot, id topology.ID) *chainInfo {
	if !s.resolved {
		s.resolved = true
		s.ci, _ = x.chain(id)
	}
	return s.ci
}

func (x *index) chain(id topology.ID) (*chainInfo, bool) {
	if c, ok := x.chains.get(id); ok {
		return c, true
	}
	c, ok := x.snap.Chain(id)
	if !ok {
		return nil, false
	}
	ci := &chainInfo{chain: c, conds: make([]cond, len(c.Rules))}
	for i := range c.Rules {
		ci.conds[i] = compileCond(&c.Rules[i].Condition, c.Rules[i].NATKind())
	}
	x.chains.put(id, ci)
	return ci, true
}

// chainInfo is a chain with its rule conditions compiled.
type chainInfo struct {
	chain *topology.Chain
	conds []cond // one per rule
}

func (x *index) bridge(id topology.ID) (*bridgeInfo, bool) {
	if b, ok := x.bridges.get(id); ok {
		return b, true
	}
	v, ok := x.snap.BridgeView(id)
	if !ok {
		return nil, false
	}
	b := newBridgeInfo(v)
	x.bridges.put(id, b)
	return b, true
}

// smallTable is the size up to which bridgeInfo scans slices instead of
// using the view's maps.
const smallTable = 8

// bridgeInfo is a BridgeView with its router-port maps flattened into
// slices when they are small (the common case: a bridge has a router port
// or two).
type bridgeInfo struct {
	view          *topology.BridgeView
	in, out       chainSlot
	hasIn, hasOut bool // filters
	small         bool
	rmacs         []topology.MAC // MACs of linked router ports ...
	rport         []topology.ID  // ... and the bridge-side ports they are linked to
	rips          []netip.Addr   // addresses of linked router ports ...
	ripm          []topology.MAC // ... and their MACs
}

func newBridgeInfo(v *topology.BridgeView) *bridgeInfo {
	b := &bridgeInfo{view: v, small: len(v.RouterPorts) <= smallTable && len(v.RouterIPs) <= smallTable,
		hasIn: !v.Bridge.InboundFilter.IsZero(), hasOut: !v.Bridge.OutboundFilter.IsZero()}
	if b.small {
		for m, p := range v.RouterPorts {
			b.rmacs = append(b.rmacs, m)
			b.rport = append(b.rport, p)
		}
		for a, m := range v.RouterIPs {
			b.rips = append(b.rips, a)
			b.ripm = append(b.ripm, m)
		}
	}
	return b
}

// routerPort returns the bridge port linked to the router port with MAC m.
func (b *bridgeInfo) routerPort(m topology.MAC) (topology.ID, bool) {
	if !b.small {
		p, ok := b.view.RouterPorts[m]
		return p, ok
	}
	for i := range b.rmacs {
		if b.rmacs[i] == m {
			return b.rport[i], true
		}
	}
	return topology.ID{}, false
}

// routerIP returns the MAC of the linked router port with address a.
func (b *bridgeInfo) routerIP(a netip.Addr) (topology.MAC, bool) {
	if !b.small {
		m, ok := b.view.RouterIPs[a]
		return m, ok
	}
	for i := range b.rips {
		if b.rips[i] == a {
			return b.ripm[i], true
		}
	}
	return topology.MAC{}, false
}

// idTable is an open-addressed hash table from IDs to pointers, with
// linear probing. The zero ID is never stored. Keys are held as two
// words so that probing compares integers.
type idTable[T any] struct {
	keys  []idKey
	vals  []*T
	n     int
	shift uint
}

type idKey struct{ a, b uint64 }

func keyOf(id topology.ID) idKey { return keyOfPtr(&id) }

// keyOfPtr is keyOf reading the ID in place (see index.port).
func keyOfPtr(id *topology.ID) idKey {
	return idKey{binary.LittleEndian.Uint64(id[0:8]), binary.LittleEndian.Uint64(id[8:16])}
}

func (k idKey) hash() uint64 { return (k.a ^ k.b*0xff51afd7ed558ccd) * 0x9e3779b97f4a7c15 }

func (t *idTable[T]) get(id topology.ID) (*T, bool) {
	if t.n == 0 {
		return nil, false
	}
	k := keyOf(id)
	mask := len(t.keys) - 1
	for i := int(k.hash() >> t.shift); ; i = (i + 1) & mask {
		v := t.vals[i]
		if v == nil {
			return nil, false
		}
		if t.keys[i] == k {
			return v, true
		}
	}
}

func (t *idTable[T]) put(id topology.ID, v *T) {
	if id.IsZero() || v == nil {
		return
	}
	if (t.n+1)*4 > len(t.keys)*3 {
		t.grow()
	}
	t.insert(keyOf(id), v)
}

func (t *idTable[T]) insert(k idKey, v *T) {
	mask := len(t.keys) - 1
	for i := int(k.hash() >> t.shift); ; i = (i + 1) & mask {
		if t.vals[i] == nil {
			t.keys[i], t.vals[i] = k, v
			t.n++
			return
		}
		if t.keys[i] == k {
			t.vals[i] = v
			return
		}
	}
}

func (t *idTable[T]) grow() {
	keys, vals := t.keys, t.vals
	size := 2 * len(keys)
	if size < 16 {
		size = 16
	}
	t.keys = make([]idKey, size)
	t.vals = make([]*T, size)
	t.n = 0
	bits := uint(0)
	for 1<<bits < size {
		bits++
	}
	t.shift = 64 - bits
	for i, v := range vals {
		if v != nil {
			t.insert(keys[i], v)
		}
	}
}

func (t *idTable[T]) reset() {
	if t.n == 0 {
		return
	}
	clear(t.keys)
	clear(t.vals)
	t.n = 0
}
