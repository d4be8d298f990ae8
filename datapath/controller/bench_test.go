package controller_test

import (
	"context"
	"encoding/binary"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/controller"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// benchTopology: two VMs on a bridge; vm2's security group examines both
// UDP ports, so that every port pair is its own megaflow.
const benchTopology = `
hosts: [{name: h}]
bridges:
  - name: net
    ports:
      - {name: vm1, host: h, interface: tap1}
      - {name: vm2, host: h, interface: tap2, outbound-filter: acl}
chains:
  - name: acl
    rules:
      - {action: drop, nw-proto: udp, tp-src: 1-1023}
      - {action: drop, nw-proto: udp, tp-dst: 1-1023}
      - {action: accept}
`

var (
	benchMAC1 = topology.MustParseMAC("02:00:00:00:00:01")
	benchMAC2 = topology.MustParseMAC("02:00:00:00:00:02")
)

type benchAgent struct {
	agent    *controller.Agent
	dp       *inproc.Datapath
	vm1, vm2 *inproc.Endpoint
	stop     func()
}

func startBenchAgent(tb testing.TB, workers int, normal time.Duration) *benchAgent {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	topo, err := topofile.Load(strings.NewReader(benchTopology), "bench.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	srv := memory.NewServer(memory.Config{})
	admin := srv.NewClient()
	if _, err := admin.Store().Commit(ctx, nsdb.PutAll(topo)...); err != nil {
		tb.Fatal(err)
	}
	net := topology.NameID(topology.KindBridge, "net")
	mt, err := admin.Tables().MACTable(ctx, net, 0)
	if err != nil {
		tb.Fatal(err)
	}
	mt.AddPersistent(ctx, benchMAC1, topology.NameID(topology.KindPort, "vm1"))
	mt.AddPersistent(ctx, benchMAC2, topology.NameID(topology.KindPort, "vm2"))
	client := srv.NewClient()
	dp := inproc.New(inproc.Config{UpcallQueue: 1 << 16, EndpointQueue: 1 << 16})
	a, err := controller.New(controller.Config{
		Host: topology.NameID(topology.KindHost, "h"), NSDB: client, Datapath: dp, DisableGRE: true,
		Workers:  workers,
		Timeouts: controller.Timeouts{Normal: normal},
	})
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	<-a.Ready()
	ep := func(name string) *inproc.Endpoint {
		n, ok := a.LocalPort(topology.NameID(topology.KindPort, name))
		if !ok {
			tb.Fatalf("%s not bound", name)
		}
		e, err := dp.Endpoint(n)
		if err != nil {
			tb.Fatal(err)
		}
		return e
	}
	b := &benchAgent{agent: a, dp: dp, vm1: ep("vm1"), vm2: ep("vm2")}
	b.stop = func() {
		cancel()
		<-done
		client.Close()
		admin.Close()
		dp.Close()
	}
	return b
}

// udpTemplate returns a UDP frame vm1 -> vm2 and the offsets of its ports.
func udpTemplate(tb testing.TB) (frame []byte, sport int) {
	var m packet.Match
	m.SetEthSrc(benchMAC1)
	m.SetEthDst(benchMAC2)
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(netip.MustParseAddr("10.0.0.1"))
	m.SetIPDst(netip.MustParseAddr("10.0.0.2"))
	m.SetIPProto(packet.ProtoUDP)
	m.SetIPTTL(64)
	m.SetSrcPort(1)
	m.SetDstPort(2)
	f, err := packet.AppendFrame(nil, &m, make([]byte, 18))
	if err != nil {
		tb.Fatal(err)
	}
	binary.BigEndian.PutUint16(f[14+20+6:], 0) // no UDP checksum
	return f, 14 + 20
}

// BenchmarkFlowSetup measures new-flow setup through the whole agent on the
// in-process datapath: each packet has a new port pair, so it misses the
// megaflow table, goes up to a worker, is simulated (bridge, security
// group), translated, installed as a megaflow and executed to vm2. flows/s
// counts the packets delivered per second with a new flow each.
func BenchmarkFlowSetup(b *testing.B) {
	// Flows expire after a second, so that the flow table reaches a steady
	// state as in an agent under constant load (the reference caps it at
	// max_flow_count): the rate includes expiring the old flows.
	ba := startBenchAgent(b, 2, time.Second)
	defer ba.stop()
	frame, l4 := udpTemplate(b)
	var received atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			if _, err := ba.vm2.Receive(ctx); err != nil {
				return
			}
			received.Add(1)
		}
	}()
	const window = 4096
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		for int64(i)-received.Load() >= window {
			time.Sleep(20 * time.Microsecond)
		}
		binary.BigEndian.PutUint16(frame[l4:], uint16(1024+i%60000))
		binary.BigEndian.PutUint16(frame[l4+2:], uint16(1024+(i/60000)%60000))
		if err := ba.vm1.Send(frame); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for received.Load() < int64(b.N) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if got := received.Load(); got < int64(b.N) {
		b.Fatalf("vm2 received %d of %d packets", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "flows/s")
	if n := ba.agent.Installed(); n < uint64(b.N)*99/100 {
		b.Fatalf("%d flows installed for %d packets", n, b.N)
	}
}
