package agent_test

import (
	"context"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// TestTunnelKeysKeptInOneCommit: the agent keeps the tunnel keys of the
// ports it binds at start in the port objects, in one commit (both ports
// carry the same version).
func TestTunnelKeysKeptInOneCommit(t *testing.T) {
	ag, _, _, client := dhcpAgentOn(t, 1, dhcpTopology)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var vers []nsdb.Version
	for _, name := range []string{"vm1", "vm2"} {
		id := topology.NameID(topology.KindPort, name)
		key, ok := ag.TunnelKey(id)
		if !ok {
			t.Fatalf("%s has no tunnel key", name)
		}
		for {
			v, err := client.Store().Get(ctx, topology.KindPort, id)
			if err != nil {
				t.Fatal(err)
			}
			if v.Object.(*topology.Port).TunnelKey == key {
				vers = append(vers, v.Version)
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("%s's tunnel key %#x never kept in the NSDB", name, key)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if vers[0] != vers[1] {
		t.Errorf("the two ports' keys were kept at versions %d and %d: two commits, want one", vers[0], vers[1])
	}
}
