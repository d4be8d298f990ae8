package nsdb

import (
	"context"

	"github.com/hivenet/hivenet/topology"
)

// SessionID identifies a session. Zero is no session. (ZooKeeper: the
// session ID, the ephemeralOwner of the session's nodes.)
type SessionID uint64

// KeyType says how a state key arbitrates between writers.
type KeyType uint8

// State key types: the reference system's (MidoNet's) single first-write-wins,
// single last-write-wins and multiple-value state keys, each value an
// ephemeral node of its writer's session. Every value is owned by the session
// that wrote it and vanishes when that session ends.
const (
	_ KeyType = iota
	// KeyFirstWriteWins holds one value. Set succeeds only if the key is
	// empty or already owned by the caller's session; otherwise it returns
	// ErrNotOwner. This is per-entity ownership ("I manage this VTEP").
	KeyFirstWriteWins
	// KeyLastWriteWins holds one value. Set always succeeds and transfers
	// ownership to the caller's session.
	KeyLastWriteWins
	// KeyMultiple holds a set of values, each owned by the session that
	// added it. Adding a value held by another session returns ErrNotOwner;
	// adding one the caller holds is a no-op.
	KeyMultiple
)

func (t KeyType) String() string {
	switch t {
	case KeyFirstWriteWins:
		return "first-write-wins"
	case KeyLastWriteWins:
		return "last-write-wins"
	case KeyMultiple:
		return "multiple"
	}
	return "invalid"
}

// KeySpec declares a state key: the kind of object it is attached to, its
// name, and its type. Using one name with two types is undefined; declare
// keys once, as the Key* functions do.
type KeySpec struct {
	Kind topology.Kind
	// Name must satisfy ValidName.
	Name string
	Type KeyType
}

func (s KeySpec) String() string { return s.Kind.String() + "/" + s.Name }

// The state keys the reference system registers.

// KeyHostAlive is a host's liveness: present while its agent's session lives.
func KeyHostAlive() KeySpec { return KeySpec{topology.KindHost, "alive", KeyLastWriteWins} }

// KeyPortActive says which host has a port active, with the tunnel key it
// announces; its value is a PortState in text form.
func KeyPortActive() KeySpec { return KeySpec{topology.KindPort, "active", KeyLastWriteWins} }

// KeyPortRoutes holds the routes a port learned (one value per route).
func KeyPortRoutes() KeySpec { return KeySpec{topology.KindPort, "routes", KeyMultiple} }

// KeyFloodingProxy is a tunnel zone's flooding proxy; its value is a
// FloodingProxy in text form.
func KeyFloodingProxy() KeySpec {
	return KeySpec{topology.KindTunnelZone, "flooding_proxy", KeyLastWriteWins}
}

// KeyVTEPManager names the cluster node that manages a VTEP (first write
// wins: one manager per VTEP).
func KeyVTEPManager() KeySpec { return KeySpec{topology.KindVTEP, "vxgw_manager", KeyFirstWriteWins} }

// KeyVTEPConfig is what a VTEP's manager learnt from the VTEP's own
// database: its tunnel addresses, as a VTEPConfig in text form. Agents
// tunnel to the VTEP through them.
func KeyVTEPConfig() KeySpec { return KeySpec{topology.KindVTEP, "config", KeyLastWriteWins} }

// KeyVTEPConnectionState is the state of a VTEP manager's OVSDB connection
// to the VTEP (written by the manager; its text form is package vxgw's).
func KeyVTEPConnectionState() KeySpec {
	return KeySpec{topology.KindVTEP, "connection_state", KeyLastWriteWins}
}

// KeyPoolMemberStatus is a pool member's health as set by its monitor:
// MemberStatusActive or MemberStatusInactive. An empty key means no
// monitor has judged the member (yet): agents treat it as down.
func KeyPoolMemberStatus() KeySpec {
	return KeySpec{topology.KindPoolMember, "status", KeyLastWriteWins}
}

// Values of KeyPoolMemberStatus, the reference's.
const (
	MemberStatusActive   = "ACTIVE"
	MemberStatusInactive = "INACTIVE"
)

// KeyHealthMonitorOwner names the cluster node that runs a health
// monitor's probes (first write wins: one prober per monitor).
func KeyHealthMonitorOwner() KeySpec {
	return KeySpec{topology.KindHealthMonitor, "owner", KeyFirstWriteWins}
}

// KeyClusterNode holds a cluster node's status report (JSON, written by
// package nsdb/cluster). Cluster nodes are identified like hosts — a node
// named N has ID topology.NameID(topology.KindHost, N) — so the key lives on
// the host kind; the host object need not exist. First write wins: two live
// processes cannot both claim one node.
func KeyClusterNode() KeySpec {
	return KeySpec{topology.KindHost, "cluster_node", KeyFirstWriteWins}
}

// KeyValue is one value of a state key and the session that owns it.
type KeyValue struct {
	Value string
	Owner SessionID
}

// KeyEvent is the state of one key of one object, as seen by a watch.
type KeyEvent struct {
	Spec KeySpec
	ID   topology.ID
	// Values is the key's whole new state: empty when the key has no value,
	// one value for single-valued keys, the set sorted by Value for
	// KeyMultiple.
	Values []KeyValue
}

// StateKeys reads and writes ephemeral state keys with ownership. A state key
// is addressed by a KeySpec and the ID of the object it is attached to; the
// object need not exist in the store.
//
// Values are non-empty strings (ErrInvalid otherwise). Only the owner removes
// a value. Every value vanishes when its owner's session ends, and watchers
// are notified.
type StateKeys interface {
	// Set writes value. Single-valued keys arbitrate as their KeyType says;
	// for KeyMultiple, Set adds value to the set.
	Set(ctx context.Context, spec KeySpec, id topology.ID, value string) error
	// Remove removes value if the caller's session owns it: ErrNotFound if
	// the key does not hold value, ErrNotOwner if another session owns it.
	Remove(ctx context.Context, spec KeySpec, id topology.ID, value string) error
	// Get returns the key's current values (none when empty), KeyMultiple
	// values sorted by Value.
	Get(ctx context.Context, spec KeySpec, id topology.ID) ([]KeyValue, error)
	// Watch subscribes to one key of one object. The first batch holds
	// exactly one event, possibly with no values. ctx bounds only the
	// setup.
	Watch(ctx context.Context, spec KeySpec, id topology.ID) (Watch[KeyEvent], error)
	// WatchAll subscribes to the key on every object of spec.Kind: the
	// first batch holds one event per object whose key has values (it may
	// be empty); later batches hold changes, with empty Values when an
	// object's key became empty.
	WatchAll(ctx context.Context, spec KeySpec) (Watch[KeyEvent], error)
}
