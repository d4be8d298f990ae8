package topology

import (
	"reflect"
	"slices"
	"testing"
)

// TestSnapshotAdoptsObjects: an adopted object is kept as is (no copy),
// and gives the snapshot the same content a Put of it gives.
func TestSnapshotAdoptsObjects(t *testing.T) {
	base := NewSnapshot(&Topology{Bridges: []Bridge{{ID: ID{2}}}})
	p := &Port{ID: ID{1}, Bridge: ID{2}, PortGroups: []ID{{3}}}
	adopted := base.Apply(Adopt(p))
	if got, _ := adopted.Port(ID{1}); got != p {
		t.Fatalf("Adopt copied the object: %p, want %p", got, p)
	}
	put := base.Apply(Put(p))
	if got, _ := put.Port(ID{1}); got == p {
		t.Fatal("Put kept the caller's object")
	}
	if !reflect.DeepEqual(adopted.Topology(), put.Topology()) {
		t.Fatalf("Adopt and Put give different topologies:\n%+v\n%+v", adopted.Topology(), put.Topology())
	}
	if g := adopted.PortGroupMembers(ID{3}); !slices.Equal(g, []ID{{1}}) {
		t.Fatalf("PortGroupMembers = %v", g)
	}
}
