package topology

import "iter"

// Object is implemented by pointers to every topology type. It lets stores
// and tools handle objects generically; simulation code uses the concrete
// types.
type Object interface {
	// ObjectID returns the object's ID.
	ObjectID() ID
	// ObjectKind returns the object's kind.
	ObjectKind() Kind
	// ObjectName returns the object's name, or "" for unnamed kinds.
	ObjectName() string
	// Validate checks the object on its own (ranges, rule validity, NAT
	// target sanity). It returns nil or a *ValidationError listing every
	// problem.
	Validate() error
	// Refs yields every reference the object makes to another object.
	Refs() iter.Seq[Ref]
	// Clone returns a deep copy: no slice is shared with the original.
	Clone() Object
	// DropRef removes every reference to id from the object (single fields
	// become the zero ID, list entries are removed). Stores use it to apply
	// the Clear delete policy.
	DropRef(id ID)
}

// DeletePolicy is what happens to a referring object when the object it
// references is deleted; it mirrors the reference system's bindings.
type DeletePolicy uint8

// Delete policies.
const (
	// DeleteClear removes the reference from the referring object.
	DeleteClear DeletePolicy = iota
	// DeleteCascade deletes the referring object too.
	DeleteCascade
	// DeleteRefuse refuses to delete the referenced object while the
	// reference exists.
	DeleteRefuse
)

func (p DeletePolicy) String() string {
	switch p {
	case DeleteCascade:
		return "cascade"
	case DeleteRefuse:
		return "refuse"
	}
	return "clear"
}

// Ref is one reference from an object to another.
type Ref struct {
	// Field is the referring field's path, as in validation errors.
	Field string
	// Kind is the kind the referenced object must have. Some fields accept
	// several kinds (a rule's in-port list names ports); Kind is exact.
	Kind Kind
	ID   ID
	// OnDelete applies to the referring object when the target is deleted.
	OnDelete DeletePolicy
}

// Topology is a whole virtual topology as plain values: what files load into,
// what validation checks, and what a Snapshot is built from.
type Topology struct {
	Bridges        []Bridge
	Routers        []Router
	Ports          []Port
	Chains         []Chain
	Routes         []Route
	PortGroups     []PortGroup
	IPAddrGroups   []IPAddrGroup
	LoadBalancers  []LoadBalancer
	Pools          []Pool
	PoolMembers    []PoolMember
	VIPs           []VIP
	HealthMonitors []HealthMonitor
	TunnelZones    []TunnelZone
	Hosts          []Host
	VTEPs          []VTEP
	DHCPSubnets    []DHCPSubnet
	BGPPeers       []BGPPeer
	BGPNetworks    []BGPNetwork
}

// Objects yields a pointer to every object of t, kind by kind in the order of
// Kinds. The pointers alias t's slices.
func (t *Topology) Objects() iter.Seq[Object] {
	return func(yield func(Object) bool) {
		_ = each(t.Bridges, yield) && each(t.Routers, yield) && each(t.Ports, yield) &&
			each(t.Chains, yield) && each(t.Routes, yield) && each(t.PortGroups, yield) &&
			each(t.IPAddrGroups, yield) && each(t.LoadBalancers, yield) && each(t.Pools, yield) &&
			each(t.PoolMembers, yield) && each(t.VIPs, yield) && each(t.HealthMonitors, yield) &&
			each(t.TunnelZones, yield) && each(t.Hosts, yield) && each(t.VTEPs, yield) &&
			each(t.DHCPSubnets, yield) && each(t.BGPPeers, yield) && each(t.BGPNetworks, yield)
	}
}

func each[T any, P interface {
	*T
	Object
}](s []T, yield func(Object) bool) bool {
	for i := range s {
		if !yield(P(&s[i])) {
			return false
		}
	}
	return true
}

// Add appends a copy of o to the slice of its kind. A Topology holds the
// device model only: Add ignores a *NeutronDoc.
func (t *Topology) Add(o Object) {
	switch v := o.Clone().(type) {
	case *Bridge:
		t.Bridges = append(t.Bridges, *v)
	case *Router:
		t.Routers = append(t.Routers, *v)
	case *Port:
		t.Ports = append(t.Ports, *v)
	case *Chain:
		t.Chains = append(t.Chains, *v)
	case *Route:
		t.Routes = append(t.Routes, *v)
	case *PortGroup:
		t.PortGroups = append(t.PortGroups, *v)
	case *IPAddrGroup:
		t.IPAddrGroups = append(t.IPAddrGroups, *v)
	case *LoadBalancer:
		t.LoadBalancers = append(t.LoadBalancers, *v)
	case *Pool:
		t.Pools = append(t.Pools, *v)
	case *PoolMember:
		t.PoolMembers = append(t.PoolMembers, *v)
	case *VIP:
		t.VIPs = append(t.VIPs, *v)
	case *HealthMonitor:
		t.HealthMonitors = append(t.HealthMonitors, *v)
	case *TunnelZone:
		t.TunnelZones = append(t.TunnelZones, *v)
	case *Host:
		t.Hosts = append(t.Hosts, *v)
	case *VTEP:
		t.VTEPs = append(t.VTEPs, *v)
	case *DHCPSubnet:
		t.DHCPSubnets = append(t.DHCPSubnets, *v)
	case *BGPPeer:
		t.BGPPeers = append(t.BGPPeers, *v)
	case *BGPNetwork:
		t.BGPNetworks = append(t.BGPNetworks, *v)
	}
}

// Len returns the number of objects in t.
func (t *Topology) Len() int {
	n := 0
	for range t.Objects() {
		n++
	}
	return n
}

// New returns a zero object of kind k (KindNeutron included), or nil for
// KindInvalid.
func New(k Kind) Object {
	switch k {
	case KindBridge:
		return &Bridge{}
	case KindRouter:
		return &Router{}
	case KindPort:
		return &Port{}
	case KindChain:
		return &Chain{}
	case KindRoute:
		return &Route{}
	case KindPortGroup:
		return &PortGroup{}
	case KindIPAddrGroup:
		return &IPAddrGroup{}
	case KindLoadBalancer:
		return &LoadBalancer{}
	case KindPool:
		return &Pool{}
	case KindPoolMember:
		return &PoolMember{}
	case KindVIP:
		return &VIP{}
	case KindHealthMonitor:
		return &HealthMonitor{}
	case KindTunnelZone:
		return &TunnelZone{}
	case KindHost:
		return &Host{}
	case KindVTEP:
		return &VTEP{}
	case KindDHCPSubnet:
		return &DHCPSubnet{}
	case KindBGPPeer:
		return &BGPPeer{}
	case KindBGPNetwork:
		return &BGPNetwork{}
	case KindNeutron:
		return &NeutronDoc{}
	}
	return nil
}
