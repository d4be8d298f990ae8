package nsdb

import (
	"context"
	"net/netip"
	"time"

	"github.com/hivenet/hivenet/topology"
)

// TableView is the read side of a replicated state table, for hot paths:
// Lookup reads the local cache, does no I/O, does not allocate, takes at most
// a reader lock, and is safe for concurrent use.
type TableView[K comparable, V any] interface {
	// Lookup returns the current value of k: the newest learned entry of k
	// if there is one, else its persistent entry.
	Lookup(k K) (V, bool)
}

// Table is a handle on one replicated state table, as the reference system
// (MidoNet) keeps its MAC, IPv4→MAC and ARP tables: a map from K to V shared
// by every client, built from entries.
//
// Each key has at most one persistent entry, written by operators, and any
// number of learned entries, each owned by the session that added it and
// ordered by the time it was added. The table's value for a key is its newest
// learned entry if it has any, else its persistent entry: a learned entry
// beats a persistent one, and among learned entries the newest wins.
//
// Learned entries are ephemeral: when their owner's session ends (expiry or
// Close of the client), they vanish and the key falls back to the next newest
// learned entry or to the persistent entry. A learned entry superseded by
// another session's newer entry is deleted by its owner's client as soon as
// that client observes the supersession, so it does not resurface later
// (backends where the owner observes it synchronously — memory — never let it
// resurface; others may, briefly, if the superseding entry vanishes first).
//
// Read-your-writes: once a write method returns nil, Lookup and Entries on
// the same handle reflect it (unless a later write superseded it). Other
// handles, in other clients, see it once their caches catch up; their Watches
// deliver it.
//
// A table's lifetime is independent of the device object: deleting a bridge
// does not clear its tables. Closing a handle does not remove the entries its
// session added.
type Table[K comparable, V any] interface {
	TableView[K, V]
	// Add adds a learned entry k→v owned by the caller's session. It
	// becomes the newest entry of k, hence the table's value for k; the
	// caller's older learned entries for k are removed. Adding again the
	// same pair refreshes it (it becomes the newest again).
	Add(ctx context.Context, k K, v V) error
	// Remove removes the caller's learned entry for k, but only if it is
	// the table's current entry for k and its value is v: "remove if I own
	// the current version and the value matches". Otherwise it returns
	// ErrNotOwner (another session's entry, or a persistent one, or a
	// different value, is current) or ErrNotFound (k has no entry) and the
	// table's value for k is unchanged.
	Remove(ctx context.Context, k K, v V) error
	// AddPersistent sets the persistent entry of k to v, replacing any
	// previous persistent entry of k. It survives every session.
	AddPersistent(ctx context.Context, k K, v V) error
	// RemovePersistent removes the persistent entry of k if its value is v;
	// otherwise it returns ErrNotFound.
	RemovePersistent(ctx context.Context, k K, v V) error
	// Entries returns a copy of the whole table as the local cache holds
	// it (no I/O).
	Entries() map[K]V
	// Watch subscribes to the table. The first batch holds one event per
	// key present; later batches hold one event per changed key with its
	// new value, or Deleted when the key has no entry left. ctx bounds only
	// the setup.
	Watch(ctx context.Context) (Watch[TableEvent[K, V]], error)
	// Close releases the handle's cache and watches; later calls return
	// ErrClosed and Lookup reports nothing. Idempotent.
	Close() error
}

// TableEvent is a change of one key of a table.
type TableEvent[K comparable, V any] struct {
	Key K
	// Value is the key's new value; the zero V when Deleted.
	Value V
	// Deleted reports that the key has no entry left.
	Deleted bool
}

// Tables opens replicated state tables. Each open returns a new handle whose
// cache is loaded before the method returns; ctx bounds that load.
type Tables interface {
	// MACTable opens the MAC table of a bridge for one VLAN (0: untagged):
	// MAC → port ID. Values must be non-zero port IDs.
	MACTable(ctx context.Context, bridge topology.ID, vlan uint16) (Table[topology.MAC, topology.ID], error)
	// IP4MACTable opens the IPv4→MAC table of a bridge (ARP pre-seeding and
	// suppression). Keys must be IPv4 addresses.
	IP4MACTable(ctx context.Context, bridge topology.ID) (Table[netip.Addr, topology.MAC], error)
	// ARPTable opens the ARP table of a router: IPv4 → ARPEntry. Keys must
	// be IPv4 addresses.
	ARPTable(ctx context.Context, router topology.ID) (Table[netip.Addr, ARPEntry], error)
}

// ARPEntry is a router's ARP cache entry. Its times are data written by the
// agent that resolved the address, not timers: the writer removes its entry
// at Expiry if it did not refresh it, and readers treat the entry as stale
// after Stale. Times are stored with millisecond precision in UTC; tables
// return them normalised that way (the zero time stays zero).
type ARPEntry struct {
	// MAC is the resolved address; the zero MAC means unresolved (an ARP
	// request is outstanding).
	MAC     topology.MAC
	Expiry  time.Time
	Stale   time.Time
	LastARP time.Time
}

// Equal reports whether e and o are the same entry at millisecond precision.
func (e ARPEntry) Equal(o ARPEntry) bool {
	return e.MAC == o.MAC && millis(e.Expiry) == millis(o.Expiry) &&
		millis(e.Stale) == millis(o.Stale) && millis(e.LastARP) == millis(o.LastARP)
}

// Normalize returns e with its times as the tables store them: truncated to
// milliseconds, in UTC.
func (e ARPEntry) Normalize() ARPEntry {
	return ARPEntry{MAC: e.MAC, Expiry: fromMillis(millis(e.Expiry)),
		Stale: fromMillis(millis(e.Stale)), LastARP: fromMillis(millis(e.LastARP))}
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
