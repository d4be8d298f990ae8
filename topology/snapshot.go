package topology

import (
	"cmp"
	"iter"
	"net/netip"
)

// Snapshot is an immutable, indexed, consistent view of a whole topology.
//
// Simulation workers read a Snapshot concurrently without locks. Pointers,
// views and slices returned by lookups point into the snapshot and must not
// be modified; they never change afterwards, even when later snapshots are
// derived from this one. Apply returns a new Snapshot with changes folded
// in; the receiver is left untouched, so in-flight simulations keep a
// consistent view.
//
// Snapshots share structure: every object table and every index is a
// persistent trie, and Apply copies only the paths to what changed and
// rebuilds only the views of the devices a change affects, so applying one
// change costs O(log n) whatever the size of the topology. Lookups by ID do
// not allocate.
//
// The zero Snapshot is empty. A Snapshot is built from whatever it is
// given: it does not validate.
// References that do not resolve are simply absent from the views: a port
// whose bridge does not exist (an orphan, for instance after its bridge was
// deleted) is still returned by Port but listed by no BridgeView, and comes
// back into its bridge's view if the bridge is put again. Where two objects
// compete for one index entry (two peered router ports with the same MAC on
// one bridge, two ports bound to the same interface), the one with the
// lowest ID wins.
type Snapshot struct {
	version uint64
	objs    [numKinds]trie[Object]
	// ix is shared with the previous snapshot until a change needs to
	// update it; nil in the zero Snapshot.
	ix *indexes
}

// indexes are the views and reverse indexes of a Snapshot.
type indexes struct {
	edit     *edit // the batch that may update this value in place
	bridges  trie[*BridgeView]
	routers  trie[*RouterView]
	lbs      trie[*LBView]
	ipGroups trie[map[netip.Addr]struct{}]
	bindings trie[[]binding]
	// idx are the reverse indexes, keyed by the referenced ID whether or not
	// an object with that ID exists.
	idx [numIndexes]trie[*idSet]
}

// index names a reverse index of a Snapshot.
type index uint8

const (
	ixBridgePorts    index = iota // bridge -> its ports
	ixBridgeExterior              // bridge -> its exterior ports
	ixBridgeInterior              // bridge -> its interior ports
	ixRouterPorts                 // router -> its ports
	ixRouterRoutes                // router -> its routes
	ixPeers                       // port -> ports naming it as their peer
	ixGroupPorts                  // port group -> member ports
	ixHostPorts                   // host -> exterior ports bound to it
	ixLBPools                     // load balancer -> pools
	ixPoolMembers                 // pool -> members
	ixPoolVIPs                    // pool -> VIPs
	ixHostZones                   // host -> tunnel zones it is a member of
	numIndexes
)

// binding is an interface binding: port is bound to ifc on host.
type binding struct {
	host ID
	ifc  string
	port ID
}

// Change is one object put into or deleted from a snapshot.
type Change struct {
	Kind Kind
	ID   ID
	// Object is the new value, or nil to delete Kind/ID. For a put, the
	// object's own kind and ID are used.
	Object Object
	// adopted: the snapshot keeps Object itself rather than a copy.
	adopted bool
}

// Put returns a Change that creates or replaces o. The snapshot keeps a
// copy: the caller may modify o afterwards.
func Put(o Object) Change { return Change{Kind: o.ObjectKind(), ID: o.ObjectID(), Object: o} }

// Adopt is Put for an object that nobody modifies any more, such as one a
// store shares read-only (nsdb.SharedWatcher): the snapshot keeps o itself,
// saving a copy of every object of the deployment. Modifying o afterwards
// corrupts every snapshot holding it.
func Adopt(o Object) Change {
	return Change{Kind: o.ObjectKind(), ID: o.ObjectID(), Object: o, adopted: true}
}

// Delete returns a Change that deletes the object of kind k with id.
func Delete(k Kind, id ID) Change { return Change{Kind: k, ID: id} }

// BridgeView is a bridge with the indexes the simulation needs. A view is
// immutable: when anything it shows changes, a later snapshot holds a new
// view. Maps are nil when empty.
type BridgeView struct {
	Bridge Bridge
	// Ports lists every port of the bridge, sorted by ID.
	Ports []ID
	// ExteriorPorts lists the exterior ports (the flood set), sorted.
	ExteriorPorts []ID
	// RouterPorts maps the MAC of each router port peered with one of the
	// bridge's ports to the bridge-side (interior) port.
	RouterPorts map[MAC]ID
	// RouterIPs maps the address of each router port peered with the bridge
	// to that router port's MAC.
	RouterIPs map[netip.Addr]MAC
	// VLANPorts maps a VLAN id to the interior port carrying it.
	VLANPorts map[uint16]ID
	// VLANAware reports whether any interior port carries a VLAN id.
	VLANAware bool
	// VLANPeers lists interior ports of this (VLAN-unaware) bridge whose
	// peer is a VLAN-tagged port of a VLAN-aware bridge.
	VLANPeers []ID
}

// RouterView is a router with its ports and routing table. A view is
// immutable: when anything it shows changes, a later snapshot holds a new
// view.
type RouterView struct {
	Router Router
	// Ports lists the router's ports, sorted by ID.
	Ports []ID
	// Routes holds the router's routes and the implicit routes of its
	// ports. A change to one route or port updates the table of the
	// previous snapshot by structural sharing.
	Routes *RouteTable
}

// LBView is a load balancer with its pools, members and VIPs. A view is
// immutable: when anything it shows changes, a later snapshot holds a new
// view.
type LBView struct {
	LoadBalancer LoadBalancer
	// Pools lists the load balancer's pools, sorted by ID.
	Pools []*Pool
	// Members maps a pool to its members, sorted by ID; pools without
	// members have no entry, and the map is nil when no pool has members.
	Members map[ID][]*PoolMember
	// VIPs lists the VIPs of every pool, sorted by ID.
	VIPs []*VIP
}

// NewSnapshot builds a snapshot of t. t is copied: later changes to t do not
// affect the snapshot. It costs O(n log n) time for n objects.
func NewSnapshot(t *Topology) *Snapshot {
	s := &Snapshot{}
	b := newBuilder(s)
	for o := range t.Objects() {
		b.put(o.Clone())
	}
	b.finish()
	return s
}

// Apply returns a new snapshot with changes applied in order. A Put replaces
// any object with the same kind and ID; a Delete of a missing object is a
// no-op; a change of an invalid kind is ignored. The receiver is unchanged.
//
// Apply costs O(k log n) for k changes to a snapshot of n objects, plus
// copying the port lists of the bridges and routers whose membership
// changed and rebuilding the views of the load balancers a change touches
// (linear in the size of each). A change that leaves a device's view as it
// was, such as a port's admin state, rebuilds nothing: the device keeps its
// view value.
func (s *Snapshot) Apply(changes ...Change) *Snapshot {
	n := &Snapshot{}
	*n = *s
	n.version++
	b := newBuilder(n)
	for _, c := range changes {
		if c.Object != nil {
			if k := c.Object.ObjectKind(); k != KindInvalid && k < numKinds {
				o := c.Object
				if !c.adopted {
					o = o.Clone()
				}
				b.put(o)
			}
			continue
		}
		if c.Kind != KindInvalid && c.Kind < numKinds {
			b.delete(c.Kind, c.ID)
		}
	}
	b.finish()
	return n
}

// Version counts the Apply calls that led to this snapshot.
func (s *Snapshot) Version() uint64 { return s.version }

// Len returns the number of objects of kind k.
func (s *Snapshot) Len(k Kind) int {
	if k >= numKinds {
		return 0
	}
	return s.objs[k].n
}

// Object returns the object of kind k with id.
func (s *Snapshot) Object(k Kind, id ID) (Object, bool) {
	if k >= numKinds {
		return nil, false
	}
	return s.objs[k].get(id)
}

// Objects yields every object of kind k, sorted by ID.
func (s *Snapshot) Objects(k Kind) iter.Seq[Object] {
	return func(yield func(Object) bool) {
		if k >= numKinds {
			return
		}
		s.objs[k].each(func(_ ID, o Object) bool { return yield(o) })
	}
}

// Topology returns a copy of every object in the snapshot, sorted by ID
// within each kind.
func (s *Snapshot) Topology() *Topology {
	t := &Topology{}
	for k := KindBridge; k < numKinds; k++ {
		s.objs[k].each(func(_ ID, o Object) bool {
			t.Add(o)
			return true
		})
	}
	return t
}

func get[T any, P interface {
	*T
	Object
}](s *Snapshot, k Kind, id ID) (*T, bool) {
	o, ok := s.objs[k].get(id)
	if !ok {
		return nil, false
	}
	return (*T)(o.(P)), true
}

// Bridge returns the bridge with id.
func (s *Snapshot) Bridge(id ID) (*Bridge, bool) { return get[Bridge](s, KindBridge, id) }

// Router returns the router with id.
func (s *Snapshot) Router(id ID) (*Router, bool) { return get[Router](s, KindRouter, id) }

// Port returns the port with id.
func (s *Snapshot) Port(id ID) (*Port, bool) { return get[Port](s, KindPort, id) }

// Chain returns the chain with id; its Rules are in evaluation order.
func (s *Snapshot) Chain(id ID) (*Chain, bool) { return get[Chain](s, KindChain, id) }

// Route returns the route with id.
func (s *Snapshot) Route(id ID) (*Route, bool) { return get[Route](s, KindRoute, id) }

// PortGroup returns the port group with id.
func (s *Snapshot) PortGroup(id ID) (*PortGroup, bool) { return get[PortGroup](s, KindPortGroup, id) }

// IPAddrGroup returns the address group with id.
func (s *Snapshot) IPAddrGroup(id ID) (*IPAddrGroup, bool) {
	return get[IPAddrGroup](s, KindIPAddrGroup, id)
}

// LoadBalancer returns the load balancer with id.
func (s *Snapshot) LoadBalancer(id ID) (*LoadBalancer, bool) {
	return get[LoadBalancer](s, KindLoadBalancer, id)
}

// Pool returns the pool with id.
func (s *Snapshot) Pool(id ID) (*Pool, bool) { return get[Pool](s, KindPool, id) }

// PoolMember returns the pool member with id.
func (s *Snapshot) PoolMember(id ID) (*PoolMember, bool) {
	return get[PoolMember](s, KindPoolMember, id)
}

// VIP returns the VIP with id.
func (s *Snapshot) VIP(id ID) (*VIP, bool) { return get[VIP](s, KindVIP, id) }

// HealthMonitor returns the health monitor with id.
func (s *Snapshot) HealthMonitor(id ID) (*HealthMonitor, bool) {
	return get[HealthMonitor](s, KindHealthMonitor, id)
}

// TunnelZone returns the tunnel zone with id.
func (s *Snapshot) TunnelZone(id ID) (*TunnelZone, bool) {
	return get[TunnelZone](s, KindTunnelZone, id)
}

// Host returns the host with id.
func (s *Snapshot) Host(id ID) (*Host, bool) { return get[Host](s, KindHost, id) }

// VTEP returns the VTEP with id.
func (s *Snapshot) VTEP(id ID) (*VTEP, bool) { return get[VTEP](s, KindVTEP, id) }

// DHCPSubnet returns the DHCP subnet with id.
func (s *Snapshot) DHCPSubnet(id ID) (*DHCPSubnet, bool) {
	return get[DHCPSubnet](s, KindDHCPSubnet, id)
}

// BridgeView returns the bridge with id and its indexes.
func (s *Snapshot) BridgeView(id ID) (*BridgeView, bool) {
	if s.ix == nil {
		return nil, false
	}
	return s.ix.bridges.get(id)
}

// RouterView returns the router with id, its ports and routing table.
func (s *Snapshot) RouterView(id ID) (*RouterView, bool) {
	if s.ix == nil {
		return nil, false
	}
	return s.ix.routers.get(id)
}

// LBView returns the load balancer with id and its pools, members and VIPs.
func (s *Snapshot) LBView(id ID) (*LBView, bool) {
	if s.ix == nil {
		return nil, false
	}
	return s.ix.lbs.get(id)
}

// members returns the sorted members of the reverse index x at id.
func (s *Snapshot) members(x index, id ID) []ID {
	if s.ix == nil {
		return nil
	}
	if set, ok := s.ix.idx[x].get(id); ok {
		return set.ids()
	}
	return nil
}

// PortGroupMembers returns the ports that name group in their PortGroups,
// sorted by ID (whether or not the group exists). The list is built on the
// first call after the group's membership changed and cached: later calls
// do not allocate.
func (s *Snapshot) PortGroupMembers(group ID) []ID { return s.members(ixGroupPorts, group) }

// IPAddrGroupContains reports whether addr is in the address group.
func (s *Snapshot) IPAddrGroupContains(group ID, addr netip.Addr) bool {
	if s.ix == nil {
		return false
	}
	set, _ := s.ix.ipGroups.get(group)
	_, ok := set[addr]
	return ok
}

// HostPorts returns the exterior ports bound to host, sorted by ID. Like
// PortGroupMembers, the list is cached on first use.
func (s *Snapshot) HostPorts(host ID) []ID { return s.members(ixHostPorts, host) }

// PortByInterface returns the exterior port bound to interface ifc on host;
// when several are, the one with the lowest ID.
func (s *Snapshot) PortByInterface(host ID, ifc string) (ID, bool) {
	if s.ix == nil {
		return ID{}, false
	}
	bs, _ := s.ix.bindings.get(bindingKey(host, ifc))
	for i := range bs {
		if bs[i].host == host && bs[i].ifc == ifc {
			return bs[i].port, true
		}
	}
	return ID{}, false
}

// HostZones returns the tunnel zones host is a member of, sorted by ID. Like
// PortGroupMembers, the list is cached on first use.
func (s *Snapshot) HostZones(host ID) []ID { return s.members(ixHostZones, host) }

func compareID(a, b ID) int {
	for i := range a {
		if c := cmp.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// bindingKey returns the trie key of the binding of ifc on host: the host ID
// mixed with two FNV-1a hashes of the interface name. Distinct bindings may
// share a key; the entries stored under it tell them apart.
func bindingKey(host ID, ifc string) ID {
	const prime = 1099511628211
	h1, h2 := uint64(14695981039346656037), uint64(0x9e3779b97f4a7c15)
	for i := 0; i < len(ifc); i++ {
		h1 = (h1 ^ uint64(ifc[i])) * prime
		h2 = (h2 ^ uint64(ifc[i])) * prime
	}
	k := host
	for i := range 8 {
		k[i] ^= byte(h1 >> (56 - 8*i))
		k[8+i] ^= byte(h2 >> (56 - 8*i))
	}
	return k
}
