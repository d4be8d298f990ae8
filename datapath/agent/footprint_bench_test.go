package agent_test

import (
	"context"
	"net/netip"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/internal/benchcpu"
	"github.com/hivenet/hivenet/internal/proc"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
)

// BenchmarkAgentLoad100kPorts measures what an agent pays to load a
// 100,000-port deployment (largeTopologyN(10): 1,000 hosts, 8,000
// bridges with their security groups, 1,000 routers; 84 ports bound to
// the agent's host) from the NSDB: one op is New, then Run until Ready
// (the whole topology read and snapshotted, the local ports bound).
// load-s is the wall time per op, cpu-ns/op the process CPU time;
// agent-bytes is the heap and stacks the agent adds to the process after
// a GC; process-bytes the whole heap, the in-memory NSDB server holding
// the topology included (a ZooKeeper-backed agent's NSDB cache takes its
// place); rss-bytes the process's resident set then (Linux).
func BenchmarkAgentLoad100kPorts(b *testing.B) {
	ctx := context.Background()
	srv := memory.NewServer(memory.Config{})
	admin := srv.NewClient()
	defer admin.Close()
	topo := largeTopologyN(10)
	if n := len(topo.Ports); n != 100_000 {
		b.Fatalf("%d ports", n)
	}
	if err := loadBatched(ctx, admin.Store(), topo); err != nil {
		b.Fatal(err)
	}
	topo = nil
	debug.FreeOSMemory()
	var loadS, agentBytes, processBytes, rss float64
	b.ResetTimer()
	stop := benchcpu.Start(b)
	for range b.N {
		var before, after runtime.MemStats
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		start := time.Now()
		client := srv.NewClient()
		dp := inproc.New(inproc.Config{TunnelAddr: netip.MustParseAddr("127.0.0.1")})
		a, err := agent.New(agent.Config{Host: topology.NameID(topology.KindHost, "h0"), NSDB: client, Datapath: dp, DisableGRE: true, VXLANPort: 0})
		if err != nil {
			b.Fatal(err)
		}
		actx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { a.Run(actx); close(done) }()
		select {
		case <-a.Ready():
		case <-done:
			b.Fatal("agent stopped")
		}
		loadS += time.Since(start).Seconds()
		b.StopTimer()
		if n := a.Snapshot().Len(topology.KindPort); n != 100_000 {
			b.Fatalf("agent sees %d ports", n)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		agentBytes += float64(after.HeapAlloc+after.StackInuse) - float64(before.HeapAlloc+before.StackInuse)
		processBytes += float64(after.HeapAlloc + after.StackInuse)
		rss += float64(proc.SelfMemory("VmRSS"))
		cancel()
		<-done
		client.Close()
		dp.Close()
		b.StartTimer()
	}
	stop()
	n := float64(b.N)
	b.ReportMetric(loadS/n, "load-s")
	b.ReportMetric(agentBytes/n, "agent-bytes")
	b.ReportMetric(processBytes/n, "process-bytes")
	if rss > 0 {
		b.ReportMetric(rss/n, "rss-bytes")
	}
}
