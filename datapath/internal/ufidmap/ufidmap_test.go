package ufidmap

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/hivenet/hivenet/datapath"
)

func ufid(n uint64) datapath.UFID {
	var u datapath.UFID
	binary.LittleEndian.PutUint64(u[:8], n)
	return u
}

// check compares m with the model and verifies the table's invariant:
// every entry is reachable from its home slot without crossing an empty
// slot.
func check(t *testing.T, m *Map[int], model map[datapath.UFID]*int) {
	t.Helper()
	if m.Len() != len(model) {
		t.Fatalf("Len %d, want %d", m.Len(), len(model))
	}
	for u, v := range model {
		if got := m.Get(u); got != v {
			t.Fatalf("Get(%x) = %p, want %p", u, got, v)
		}
	}
	n := 0
	for u, v := range m.All() {
		n++
		if model[u] != v {
			t.Fatalf("All yields %x -> %p, model has %p", u, v, model[u])
		}
	}
	if n != len(model) {
		t.Fatalf("All yields %d entries, want %d", n, len(model))
	}
	mask := len(m.slots) - 1
	for i, s := range m.slots {
		if s.v == nil {
			continue
		}
		for j := m.home(&s.k); j != i; j = (j + 1) & mask {
			if m.slots[j].v == nil {
				t.Fatalf("slot %d (home %d) unreachable: slot %d empty", i, m.home(&s.k), j)
			}
		}
	}
}

// TestMapModel applies random adds, sets and deletes, on a key space small
// enough for many collisions, and compares with a Go map after each step.
func TestMapModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var m Map[int]
	model := map[datapath.UFID]*int{}
	for step := range 20000 {
		u := ufid(r.Uint64N(300))
		v := new(int)
		*v = step
		switch op := r.IntN(10); {
		case op < 5:
			got, added := m.Add(u, v)
			if old, ok := model[u]; ok {
				if added || got != old {
					t.Fatalf("Add present %x: %p %v, want %p false", u, got, added, old)
				}
			} else {
				if !added || got != v {
					t.Fatalf("Add absent %x: %p %v", u, got, added)
				}
				model[u] = v
			}
		case op < 6:
			m.Set(u, v)
			model[u] = v
		default:
			got := m.Delete(u)
			if got != model[u] {
				t.Fatalf("Delete(%x) = %p, want %p", u, got, model[u])
			}
			delete(model, u)
		}
		if step%97 == 0 {
			check(t, &m, model)
		}
	}
	check(t, &m, model)
	for u := range model {
		m.Delete(u)
		delete(model, u)
	}
	check(t, &m, model)
	if len(m.slots) != minSlots {
		t.Errorf("%d slots once empty, want the table shrunk to %d", len(m.slots), minSlots)
	}
}

func TestMapZeroAndClear(t *testing.T) {
	var m Map[int]
	if m.Get(ufid(1)) != nil || m.Delete(ufid(1)) != nil || m.Len() != 0 {
		t.Fatal("zero Map not empty")
	}
	v := new(int)
	for i := range uint64(1000) {
		m.Add(ufid(i), v)
	}
	m.Clear()
	if m.Len() != 0 || m.Get(ufid(5)) != nil {
		t.Fatal("Clear left entries")
	}
	if _, added := m.Add(ufid(5), v); !added || m.Get(ufid(5)) != v {
		t.Fatal("Add after Clear")
	}
	defer func() {
		if recover() == nil {
			t.Error("Add of nil did not panic")
		}
	}()
	m.Add(ufid(6), nil)
}

// TestMapChurnAllocs: adding and deleting at constant size does not
// allocate (the flow tables' steady state).
func TestMapChurnAllocs(t *testing.T) {
	var m Map[int]
	v := new(int)
	for i := range uint64(1000) {
		m.Add(ufid(i), v)
	}
	next := uint64(0)
	n := testing.AllocsPerRun(10000, func() {
		m.Add(ufid(next+1000), v)
		m.Delete(ufid(next))
		next++
	})
	if n != 0 {
		t.Errorf("%v allocations per add and delete", n)
	}
}

func BenchmarkMapChurn(b *testing.B) {
	var m Map[int]
	v := new(int)
	const size = 100_000
	for i := range uint64(size) {
		m.Add(ufid(i*0x9e3779b97f4a7c15), v)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range uint64(b.N) {
		m.Add(ufid((i+size)*0x9e3779b97f4a7c15), v)
		m.Delete(ufid(i * 0x9e3779b97f4a7c15))
	}
}

func BenchmarkGoMapChurn(b *testing.B) {
	m := map[datapath.UFID]*int{}
	v := new(int)
	const size = 100_000
	for i := range uint64(size) {
		m[ufid(i*0x9e3779b97f4a7c15)] = v
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range uint64(b.N) {
		u := ufid((i + size) * 0x9e3779b97f4a7c15)
		if _, ok := m[u]; !ok {
			m[u] = v
		}
		delete(m, ufid(i*0x9e3779b97f4a7c15))
	}
}

// TestTouchChangesNothing: Touch reads, on an empty map too, and leaves
// every entry where it was.
func TestTouchChangesNothing(t *testing.T) {
	var m Map[int]
	u := ufid(1)
	if m.Touch(&u) != 0 {
		t.Fatal("Touch on an empty map returned a slot byte")
	}
	model := map[datapath.UFID]*int{}
	for i := range 100 {
		v := new(int)
		m.Add(ufid(uint64(i)), v)
		model[ufid(uint64(i))] = v
	}
	for i := range 200 {
		u := ufid(uint64(i))
		m.Touch(&u)
	}
	check(t, &m, model)
}
