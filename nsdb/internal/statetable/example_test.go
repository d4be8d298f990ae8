package statetable_test

import (
	"fmt"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/statetable"
	"github.com/hivenet/hivenet/topology"
)

// A backend keeps one View per table, changes it as entries come and go,
// and embeds a Handle in each handle it returns: Lookup reads the view.
func ExampleNewHandle() {
	view := statetable.NewView[topology.MAC, topology.ID]()
	h := statetable.NewHandle(view, statetable.MAC())
	var table nsdb.TableView[topology.MAC, topology.ID] = h

	mac := topology.MAC{2, 0, 0, 0, 0, 1}
	port, err := h.Check(mac, topology.NameID(topology.KindPort, "p1"))
	fmt.Println(err)
	view.Set(mac, port, true)
	_, ok := table.Lookup(mac)
	fmt.Println(ok)

	h.Shut()
	_, ok = table.Lookup(mac)
	fmt.Println(ok)
	// Output:
	// <nil>
	// true
	// false
}
