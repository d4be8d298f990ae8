package agent

import (
	"slices"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

func statusEvent(id topology.ID, value string) nsdb.KeyEvent {
	ev := nsdb.KeyEvent{Spec: nsdb.KeyPoolMemberStatus(), ID: id}
	if value != "" {
		ev.Values = []nsdb.KeyValue{{Value: value, Owner: 1}}
	}
	return ev
}

// A member is up only while its status says ACTIVE; apply reports the
// members whose verdict changed, and nothing else.
func TestMemberHealthApply(t *testing.T) {
	a, b := topology.NameID(topology.KindPoolMember, "a"), topology.NameID(topology.KindPoolMember, "b")
	h := newMemberHealth()
	if h.MemberUp(a) {
		t.Fatal("a member without status is up")
	}
	steps := []struct {
		evs     []nsdb.KeyEvent
		changed []topology.ID
		a, b    bool
	}{
		{[]nsdb.KeyEvent{statusEvent(a, nsdb.MemberStatusActive), statusEvent(b, nsdb.MemberStatusInactive)}, []topology.ID{a}, true, false},
		{[]nsdb.KeyEvent{statusEvent(a, nsdb.MemberStatusActive)}, nil, true, false},
		{[]nsdb.KeyEvent{statusEvent(b, nsdb.MemberStatusActive), statusEvent(a, "")}, []topology.ID{b, a}, false, true},
		{[]nsdb.KeyEvent{statusEvent(b, "unexpected")}, []topology.ID{b}, false, false},
	}
	for i, s := range steps {
		if got := h.apply(s.evs); !slices.Equal(got, s.changed) {
			t.Errorf("step %d: changed %v, want %v", i, got, s.changed)
		}
		if h.MemberUp(a) != s.a || h.MemberUp(b) != s.b {
			t.Errorf("step %d: up a=%v b=%v, want %v %v", i, h.MemberUp(a), h.MemberUp(b), s.a, s.b)
		}
	}
}

// MemberUp is read by the load balancer on the per-packet path: it does
// not allocate.
func TestMemberUpAllocs(t *testing.T) {
	a := topology.NameID(topology.KindPoolMember, "a")
	h := newMemberHealth()
	h.apply([]nsdb.KeyEvent{statusEvent(a, nsdb.MemberStatusActive)})
	if n := testing.AllocsPerRun(100, func() { _ = h.MemberUp(a) }); n != 0 {
		t.Errorf("MemberUp: %v allocations, want 0", n)
	}
}

func BenchmarkMemberUp(b *testing.B) {
	h := newMemberHealth()
	var evs []nsdb.KeyEvent
	for i := range 1000 {
		evs = append(evs, statusEvent(topology.NameID(topology.KindPoolMember, string(rune('a'+i%26))+string(rune(i))), nsdb.MemberStatusActive))
	}
	h.apply(evs)
	id := evs[500].ID
	b.ReportAllocs()
	for b.Loop() {
		if !h.MemberUp(id) {
			b.Fatal("down")
		}
	}
}
