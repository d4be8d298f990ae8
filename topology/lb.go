package topology

import "net/netip"

// LoadBalancer is an L4 load balancer attached to a router (the router names
// it in Router.LoadBalancer).
type LoadBalancer struct {
	ID        ID
	Name      string
	Scope     string // the declarative scope: see Bridge.Scope
	AdminDown bool
}

// LBMethod is a pool's balancing method.
type LBMethod uint8

// Balancing methods. The reference implements round robin as weighted
// random selection, and so does hivenet.
const (
	LBRoundRobin LBMethod = iota
)

func (m LBMethod) String() string { return "round-robin" }

// SessionPersistence says whether a client keeps its backend.
type SessionPersistence uint8

// Session persistence modes.
const (
	PersistenceNone SessionPersistence = iota
	// PersistenceSourceIP keeps every connection of a source address on the
	// same backend (sticky).
	PersistenceSourceIP
)

func (s SessionPersistence) String() string {
	if s == PersistenceSourceIP {
		return "source-ip"
	}
	return "none"
}

// Pool is a set of backends behind one or more VIPs. Only TCP is balanced.
type Pool struct {
	ID            ID
	Name          string
	LoadBalancer  ID
	HealthMonitor ID
	AdminDown     bool
	Method        LBMethod
	Persistence   SessionPersistence
}

// MemberStatus is a pool member's health.
type MemberStatus uint8

// Member statuses.
const (
	// MemberActive members can be chosen.
	MemberActive MemberStatus = iota
	// MemberInactive members are never chosen.
	MemberInactive
	// MemberMonitored members take their status from the health monitor's
	// state key.
	MemberMonitored
)

func (s MemberStatus) String() string {
	switch s {
	case MemberInactive:
		return "inactive"
	case MemberMonitored:
		return "monitored"
	}
	return "active"
}

// PoolMember is one backend of a pool.
type PoolMember struct {
	ID        ID
	Pool      ID
	AdminDown bool
	Status    MemberStatus
	Addr      netip.Addr
	Port      uint16
	// Weight is the member's share of new connections; 0 means the member
	// is never chosen, as in the reference.
	Weight uint32
}

// Up reports whether the member can receive new connections: weight above
// zero, administratively up and active.
func (m *PoolMember) Up() bool {
	return m.Weight > 0 && !m.AdminDown && m.Status == MemberActive
}

// VIP is a virtual address and TCP port balanced over a pool.
type VIP struct {
	ID          ID
	Pool        ID
	AdminDown   bool
	Addr        netip.Addr
	Port        uint16
	Persistence SessionPersistence
}

// HealthMonitor probes pool members over TCP.
type HealthMonitor struct {
	ID        ID
	Scope     string // the declarative scope: see Bridge.Scope
	AdminDown bool
	// Delay, Timeout are in seconds.
	Delay      uint32
	Timeout    uint32
	MaxRetries uint32
}
