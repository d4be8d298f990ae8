package flowstate

import (
	"sync"
	"time"
)

// DefaultIdleTimeout is how long an unreferenced key lives (the reference's
// state-key idle TTL).
const DefaultIdleTimeout = 60 * time.Second

// Key is implemented by ConnKey and NATKey.
type Key interface {
	comparable
	hash() uint64
}

// TableConfig configures a Table. The zero value is usable.
type TableConfig struct {
	// IdleTimeout is how long a key lives once no flow references it.
	// Zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Shards is the number of independently locked shards, rounded up to
	// a power of two. Zero means 64.
	Shards int
	// Now returns the current time; nil means time.Now. Tests inject a
	// fake clock.
	Now func() time.Time
}

// Table is a concurrent map from flow-state keys to values with reference
// counts held by installed flows and idle expiry.
//
// Readers on many simulation workers look keys up concurrently: the table is
// split into shards, each with its own read-write lock, selected by the
// key's hash, so there is no global lock. Get does not allocate.
//
// A key is referenced while installed flows depend on it (Add and Ref take a
// reference, Unref drops one). When its count reaches zero the key starts
// idling; Expire removes keys that idled for IdleTimeout. Imported keys (from
// peers) start with no reference and idle at once.
type Table[K Key, V any] struct {
	shards []shard[K, V]
	mask   uint64
	idle   time.Duration
	now    func() time.Time
}

type shard[K Key, V any] struct {
	mu sync.RWMutex
	m  map[K]entry[V]
	_  [40]byte // keep shards on separate cache lines
}

type entry[V any] struct {
	v    V
	refs int32
	// idleSince is the Unix time in nanoseconds when refs reached zero.
	idleSince int64
}

// NewTable returns an empty table.
func NewTable[K Key, V any](cfg TableConfig) *Table[K, V] {
	n := cfg.Shards
	if n <= 0 {
		n = 64
	}
	p := 1
	for p < n {
		p <<= 1
	}
	t := &Table[K, V]{shards: make([]shard[K, V], p), mask: uint64(p - 1), idle: cfg.IdleTimeout, now: cfg.Now}
	if t.idle <= 0 {
		t.idle = DefaultIdleTimeout
	}
	if t.now == nil {
		t.now = time.Now
	}
	for i := range t.shards {
		t.shards[i].m = make(map[K]entry[V])
	}
	return t
}

// ConnTable holds connection-tracking keys. A key's presence means packets
// matching it are return flows.
type ConnTable = Table[ConnKey, struct{}]

// NATTable holds NAT keys and their bindings.
type NATTable = Table[NATKey, NATBinding]

// NewConnTable returns an empty connection-tracking table.
func NewConnTable(cfg TableConfig) *ConnTable { return NewTable[ConnKey, struct{}](cfg) }

// NewNATTable returns an empty NAT table.
func NewNATTable(cfg TableConfig) *NATTable { return NewTable[NATKey, NATBinding](cfg) }

func (t *Table[K, V]) shard(k K) *shard[K, V] { return &t.shards[k.hash()&t.mask] }

// Get returns the value stored for k.
func (t *Table[K, V]) Get(k K) (V, bool) {
	s := t.shard(k)
	s.mu.RLock()
	e, ok := s.m[k]
	s.mu.RUnlock()
	return e.v, ok
}

// Contains reports whether k is present.
func (t *Table[K, V]) Contains(k K) bool {
	_, ok := t.Get(k)
	return ok
}

// Add stores v for k and takes one reference. It reports whether k was new.
func (t *Table[K, V]) Add(k K, v V) bool {
	s := t.shard(k)
	s.mu.Lock()
	e, ok := s.m[k]
	e.v = v
	e.refs++
	e.idleSince = 0
	s.m[k] = e
	s.mu.Unlock()
	return !ok
}

// Import stores v for k without taking a reference: a key learnt from a
// peer idles at once and expires unless a local flow references it. An
// existing key keeps its references; if it was idle its idle time restarts.
// Import reports whether k was new.
func (t *Table[K, V]) Import(k K, v V) bool {
	now := t.now().UnixNano()
	s := t.shard(k)
	s.mu.Lock()
	e, ok := s.m[k]
	e.v = v
	if e.refs == 0 {
		e.idleSince = now
	}
	s.m[k] = e
	s.mu.Unlock()
	return !ok
}

// Ref takes one more reference on k; it reports false if k is absent.
func (t *Table[K, V]) Ref(k K) bool {
	s := t.shard(k)
	s.mu.Lock()
	e, ok := s.m[k]
	if ok {
		e.refs++
		e.idleSince = 0
		s.m[k] = e
	}
	s.mu.Unlock()
	return ok
}

// Unref drops one reference on k. When the last reference goes, k starts
// idling. It reports false if k is absent or was not referenced.
func (t *Table[K, V]) Unref(k K) bool {
	now := t.now().UnixNano()
	s := t.shard(k)
	s.mu.Lock()
	e, ok := s.m[k]
	ok = ok && e.refs > 0
	if ok {
		e.refs--
		if e.refs == 0 {
			e.idleSince = now
		}
		s.m[k] = e
	}
	s.mu.Unlock()
	return ok
}

// Refs returns k's reference count (0 for an absent key).
func (t *Table[K, V]) Refs(k K) int {
	s := t.shard(k)
	s.mu.RLock()
	e := s.m[k]
	s.mu.RUnlock()
	return int(e.refs)
}

// Delete removes k regardless of its references.
func (t *Table[K, V]) Delete(k K) {
	s := t.shard(k)
	s.mu.Lock()
	delete(s.m, k)
	s.mu.Unlock()
}

// Len returns the number of keys.
func (t *Table[K, V]) Len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// Expire removes every key that has been unreferenced for at least the
// idle timeout and calls expired (if not nil) for each, after releasing the
// shard's lock, so the callback may use the table. It returns the number of
// keys removed.
func (t *Table[K, V]) Expire(expired func(K, V)) int {
	deadline := t.now().Add(-t.idle).UnixNano()
	type kv struct {
		k K
		v V
	}
	var gone []kv
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			if e.refs == 0 && e.idleSince <= deadline {
				delete(s.m, k)
				n++
				if expired != nil {
					gone = append(gone, kv{k, e.v})
				}
			}
		}
		s.mu.Unlock()
		for _, g := range gone {
			expired(g.k, g.v)
		}
		gone = gone[:0]
	}
	return n
}

// Range calls fn for every key until fn returns false. It holds one shard's
// read lock at a time, so fn must not write to the table.
func (t *Table[K, V]) Range(fn func(K, V) bool) {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		for k, e := range s.m {
			if !fn(k, e.v) {
				s.mu.RUnlock()
				return
			}
		}
		s.mu.RUnlock()
	}
}
