package memory_test

import (
	"context"
	"fmt"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
)

// Two agents share one database; when one agent's session expires, what it
// learned and announced disappears for the other.
func ExampleServer_ExpireSession() {
	ctx := context.Background()
	srv := memory.NewServer(memory.Config{})
	agent, observer := srv.NewClient(), srv.NewClient()
	defer agent.Close()
	defer observer.Close()

	hostID := topology.NameID(topology.KindHost, "host-1")
	bridgeID := topology.NameID(topology.KindBridge, "tenant")
	mac := topology.MAC{0x02, 0, 0, 0, 0, 1}

	agent.StateKeys().Set(ctx, nsdb.KeyHostAlive(), hostID, "1")
	macs, _ := agent.Tables().MACTable(ctx, bridgeID, 0)
	macs.Add(ctx, mac, topology.NameID(topology.KindPort, "vm1"))

	view, _ := observer.Tables().MACTable(ctx, bridgeID, 0)
	alive, _ := observer.StateKeys().Get(ctx, nsdb.KeyHostAlive(), hostID)
	_, known := view.Lookup(mac)
	fmt.Println("before:", len(alive), known)

	old, _ := agent.Session(ctx)
	srv.ExpireSession(agent)
	<-old.Done()

	alive, _ = observer.StateKeys().Get(ctx, nsdb.KeyHostAlive(), hostID)
	_, known = view.Lookup(mac)
	fmt.Println("after:", len(alive), known, old.Err())
	// Output:
	// before: 1 true
	// after: 0 false nsdb: session expired
}
