package topogen_test

import (
	"context"
	"fmt"

	"github.com/hivenet/hivenet/internal/topogen"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
)

// A 1,000-port deployment written to an in-memory NSDB in batches of 500
// objects.
func Example() {
	t := topogen.Generate(1000)
	srv := memory.NewServer(memory.Config{})
	c := srv.NewClient()
	defer c.Close()
	commits, err := topogen.Load(context.Background(), c.Store(), t, 500)
	if err != nil {
		fmt.Println(err)
		return
	}
	ports, err := c.Store().List(context.Background(), topology.KindPort)
	fmt.Println(len(t.Hosts), "hosts,", len(t.Routers), "routers,", len(ports), "ports stored in", commits, "commits", err)
	// Output: 10 hosts, 10 routers, 1000 ports stored in 3 commits <nil>
}
