package agent

import (
	"net/netip"

	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// The flow table's index by tag: which installed flows carry each tag, so
// that invalidating a tag finds its flows without a scan.

// tagSet is the set of installed entries carrying a tag: a doubly linked
// list, in installation order, threaded through the entries' links, so
// that adding or removing a flow neither allocates nor copies a list.
type tagSet struct {
	head, tail *tagLink
	// gone: the set's last entry went and the set left the table's map.
	gone bool
}

// tagLink is an entry's place in the set of one of its tags.
type tagLink struct {
	set        *tagSet
	e          *flowEntry
	prev, next *tagLink
}

// link appends l, standing for e, to ts.
func (ts *tagSet) link(l *tagLink, e *flowEntry) {
	*l = tagLink{set: ts, e: e, prev: ts.tail}
	if ts.tail != nil {
		ts.tail.next = l
	} else {
		ts.head = l
	}
	ts.tail = l
}

// unlink removes l from its set and reports whether the set is empty.
func (l *tagLink) unlink() (empty bool) {
	ts := l.set
	if l.prev != nil {
		l.prev.next = l.next
	} else {
		ts.head = l.next
	}
	if l.next != nil {
		l.next.prev = l.prev
	} else {
		ts.tail = l.prev
	}
	*l = tagLink{}
	return ts.head == nil
}

// recentTags is how many of the last added flow's tags flowTable.recent
// remembers.
const recentTags = 8

// setOf returns the set of tag, the i-th tag of the flow being added,
// creating it if needed. Caller holds mu.
func (t *flowTable) setOf(i int, tag simulation.Tag) *tagSet {
	if i < recentTags {
		if r := &t.recent[i]; r.set != nil && !r.set.gone && r.tag == tag {
			return r.set
		}
	}
	ts := t.tags[tag]
	if ts == nil {
		ts = &tagSet{}
		t.tags[tag] = ts
		if tag.Kind() == simulation.TagKindRouterDst {
			m := t.dsts[tag.ID()]
			if m == nil {
				m = make(map[netip.Addr]int)
				t.dsts[tag.ID()] = m
			}
			m[tag.Addr()]++
		}
	}
	if i < recentTags {
		t.recent[i].tag, t.recent[i].set = tag, ts
	}
	return ts
}

// devicesInUse returns the devices of ids that some installed flow goes
// through (carries the device tag of), with one acquisition of the lock.
func (t *flowTable) devicesInUse(ids map[topology.ID]bool) map[topology.ID]bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	used := make(map[topology.ID]bool)
	for id := range ids {
		if _, ok := t.tags[simulation.TagDevice(id)]; ok {
			used[id] = true
		}
	}
	return used
}

// indexedTags removes, in place, repeated tags and the tags of kinds the
// agent never invalidates (port-rx: port changes invalidate the port's
// device tag; flow-state-device and meter: no trigger yet).
//
// It runs on every flow installed. Comparing two 48-byte tags whole calls
// the runtime's memory comparison; most pairs differ in kind, compared
// first (BenchmarkIndexedTags: 120 to 70 ns for a flow's 9 tags).
func indexedTags(tags []simulation.Tag) []simulation.Tag {
	n := 0
	for i := range tags {
		tag := &tags[i]
		k := tag.Kind()
		switch k {
		case simulation.TagKindPortRx, simulation.TagKindFlowStateDevice, simulation.TagKindMeter:
			continue
		}
		dup := false
		for j := range tags[:n] {
			if u := &tags[j]; u.Kind() == k && *u == *tag {
				dup = true
				break
			}
		}
		if !dup {
			if n != i {
				tags[n] = *tag
			}
			n++
		}
	}
	return tags[:n]
}
