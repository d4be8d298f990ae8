package scale

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/internal/topogen"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology"
)

// Footprint is one agent's cost with a topology of a given size loaded.
type Footprint struct {
	Ports, Routers, Bridges, Chains, Rules, Routes, Hosts int
	// Bound is the number of ports bound to the measured host.
	Bound int
	// Snapshot is the time to build a topology.Snapshot of the whole
	// topology in the harness (no I/O).
	Snapshot time.Duration
	// Write is the time the harness took to write the topology to
	// ZooKeeper; Commits the number of transactions.
	Write   time.Duration
	Commits int
	// Ready is the time from agent.Run to Ready: reading the whole
	// topology from ZooKeeper (its snapshot, then the change log since),
	// building the world, binding the ports.
	Ready time.Duration `json:"ready"`
	// ReadyLog and NSDBBytesLog are Ready and NSDBBytes of an agent
	// started before the snapshot was written: it replays the whole
	// change log, a read per commit. SnapshotWrite is the time the
	// snapshot took to write.
	ReadyLog      time.Duration `json:"ready_log"`
	NSDBBytesLog  int64         `json:"nsdb_bytes_log"`
	SnapshotWrite time.Duration `json:"snapshot_write"`
	// Memory is the agent process's after a full collection, once ready;
	// Settled the same at the end of the idle window, when the start's
	// transient memory is gone (the NSDB client's planner indexes,
	// dropped after zookeeper.Config.PlanIndexIdle without commits).
	Memory  memory `json:"memory"`
	Settled memory `json:"settled"`
	// NSDBBytes is what the agent read from ZooKeeper until ready;
	// NSDBBytesUp what it sent.
	NSDBBytes   int64 `json:"nsdb_bytes"`
	NSDBBytesUp int64 `json:"nsdb_bytes_up"`
	// Tables is the number of state tables the agent follows once ready:
	// those of the devices its bound ports reach directly.
	Tables int `json:"tables"`
	// IdleCPU is the CPU the idle agent used, in cores, over IdleFor.
	IdleCPU float64       `json:"idle_cpu"`
	IdleFor time.Duration `json:"idle_for"`
	// IdleBytes is what the idle agent read from ZooKeeper per second.
	IdleBytes float64 `json:"idle_bytes"`
}

// measureFootprint writes a generated topology of about ports ports under
// a fresh root of ens and measures, in a child process, the agent of host
// h0.
func measureFootprint(ctx context.Context, ens *Ensemble, root string, ports int, idle time.Duration) (Footprint, error) {
	t := topogen.Generate(ports)
	var fp Footprint
	fp.Ports, fp.Routers, fp.Bridges, fp.Chains, fp.Routes, fp.Hosts = len(t.Ports), len(t.Routers), len(t.Bridges), len(t.Chains), len(t.Routes), len(t.Hosts)
	h0 := topology.NameID(topology.KindHost, "h0")
	for i := range t.Chains {
		fp.Rules += len(t.Chains[i].Rules)
	}
	for i := range t.Ports {
		if t.Ports[i].Host == h0 {
			fp.Bound++
		}
	}
	start := time.Now()
	_ = topology.NewSnapshot(t)
	fp.Snapshot = time.Since(start)
	admin, err := zkClient(ctx, ens.Servers, root)
	if err != nil {
		return fp, err
	}
	defer admin.Close()
	start = time.Now()
	fp.Commits, err = topogen.Load(ctx, admin.Store(), t, 500)
	fp.Write = time.Since(start)
	if err != nil {
		return fp, fmt.Errorf("loading %d ports: %w", fp.Ports, err)
	}
	var child Footprint
	if err := runChild(ctx, job{Kind: "footprint", Servers: ens.Servers, Root: root, Host: "h0", Ports: fp.Ports, Idle: time.Millisecond}, &child); err != nil {
		return fp, err
	}
	fp.ReadyLog, fp.NSDBBytesLog = child.Ready, child.NSDBBytes
	// What the cluster's snapshots service does once a bulk load is over.
	start = time.Now()
	if _, err := admin.(*zookeeper.Client).WriteSnapshot(ctx); err != nil {
		return fp, fmt.Errorf("snapshot of %d ports: %w", fp.Ports, err)
	}
	fp.SnapshotWrite = time.Since(start)
	child = Footprint{}
	if err := runChild(ctx, job{Kind: "footprint", Servers: ens.Servers, Root: root, Host: "h0", Ports: fp.Ports, Idle: idle}, &child); err != nil {
		return fp, err
	}
	fp.Ready, fp.Memory, fp.NSDBBytes, fp.NSDBBytesUp = child.Ready, child.Memory, child.NSDBBytes, child.NSDBBytesUp
	fp.Tables, fp.Settled = child.Tables, child.Settled
	fp.IdleCPU, fp.IdleFor, fp.IdleBytes = child.IdleCPU, child.IdleFor, child.IdleBytes
	return fp, nil
}

// runningAgent is an agent of a child process on an in-process datapath,
// its NSDB session going through a byte counter.
type runningAgent struct {
	a     *agent.Agent
	dp    *inproc.Datapath
	cnt   *counter
	ready time.Duration
	stop  func()
}

// startAgent starts the agent of host under root, with connection
// tracking and NAT if stateful, and waits until it is ready.
// queue is the capacity of each in-process port's receive queue and of the
// upcall queues (0: the datapath's defaults).
func startAgent(ctx context.Context, servers, root, host string, stateful bool, queue int) (*runningAgent, error) {
	cnt, addrs, err := newCounter(servers)
	if err != nil {
		return nil, err
	}
	client, err := agentClient(ctx, addrs, root)
	if err != nil {
		cnt.Close()
		return nil, err
	}
	vx, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	vtep, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	dp := inproc.New(inproc.Config{Name: host, UpcallQueue: queue, EndpointQueue: queue})
	a, err := agent.New(agent.Config{Host: topology.NameID(topology.KindHost, host), NSDB: client, Datapath: dp,
		DisableGRE: true, VXLANPort: vx, VTEPPort: vtep, Stateful: stateful})
	if err != nil {
		return nil, err
	}
	actx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- a.Run(actx) }()
	ra := &runningAgent{a: a, dp: dp, cnt: cnt}
	ra.stop = func() {
		cancel()
		<-done
		client.Close()
		dp.Close()
		cnt.Close()
	}
	select {
	case <-a.Ready():
		ra.ready = time.Since(start)
		return ra, nil
	case err := <-done:
		ra.stop()
		return nil, fmt.Errorf("agent %s stopped: %w", host, err)
	case <-ctx.Done():
		ra.stop()
		return nil, ctx.Err()
	}
}

func freeUDPPort() (uint16, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0)))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
}

// footprintChild runs j's agent, checks it sees the whole topology and
// measures it ready, then idle.
func footprintChild(ctx context.Context, j job) (Footprint, error) {
	ra, err := startAgent(ctx, j.Servers, j.Root, j.Host, false, 0)
	if err != nil {
		return Footprint{}, err
	}
	defer ra.stop()
	if n := ra.a.Snapshot().Len(topology.KindPort); n != j.Ports {
		return Footprint{}, fmt.Errorf("the agent sees %d ports of %d once ready", n, j.Ports)
	}
	fp := Footprint{Ready: ra.ready, NSDBBytes: ra.cnt.down.Load(), NSDBBytesUp: ra.cnt.up.Load(), Tables: ra.a.StateTables()}
	fp.Memory = measureMemory()
	// Let the start's background work (announcements, table loads) end.
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
		return fp, ctx.Err()
	}
	b0, c0, t0 := ra.cnt.down.Load(), cpuTime(), time.Now()
	select {
	case <-time.After(j.Idle): // the measurement window
	case <-ctx.Done():
		return fp, ctx.Err()
	}
	el := time.Since(t0)
	fp.IdleFor = el
	fp.IdleCPU = (cpuTime() - c0).Seconds() / el.Seconds()
	fp.IdleBytes = float64(ra.cnt.down.Load()-b0) / el.Seconds()
	fp.Settled = measureMemory()
	return fp, nil
}
