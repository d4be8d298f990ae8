package zookeeper

import (
	"slices"
	"testing"
)

// subSet holds each sub once, yields them all, and says when the last one
// is removed, whichever order they come and go in.
func TestSubSet(t *testing.T) {
	a, b, c := &sub{path: "a"}, &sub{path: "b"}, &sub{path: "c"}
	var ss subSet
	members := func() []string {
		var out []string
		for s := range ss.all() {
			out = append(out, s.path)
		}
		slices.Sort(out)
		return out
	}
	ss.add(a)
	ss.add(b)
	ss.add(a)
	ss.add(c)
	if got := members(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("members %v", got)
	}
	if ss.remove(a) {
		t.Fatal("empty after removing a, with b and c in")
	}
	if got := members(); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("members after removing a: %v", got)
	}
	if ss.remove(a) || ss.remove(c) {
		t.Fatal("empty while b is in")
	}
	if !ss.remove(b) {
		t.Fatal("not empty after removing the last sub")
	}
	if got := members(); len(got) != 0 {
		t.Fatalf("members of an empty set: %v", got)
	}
}
