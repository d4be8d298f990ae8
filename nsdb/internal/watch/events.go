package watch

import (
	"cmp"
	"slices"

	"github.com/hivenet/hivenet/nsdb"
)

// The delivery rules of each nsdb event type, as package nsdb documents
// them for every backend.

// Objects returns the Config of an object watch (nsdb.Watcher): events
// carry their own copy of the object, and batches are sorted by version,
// then kind, then ID. multi is set for WatchKinds, whose first batch lists
// only existing objects.
func Objects(multi bool) Config[nsdb.Event] {
	return Config[nsdb.Event]{Multi: multi, Deleted: nsdb.Event.Deleted, Deliver: deliverEvent, Order: eventOrder}
}

// SharedObjects is Objects for nsdb.SharedWatcher: events carry the stored
// objects themselves, read-only.
func SharedObjects(multi bool) Config[nsdb.Event] {
	return Config[nsdb.Event]{Multi: multi, Deleted: nsdb.Event.Deleted, Order: eventOrder}
}

func eventOrder(a, b nsdb.Event) int {
	if c := cmp.Compare(a.Version, b.Version); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return slices.Compare(a.ID[:], b.ID[:])
}

func deliverEvent(e nsdb.Event) nsdb.Event {
	if e.Object != nil {
		e.Object = e.Object.Clone()
	}
	return e
}

// Keys returns the Config of a state key watch (nsdb.StateKeys): events
// carry their own copy of the values, and a key with no value is deleted.
// multi is set for WatchAll, whose first batch lists only the objects whose
// key has values and whose batches are sorted by object ID.
func Keys(multi bool) Config[nsdb.KeyEvent] {
	cfg := Config[nsdb.KeyEvent]{Multi: multi, Deleted: keyDeleted, Deliver: deliverKeyEvent}
	if multi {
		cfg.Order = keyEventOrder
	}
	return cfg
}

func keyEventOrder(a, b nsdb.KeyEvent) int { return slices.Compare(a.ID[:], b.ID[:]) }

func deliverKeyEvent(e nsdb.KeyEvent) nsdb.KeyEvent {
	e.Values = slices.Clone(e.Values)
	return e
}

func keyDeleted(e nsdb.KeyEvent) bool { return len(e.Values) == 0 }

// Tables returns the Config of a table watch (nsdb.Table.Watch): its first
// batch lists the keys present, and a key is deleted when its event says
// so.
func Tables[K comparable, V any]() Config[nsdb.TableEvent[K, V]] {
	return Config[nsdb.TableEvent[K, V]]{Multi: true, Deleted: tableDeleted[K, V]}
}

func tableDeleted[K comparable, V any](e nsdb.TableEvent[K, V]) bool { return e.Deleted }

// Leaders returns the Config of a leader watch (nsdb.Elections.WatchLeader):
// one item, the election, whose events are handed over as they are.
func Leaders() Config[nsdb.Leader] { return Config[nsdb.Leader]{} }
