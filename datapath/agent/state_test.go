package agent

import (
	"context"
	"net/netip"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// The simulation's view of the agent's state is on the per-packet path: it
// does not allocate.
func TestStateViewAllocs(t *testing.T) {
	src, dst := netip.MustParseAddr("192.168.0.1"), netip.MustParseAddr("192.168.0.2")
	srv := memory.NewServer(memory.Config{})
	c := srv.NewClient()
	defer c.Close()
	ctx := context.Background()
	mt, _ := c.Tables().MACTable(ctx, bridge, 0)
	arp, _ := c.Tables().ARPTable(ctx, router)
	mt.Add(ctx, macA, portA)
	w := emptyWorld()
	w.macs[bridgeVLAN{bridge, 0}] = mt
	w.arp[router] = arp
	w.local[portA] = 3
	v := view{w: w, active: &activeMap{m: map[topology.ID]nsdb.PortState{portC: {Host: portB, TunnelKey: 5}}}, self: portA}
	w.routes[portB] = hostRoute{src: src, dst: dst, port: 1}
	var ent simulation.ARPEntry
	n := testing.AllocsPerRun(100, func() {
		v.MACPort(bridge, 0, macA)
		v.ARPEntry(router, ipA, &ent)
		v.IP4MAC(bridge, ipA)
		v.PortActive(portC)
		v.Locate(portA)
		v.Locate(portC)
	})
	if n != 0 {
		t.Errorf("state view: %v allocs", n)
	}
	if l, ok := v.Locate(portC); !ok || l.Tunnel.Key != 5 || l.Tunnel.Dst != dst {
		t.Errorf("Locate(remote) = %+v %v", l, ok)
	}
}
