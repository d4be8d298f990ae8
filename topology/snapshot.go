package topology

import (
	"cmp"
	"net/netip"
	"slices"
)

// Snapshot is an immutable, indexed, consistent view of a whole topology.
//
// Simulation workers read a Snapshot concurrently without locks. Pointers
// returned by lookups point into the snapshot and must not be modified.
// Apply returns a new Snapshot with changes folded in; the receiver is left
// untouched, so in-flight simulations keep a consistent view.
//
// A Snapshot is built from whatever it is given: it does not validate.
// References that do not resolve are simply absent from the indexes.
type Snapshot struct {
	objs    [numKinds]map[ID]Object
	version uint64

	bridges map[ID]*BridgeView
	routers map[ID]*RouterView
	// groupMembers maps a port group to its member ports, sorted.
	groupMembers map[ID][]ID
	ipGroups     map[ID]map[netip.Addr]struct{}
	hostPorts    map[ID][]ID
	binding      map[hostIfc]ID
	lbs          map[ID]*LBView
	hostZones    map[ID][]ID
}

type hostIfc struct {
	host ID
	ifc  string
}

// Change is one object put into or deleted from a snapshot.
type Change struct {
	Kind Kind
	ID   ID
	// Object is the new value, or nil to delete Kind/ID.
	Object Object
}

// Put returns a Change that creates or replaces o.
func Put(o Object) Change { return Change{Kind: o.ObjectKind(), ID: o.ObjectID(), Object: o} }

// Delete returns a Change that deletes the object of kind k with id.
func Delete(k Kind, id ID) Change { return Change{Kind: k, ID: id} }

// BridgeView is a bridge with the indexes the simulation needs.
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

// RouterView is a router with its ports and routing table.
type RouterView struct {
	Router Router
	// Ports lists the router's ports, sorted by ID.
	Ports  []ID
	Routes *RouteTable
}

// LBView is a load balancer with its pools, members and VIPs.
type LBView struct {
	LoadBalancer LoadBalancer
	Pools        []*Pool
	// Members maps a pool to its members, sorted by ID.
	Members map[ID][]*PoolMember
	VIPs    []*VIP
}

// NewSnapshot builds a snapshot of t. t is copied: later changes to t do not
// affect the snapshot.
func NewSnapshot(t *Topology) *Snapshot {
	s := &Snapshot{}
	for k := range s.objs {
		s.objs[k] = make(map[ID]Object)
	}
	for o := range t.Objects() {
		s.objs[o.ObjectKind()][o.ObjectID()] = o.Clone()
	}
	s.reindex()
	return s
}

// Apply returns a new snapshot with changes applied in order. A Put replaces
// any object with the same kind and ID; a Delete of a missing object is a
// no-op. The receiver is unchanged.
func (s *Snapshot) Apply(changes ...Change) *Snapshot {
	n := &Snapshot{version: s.version + 1}
	for k := range s.objs {
		n.objs[k] = make(map[ID]Object, len(s.objs[k]))
		for id, o := range s.objs[k] {
			n.objs[k][id] = o
		}
	}
	for _, c := range changes {
		if c.Kind == KindInvalid || c.Kind >= numKinds {
			continue
		}
		if c.Object == nil {
			delete(n.objs[c.Kind], c.ID)
		} else {
			n.objs[c.Kind][c.ID] = c.Object.Clone()
		}
	}
	n.reindex()
	return n
}

// Version counts the Apply calls that led to this snapshot.
func (s *Snapshot) Version() uint64 { return s.version }

// Len returns the number of objects of kind k.
func (s *Snapshot) Len(k Kind) int {
	if k >= numKinds {
		return 0
	}
	return len(s.objs[k])
}

// Object returns the object of kind k with id.
func (s *Snapshot) Object(k Kind, id ID) (Object, bool) {
	if k >= numKinds {
		return nil, false
	}
	o, ok := s.objs[k][id]
	return o, ok
}

// Topology returns a copy of every object in the snapshot, sorted by ID
// within each kind.
func (s *Snapshot) Topology() *Topology {
	t := &Topology{}
	for k := KindBridge; k < numKinds; k++ {
		ids := make([]ID, 0, len(s.objs[k]))
		for id := range s.objs[k] {
			ids = append(ids, id)
		}
		slices.SortFunc(ids, compareID)
		for _, id := range ids {
			t.Add(s.objs[k][id])
		}
	}
	return t
}

func get[T any, P interface {
	*T
	Object
}](s *Snapshot, k Kind, id ID) (*T, bool) {
	o, ok := s.objs[k][id]
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
	v, ok := s.bridges[id]
	return v, ok
}

// RouterView returns the router with id, its ports and routing table.
func (s *Snapshot) RouterView(id ID) (*RouterView, bool) {
	v, ok := s.routers[id]
	return v, ok
}

// LBView returns the load balancer with id and its pools, members and VIPs.
func (s *Snapshot) LBView(id ID) (*LBView, bool) {
	v, ok := s.lbs[id]
	return v, ok
}

// PortGroupMembers returns the ports of group, sorted by ID.
func (s *Snapshot) PortGroupMembers(group ID) []ID { return s.groupMembers[group] }

// IPAddrGroupContains reports whether addr is in the address group.
func (s *Snapshot) IPAddrGroupContains(group ID, addr netip.Addr) bool {
	_, ok := s.ipGroups[group][addr]
	return ok
}

// HostPorts returns the exterior ports bound to host, sorted by ID.
func (s *Snapshot) HostPorts(host ID) []ID { return s.hostPorts[host] }

// PortByInterface returns the port bound to interface ifc on host.
func (s *Snapshot) PortByInterface(host ID, ifc string) (ID, bool) {
	id, ok := s.binding[hostIfc{host, ifc}]
	return id, ok
}

// HostZones returns the tunnel zones host is a member of, sorted by ID.
func (s *Snapshot) HostZones(host ID) []ID { return s.hostZones[host] }

func compareID(a, b ID) int {
	for i := range a {
		if c := cmp.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

func (s *Snapshot) reindex() {
	s.bridges = make(map[ID]*BridgeView)
	s.routers = make(map[ID]*RouterView)
	s.groupMembers = make(map[ID][]ID)
	s.ipGroups = make(map[ID]map[netip.Addr]struct{})
	s.hostPorts = make(map[ID][]ID)
	s.binding = make(map[hostIfc]ID)
	s.lbs = make(map[ID]*LBView)
	s.hostZones = make(map[ID][]ID)
	for id, o := range s.objs[KindBridge] {
		s.bridges[id] = &BridgeView{Bridge: *o.(*Bridge), RouterPorts: map[MAC]ID{}, RouterIPs: map[netip.Addr]MAC{}, VLANPorts: map[uint16]ID{}}
	}
	var routes []*Route
	for _, o := range s.objs[KindRoute] {
		routes = append(routes, o.(*Route))
	}
	for id, o := range s.objs[KindRouter] {
		s.routers[id] = &RouterView{Router: *o.(*Router)}
	}
	for _, o := range s.objs[KindPort] {
		p := o.(*Port)
		for _, g := range p.PortGroups {
			s.groupMembers[g] = append(s.groupMembers[g], p.ID)
		}
		if p.Kind() == PortExterior && !p.Host.IsZero() {
			s.hostPorts[p.Host] = append(s.hostPorts[p.Host], p.ID)
			s.binding[hostIfc{p.Host, p.Interface}] = p.ID
		}
		if rv, ok := s.routers[p.Router]; ok {
			rv.Ports = append(rv.Ports, p.ID)
		}
		bv, ok := s.bridges[p.Bridge]
		if !ok {
			continue
		}
		bv.Ports = append(bv.Ports, p.ID)
		if p.Kind() == PortExterior {
			bv.ExteriorPorts = append(bv.ExteriorPorts, p.ID)
		}
		if p.Kind() != PortInterior {
			continue
		}
		if p.VLAN != 0 {
			bv.VLANPorts[p.VLAN] = p.ID
			bv.VLANAware = true
		}
		peer, ok := s.Port(p.Peer)
		if !ok {
			continue
		}
		if peer.IsRouterPort() {
			bv.RouterPorts[peer.MAC] = p.ID
			if peer.Address.IsValid() {
				bv.RouterIPs[peer.Address] = peer.MAC
			}
		} else if peer.VLAN != 0 && p.VLAN == 0 {
			bv.VLANPeers = append(bv.VLANPeers, p.ID)
		}
	}
	for _, bv := range s.bridges {
		slices.SortFunc(bv.Ports, compareID)
		slices.SortFunc(bv.ExteriorPorts, compareID)
		slices.SortFunc(bv.VLANPeers, compareID)
	}
	for id, rv := range s.routers {
		slices.SortFunc(rv.Ports, compareID)
		var mine []*Route
		for _, r := range routes {
			if r.Router == id {
				mine = append(mine, r)
			}
		}
		var ports []*Port
		for _, pid := range rv.Ports {
			p, _ := s.Port(pid)
			ports = append(ports, p)
		}
		rv.Routes = NewRouteTable(mine, ports)
	}
	for _, m := range s.groupMembers {
		slices.SortFunc(m, compareID)
	}
	for _, m := range s.hostPorts {
		slices.SortFunc(m, compareID)
	}
	for id, o := range s.objs[KindIPAddrGroup] {
		set := make(map[netip.Addr]struct{})
		for _, a := range o.(*IPAddrGroup).Addrs {
			set[a] = struct{}{}
		}
		s.ipGroups[id] = set
	}
	for id, o := range s.objs[KindLoadBalancer] {
		s.lbs[id] = &LBView{LoadBalancer: *o.(*LoadBalancer), Members: map[ID][]*PoolMember{}}
	}
	for _, o := range s.objs[KindPool] {
		p := o.(*Pool)
		if lv, ok := s.lbs[p.LoadBalancer]; ok {
			lv.Pools = append(lv.Pools, p)
		}
	}
	poolLB := make(map[ID]ID)
	for _, o := range s.objs[KindPool] {
		p := o.(*Pool)
		poolLB[p.ID] = p.LoadBalancer
	}
	for _, o := range s.objs[KindPoolMember] {
		m := o.(*PoolMember)
		if lv, ok := s.lbs[poolLB[m.Pool]]; ok {
			lv.Members[m.Pool] = append(lv.Members[m.Pool], m)
		}
	}
	for _, o := range s.objs[KindVIP] {
		v := o.(*VIP)
		if lv, ok := s.lbs[poolLB[v.Pool]]; ok {
			lv.VIPs = append(lv.VIPs, v)
		}
	}
	for _, lv := range s.lbs {
		slices.SortFunc(lv.Pools, func(a, b *Pool) int { return compareID(a.ID, b.ID) })
		slices.SortFunc(lv.VIPs, func(a, b *VIP) int { return compareID(a.ID, b.ID) })
		for _, ms := range lv.Members {
			slices.SortFunc(ms, func(a, b *PoolMember) int { return compareID(a.ID, b.ID) })
		}
	}
	for id, o := range s.objs[KindTunnelZone] {
		for _, m := range o.(*TunnelZone).Members {
			s.hostZones[m.Host] = append(s.hostZones[m.Host], id)
		}
	}
	for _, z := range s.hostZones {
		slices.SortFunc(z, compareID)
	}
}
