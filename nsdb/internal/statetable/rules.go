// Package statetable holds what the client side of a replicated state table
// (nsdb.Table) is in every nsdb backend: the rules a table applies to its
// keys and values (Rules), the in-memory view of its current values that
// Lookup reads without I/O or allocation (View), and the backend-independent
// state of a handle — closed or not, its watches (Handle).
//
// It lives in nsdb/internal beside txn because only the backends use it;
// how entries are stored and arbitrated stays in each backend.
package statetable

import (
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Rules are a table's checks and comparison of its keys and values.
type Rules[K comparable, V any] struct {
	// CheckKey returns an error wrapping nsdb.ErrInvalid for a key the
	// table does not take.
	CheckKey func(K) error
	// Norm validates a value and returns it as the table stores it.
	Norm func(V) (V, error)
	// Equal reports whether two stored values are the same.
	Equal func(a, b V) bool
}

// Check validates k and v and returns v as the table stores it.
func (r Rules[K, V]) Check(k K, v V) (V, error) {
	if err := r.CheckKey(k); err != nil {
		return v, err
	}
	return r.Norm(v)
}

// MAC returns the rules of a bridge's MAC table: any MAC, to a non-zero port
// ID.
func MAC() Rules[topology.MAC, topology.ID] {
	return Rules[topology.MAC, topology.ID]{CheckKey: anyKey[topology.MAC], Norm: portValue, Equal: same[topology.ID]}
}

// IP4MAC returns the rules of a bridge's IPv4→MAC table: IPv4 addresses, to
// any MAC.
func IP4MAC() Rules[netip.Addr, topology.MAC] {
	return Rules[netip.Addr, topology.MAC]{CheckKey: ipv4Key, Norm: asIs[topology.MAC], Equal: same[topology.MAC]}
}

// ARP returns the rules of a router's ARP table: IPv4 addresses, to ARP
// entries stored normalised (nsdb.ARPEntry.Normalize) and compared at
// millisecond precision.
func ARP() Rules[netip.Addr, nsdb.ARPEntry] {
	return Rules[netip.Addr, nsdb.ARPEntry]{CheckKey: ipv4Key, Norm: normARP, Equal: nsdb.ARPEntry.Equal}
}

func anyKey[K any](K) error { return nil }

func ipv4Key(a netip.Addr) error {
	if !a.Is4() {
		return fmt.Errorf("%w: table key %v is not an IPv4 address", nsdb.ErrInvalid, a)
	}
	return nil
}

func same[V comparable](a, b V) bool { return a == b }

func asIs[V any](v V) (V, error) { return v, nil }

func portValue(id topology.ID) (topology.ID, error) {
	if id.IsZero() {
		return id, fmt.Errorf("%w: MAC table value: zero port ID", nsdb.ErrInvalid)
	}
	return id, nil
}

func normARP(e nsdb.ARPEntry) (nsdb.ARPEntry, error) { return e.Normalize(), nil }
