package agent_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/internal/birdtest"
	"github.com/hivenet/hivenet/topology/topofile"
)

// BenchmarkLearnedRoutes10kBIRD measures how long 10,000 prefixes
// announced by a real BIRD take to reach the routers of the other agents:
// from the start of the agents (gw1's speaker connects at once) until the
// compute agent's snapshot holds all of them ("s/10k-routes"). gw2's peer
// has no BIRD here.
func BenchmarkLearnedRoutes10kBIRD(b *testing.B) {
	const n = 10000
	static := make([]netip.Prefix, n)
	for i := range static {
		a := netip.AddrFrom4([4]byte{172, byte(16 + i>>8), byte(i), 0})
		static[i] = netip.PrefixFrom(a, 24)
	}
	bird := netip.MustParseAddr("127.0.43.2")
	topo, err := topofile.Load(strings.NewReader(gatewaysYAML), "gateways.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var total time.Duration
	for range b.N {
		b.StopTimer()
		d := birdtest.Start(b, birdtest.Config{RouterID: bird, ASN: 65001, Local: bird, LocalPort: 1179, Static: static,
			Neighbors: []birdtest.Neighbor{{Name: "hive", Addr: netip.MustParseAddr("127.0.43.3"), ASN: 64512, Port: 1790, Multihop: true}}})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		b.StartTimer()
		t0 := time.Now()
		c, err := sandbox.Start(ctx, sandbox.Config{Topology: topo, Hosts: []string{"compute", "gw1"}, Agent: func(_ string, cfg *agent.Config) {
			cfg.BGP = agent.BGPConfig{ListenPort: 1790, PeerPort: 1179}
		}})
		if err != nil {
			b.Fatal(err)
		}
		up1, _ := c.Port("uplink1")
		compute := c.Host("compute").Agent()
		var first time.Duration
		for len(compute.LearnedRoutes()[up1.ID]) < n {
			if first == 0 && len(compute.LearnedRoutes()[up1.ID]) > 0 {
				first = time.Since(t0)
			}
			if ctx.Err() != nil {
				b.Fatalf("%d of %d routes learned", len(compute.LearnedRoutes()[up1.ID]), n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		total += time.Since(t0)
		b.Logf("first learned route after %v, all %d after %v", first, n, time.Since(t0))
		b.StopTimer()
		c.Close()
		cancel()
		d.Kill()
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/10k-routes")
}
