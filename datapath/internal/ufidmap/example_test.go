package ufidmap_test

import (
	"fmt"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/internal/ufidmap"
)

func ExampleMap() {
	type flow struct{ name string }
	var m ufidmap.Map[flow]
	u := datapath.UFID{1}
	if _, added := m.Add(u, &flow{"first"}); added {
		fmt.Println("added")
	}
	if cur, added := m.Add(u, &flow{"second"}); !added {
		fmt.Println("already there:", cur.name)
	}
	fmt.Println(m.Delete(u).name, m.Len())
	// Output:
	// added
	// already there: first
	// first 0
}
