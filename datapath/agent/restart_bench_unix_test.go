//go:build unix

package agent_test

import (
	"context"

	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/localstore"
	"github.com/hivenet/hivenet/flowstate/storetest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// BenchmarkRestartToReady100k and BenchmarkRestartToReady1M measure an
// agent restart with that many connections in its local flow-state store
// (half on each of its two ports; each connection a conntrack key and its
// forward and reverse source-NAT entries, as saved): one op is New, Run
// until Ready — the datapath set up, the topology read, every connection
// restored into the tables and its NAT port reserved, the flows
// reconciled, the workers started. The previous agent's NSDB session is
// closed, as after a clean stop; its blocks are free. Besides the wall
// time it reports cpu-s/op, the process's CPU time (user and system) per
// restart, which a loaded machine does not inflate.
func BenchmarkRestartToReady100k(b *testing.B) { benchRestart(b, 100_000) }

// BenchmarkRestartToReady1M: see BenchmarkRestartToReady100k.
func BenchmarkRestartToReady1M(b *testing.B) { benchRestart(b, 1_000_000) }

func benchRestart(b *testing.B, conns int) {
	ctx := context.Background()
	topo, err := topofile.Load(strings.NewReader(benchTopology), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	srv := memory.NewServer(memory.Config{})
	admin := srv.NewClient()
	defer admin.Close()
	if _, err := admin.Store().Commit(ctx, nsdb.PutAll(topo)...); err != nil {
		b.Fatal(err)
	}
	host := topology.NameID(topology.KindHost, "h")
	ports := []topology.ID{topology.NameID(topology.KindPort, "vm1"), topology.NameID(topology.KindPort, "vm2")}
	router := topology.NameID(topology.KindRouter, "edge")
	dir := b.TempDir()
	st, err := localstore.Open(localstore.Config{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	m := &flowstate.Message{}
	for i := range conns {
		*m = *storetest.Message(host, ports[i%2], nil, router, i, 1)
		if err := st.Save(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	st.Close()
	dp := inproc.New(inproc.Config{})
	defer dp.Close()

	b.ReportAllocs()
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		client := srv.NewClient()
		st, err := localstore.Open(localstore.Config{Dir: dir, ExpireInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		a, err := agent.New(agent.Config{Host: host, NSDB: client, Datapath: dp, DisableGRE: true, Stateful: true,
			StateStore: st, NoStateTransfer: true})
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		start := time.Now()
		cpu0 := cpuTime()
		go func() { done <- a.Run(rctx) }()
		select {
		case <-a.Ready():
		case err := <-done:
			b.Fatal(err)
		}
		ready := time.Since(start)
		cpu += cpuTime() - cpu0
		b.StopTimer()
		l4 := a.FlowState().(*agent.L4)
		if n := l4.Conns().Len(); n != conns {
			b.Fatalf("restored %d connections, want %d", n, conns)
		}
		if i == 0 {
			b.Logf("%d connections: ready in %v (%d conntrack keys, %d NAT entries restored)", conns, ready.Round(time.Millisecond), l4.Conns().Len(), l4.NATs().Len())
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		client.Close()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(conns), "conns")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime returns the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
