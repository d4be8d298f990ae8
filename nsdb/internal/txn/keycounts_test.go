package txn

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hivenet/hivenet/topology"
)

// keyCounts behaves as the map of counts it replaces: random additions
// and removals over a few keys leave the same keys, and an entry that
// counts nothing is removed from its index.
func TestKeyCounts(t *testing.T) {
	keys := []Key{
		{topology.KindPort, topology.NameID(topology.KindPort, "a")},
		{topology.KindPort, topology.NameID(topology.KindPort, "b")},
		{topology.KindChain, topology.NameID(topology.KindChain, "c")},
	}
	r := rand.New(rand.NewPCG(1, 2))
	id := topology.NameID(topology.KindHost, "h")
	m := map[topology.ID]keyCounts{}
	want := map[Key]int{}
	for i := range 5000 {
		k, d := keys[r.IntN(len(keys))], r.IntN(5)-2
		bump(m, id, k, d)
		if want[k]+d <= 0 {
			delete(want, k)
		} else {
			want[k] += d
		}
		c, ok := m[id]
		if ok != (len(want) > 0) {
			t.Fatalf("step %d: entry present %v with %d keys counted", i, ok, len(want))
		}
		got := c.appendKeys(nil)
		var exp []Key
		for k := range want {
			exp = append(exp, k)
		}
		cmp := func(a, b Key) int { return slices.Compare(a.ID[:], b.ID[:]) }
		slices.SortFunc(got, cmp)
		slices.SortFunc(exp, cmp)
		if !slices.Equal(got, exp) || c.len() != len(exp) {
			t.Fatalf("step %d: keys %v (len %d), want %v", i, got, c.len(), exp)
		}
		for k, n := range want {
			if have := c.count(k); have != n {
				t.Fatalf("step %d: %v counted %d, want %d", i, k, have, n)
			}
		}
	}
}

// count returns k's count (a test helper).
func (c *keyCounts) count(k Key) int {
	if c.n > 0 && c.one == k {
		return c.n
	}
	return c.more[k]
}
