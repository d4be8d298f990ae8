package nsdb_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
)

// A transaction creates a bridge and its port; a watch sees them; deleting
// the bridge cascades to the port.
func Example() {
	ctx := context.Background()
	srv := memory.NewServer(memory.Config{})
	c := srv.NewClient()
	defer c.Close()

	b := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "tenant"), Name: "tenant"}
	p := &topology.Port{ID: topology.NameID(topology.KindPort, "vm1"), Name: "vm1", Bridge: b.ID}
	if _, err := c.Store().Commit(ctx, nsdb.Create(b), nsdb.Create(p)); err != nil {
		fmt.Println(err)
		return
	}

	w, err := c.Store().WatchKinds(ctx, topology.KindPort)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close()
	initial, _ := w.Next(ctx)
	fmt.Println("initial:", initial[0].Object.ObjectName())

	if _, err := c.Store().Commit(ctx, nsdb.Delete(topology.KindBridge, b.ID, nsdb.AnyVersion)); err != nil {
		fmt.Println(err)
		return
	}
	changes, _ := w.Next(ctx)
	fmt.Println("port deleted:", changes[0].Deleted())
	// Output:
	// initial: vm1
	// port deleted: true
}

// Invalid writes write nothing and list every problem.
func ExampleWriter_Commit_invalid() {
	ctx := context.Background()
	c := memory.NewServer(memory.Config{}).NewClient()
	defer c.Close()

	orphan := &topology.Port{ID: topology.NameID(topology.KindPort, "orphan"), Name: "orphan",
		Bridge: topology.NameID(topology.KindBridge, "nowhere")}
	_, err := c.Store().Commit(ctx, nsdb.Create(orphan))
	var ve *topology.ValidationError
	fmt.Println(errors.Is(err, nsdb.ErrInvalid), errors.Is(err, topology.ErrDangling), errors.As(err, &ve) && len(ve.Problems) == 1)
	// Output: true true true
}
