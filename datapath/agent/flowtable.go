package agent

import (
	"hash/maphash"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/internal/ufidmap"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// FlowClass is why a flow was installed, which sets its hard timeout.
type FlowClass uint8

// Flow classes: the hard timeout a flow gets, by what it was made from.
const (
	// ClassNormal: a simulated flow (forward or drop), 60 s.
	ClassNormal FlowClass = iota
	// ClassShort: a short or error drop, or a packet that waited too long
	// for ARP, 5 s.
	ClassShort
	// ClassStateful: a forward flow that touched flow state, 30 s, so the
	// state is pushed again before any peer expires it.
	ClassStateful
	// ClassTunnel: a tunnelled-in flow output to a local port, 300 s.
	ClassTunnel
	numClasses
)

var classNames = [numClasses]string{"normal", "short", "stateful", "tunnel"}

// String returns the class name.
func (c FlowClass) String() string {
	if c < numClasses {
		return classNames[c]
	}
	return "invalid"
}

// invalLogSize bounds the invalidation log: an installation whose
// simulation started more than this many invalidations ago is refused.
const invalLogSize = 4096

// flowTable indexes the installed flows by key and by tag, and expires them
// by class (hard timeouts, FIFO per class). It does not talk to the
// datapath: its methods return the entries the caller must delete.
//
// Installing races with invalidation: a simulation that started before a
// tag was invalidated may have read the old state. Every invalidated tag is
// logged with a sequence number; begin returns the current number, and add
// refuses an entry carrying a tag invalidated since (the reference's
// invalidation history).
type flowTable struct {
	mu sync.Mutex
	// byUFID indexes the flows. A UFID is a 128-bit hash of the flow's
	// key (ufidOf): a map keyed by the 512-byte FlowKey itself would store,
	// and allocate, each key indirectly.
	byUFID  ufidmap.Map[flowEntry]
	seeds   [2]maphash.Seed
	tags    map[simulation.Tag]*tagSet
	dsts    map[topology.ID]map[netip.Addr]int
	queues  [numClasses][]entryRef
	heads   [numClasses]int
	seq     atomic.Uint64
	log     [invalLogSize]simulation.Tag
	timeout Timeouts
	// recent caches the sets of the last added flow's tags, by position:
	// consecutive flows mostly carry the same tags, and a hit saves
	// hashing a tag. A set that left tags (gone) is not used.
	recent [recentTags]struct {
		tag simulation.Tag
		set *tagSet
	}
	// free holds removed entries for reuse, with their slices' capacity:
	// installing a flow does not allocate.
	free sync.Pool
	// touched accumulates what expire reads ahead, so that the compiler
	// keeps the reads; its value means nothing.
	touched uint32
}

func newFlowTable(t Timeouts) *flowTable {
	return &flowTable{
		seeds:   [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		tags:    make(map[simulation.Tag]*tagSet),
		dsts:    make(map[topology.ID]map[netip.Addr]int),
		timeout: t,
	}
}

// ufid returns the UFID of the flow installed for key.
func (t *flowTable) ufid(key *datapath.FlowKey) datapath.UFID {
	return ufidOf(key, &t.seeds)
}

// begin returns the invalidation sequence number a simulation starts at.
func (t *flowTable) begin() uint64 { return t.seq.Load() }

// len returns the number of flows.
func (t *flowTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byUFID.Len()
}

// add registers e, installed at now, unless a flow with its key exists or
// one of its tags was invalidated after since. It reports whether e was
// added.
func (t *flowTable) add(e *flowEntry, since uint64, now time.Time) bool {
	t.prepare(e, now)
	return t.insert(e, since)
}

// insert is add for e, prepared.
func (t *flowTable) insert(e *flowEntry, since uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addPrepared(e, since)
}

// prepare does what adding e, installed at now, needs that concerns e
// alone, before the lock is taken: both workers and expiry take it for
// every flow, and a worker that finds it held sleeps.
func (t *flowTable) prepare(e *flowEntry, now time.Time) {
	e.tags = indexedTags(e.tags)
	e.deadline = now.Add(t.timeout.of(e.class))
	e.links = slices.Grow(e.links[:0], len(e.tags))[:len(e.tags)]
}

// addAll is add for a batch of prepared entries, es[i] since since[i],
// with one acquisition of the lock; added[i] reports whether es[i] was
// added. Each entry's index slot is read for the whole batch before the
// first is added: in a table of a few hundred thousand flows each is
// usually a cache miss, and misses that do not wait on one another
// overlap (see ufidmap.Map.Touch).
func (t *flowTable) addAll(es []*flowEntry, since []uint64, added []bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var sink byte
	for _, e := range es {
		sink ^= t.byUFID.Touch(&e.ufid)
	}
	t.touched += uint32(sink)
	for i, e := range es {
		added[i] = t.addPrepared(e, since[i])
	}
}

// addPrepared is add for e, prepared. Caller holds mu.
func (t *flowTable) addPrepared(e *flowEntry, since uint64) bool {
	if cur := t.seq.Load(); cur != since {
		if cur-since > invalLogSize {
			return false
		}
		for s := since + 1; s <= cur; s++ {
			if slices.Contains(e.tags, t.log[s%invalLogSize]) {
				return false
			}
		}
	}
	// One probe of the index both finds a flow with the key and, if there
	// is none, adds e: the probe is a cache miss in a table of a few
	// hundred thousand flows.
	if _, added := t.byUFID.Add(e.ufid, e); !added {
		return false
	}
	e.dead = false
	for i, tag := range e.tags {
		t.setOf(i, tag).link(&e.links[i], e)
	}
	t.queues[e.class] = append(t.queues[e.class], entryRef{e, e.gen})
	return true
}

// newEntry returns an empty entry, recycled if one is free.
func (t *flowTable) newEntry() *flowEntry {
	if e, ok := t.free.Get().(*flowEntry); ok {
		return e
	}
	return new(flowEntry)
}

// recycle makes e, removed from the table (or never added) and released,
// available to newEntry. The caller must not use e afterwards.
func (t *flowTable) recycle(e *flowEntry) {
	t.mu.Lock()
	e.gen++
	e.dead = true
	t.mu.Unlock()
	t.reset(e)
}

// recycleAll is recycle for many entries, with one acquisition of the lock.
func (t *flowTable) recycleAll(es []*flowEntry) {
	t.mu.Lock()
	for _, e := range es {
		e.gen++
		e.dead = true
	}
	t.mu.Unlock()
	for _, e := range es {
		t.reset(e)
	}
}

// reset empties e, keeping its slices' capacity, and makes it free.
func (t *flowTable) reset(e *flowEntry) {
	clear(e.actions) // interfaces: let what they point to go
	clear(e.links)
	e.ufid, e.seen, e.tunnel, e.vtep, e.state, e.class, e.deadline = datapath.UFID{}, 0, notTunnel, false, nil, 0, time.Time{}
	e.actions, e.tags, e.links, e.learned = e.actions[:0], e.tags[:0], e.links[:0], e.learned[:0]
	t.free.Put(e)
}

// unindex removes e from every index but its class queue, which skips dead
// entries. Caller holds mu.
func (t *flowTable) unindex(e *flowEntry) {
	if e.dead {
		return
	}
	e.dead = true
	t.dropIndexes(e)
}

// dropIndexes is unindex for e, already marked dead. Caller holds mu.
func (t *flowTable) dropIndexes(e *flowEntry) {
	if t.byUFID.Get(e.ufid) == e {
		t.byUFID.Delete(e.ufid)
	}
	for i := range e.links {
		l := &e.links[i]
		ts := l.set
		if ts == nil || !l.unlink() {
			continue
		}
		tag := e.tags[i]
		ts.gone = true
		delete(t.tags, tag)
		if tag.Kind() == simulation.TagKindRouterDst {
			if m := t.dsts[tag.ID()]; m != nil {
				if m[tag.Addr()]--; m[tag.Addr()] <= 0 {
					delete(m, tag.Addr())
				}
				if len(m) == 0 {
					delete(t.dsts, tag.ID())
				}
			}
		}
	}
}

// remove unindexes the entry with ufid, if any, and returns it.
func (t *flowTable) remove(ufid datapath.UFID) *flowEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.byUFID.Get(ufid)
	if e == nil {
		return nil
	}
	t.unindex(e)
	return e
}

// live reports whether e, at generation gen, is installed.
func (t *flowTable) live(e *flowEntry, gen uint32) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return entryRef{e, gen}.live()
}

// liveAll is live for a batch, with one acquisition of the lock:
// live[i] reports whether es[i], at generation gens[i], is installed
// (false for a nil entry).
func (t *flowTable) liveAll(es []*flowEntry, gens []uint32, live []bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, e := range es {
		live[i] = e != nil && entryRef{e, gens[i]}.live()
	}
}

// drop unindexes e if it is still installed (and was not recycled since
// generation gen); it reports whether it was.
func (t *flowTable) drop(e *flowEntry, gen uint32) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !(entryRef{e, gen}).live() {
		return false
	}
	t.unindex(e)
	return true
}

// invalidate logs tags as invalidated and removes every flow carrying one
// of them, appending the removed entries to out.
func (t *flowTable) invalidate(out []*flowEntry, tags ...simulation.Tag) []*flowEntry {
	if len(tags) == 0 {
		return out
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tag := range tags {
		s := t.seq.Load() + 1
		t.log[s%invalLogSize] = tag
		t.seq.Store(s)
		ts := t.tags[tag]
		if ts == nil {
			continue
		}
		// Every entry in a set is installed. Unindexing one unlinks it
		// (each entry is in a set once), never the next one.
		for l := ts.head; l != nil; {
			next, e := l.next, l.e
			t.unindex(e)
			out = append(out, e)
			l = next
		}
	}
	return out
}

// routerDsts returns the router-dst tags of router whose address is inside
// p: the flows to invalidate when a route to p appears.
func (t *flowTable) routerDsts(router topology.ID, p netip.Prefix) []simulation.Tag {
	t.mu.Lock()
	defer t.mu.Unlock()
	var tags []simulation.Tag
	for a := range t.dsts[router] {
		if p.Contains(a) {
			tags = append(tags, simulation.TagRouterDst(router, a))
		}
	}
	return tags
}

// expireChunk is the most entries expire removes per call: it holds the
// table's lock for one chunk, not for a whole tick's worth of flows, so
// installing workers wait for at most a chunk.
const expireChunk = 256

// expire unindexes up to expireChunk flows whose deadline passed at now,
// oldest first per class, and appends them to out. The caller deletes them
// and calls again while it gets a full chunk.
func (t *flowTable) expire(now time.Time, out []*flowEntry) []*flowEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	// The entries, then their index slots and tag links, are read for the
	// whole chunk before each step uses them: each is usually a cache miss,
	// and misses that do not wait on one another overlap (see
	// ufidmap.Map.Touch).
	var sink uint32
	first, n := len(out), 0
	for c := range t.queues {
		q, h := t.queues[c], t.heads[c]
		for _, r := range q[h:min(len(q), h+expireChunk-n)] {
			sink ^= r.e.gen
		}
		for h < len(q) && n < expireChunk {
			r := q[h]
			if r.live() && r.e.deadline.After(now) {
				break
			}
			if r.live() {
				r.e.dead = true // dropped from the indexes below
				out = append(out, r.e)
				n++
			}
			q[h] = entryRef{}
			h++
		}
		if h > 1024 && h > len(q)/2 {
			q = append(q[:0], q[h:]...)
			h = 0
		}
		t.queues[c], t.heads[c] = q, h
	}
	for _, e := range out[first:] {
		sink ^= uint32(t.byUFID.Touch(&e.ufid))
		if len(e.links) > 0 && e.links[0].set != nil {
			sink++
		}
	}
	for _, e := range out[first:] {
		t.dropIndexes(e)
	}
	t.touched += sink
	return out
}

// all returns a copy of every installed entry (entries are recycled once
// removed), without actions.
func (t *flowTable) all() []flowEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]flowEntry, 0, t.byUFID.Len())
	for _, e := range t.byUFID.All() {
		c := *e
		c.actions, c.tags, c.links, c.learned = nil, slices.Clone(e.tags), nil, slices.Clone(e.learned)
		out = append(out, c)
	}
	return out
}
