package agent_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// onePIDDatapath behaves like Linux 6.1's openvswitch module (what
// datapath/kernel reports there): a port takes one upcall PID only.
type onePIDDatapath struct {
	*inproc.Datapath
}

func (d onePIDDatapath) CreatePort(ctx context.Context, spec datapath.PortSpec) (datapath.Port, error) {
	if len(spec.UpcallPIDs) > 1 {
		return datapath.Port{}, &datapath.OpError{Op: "vport set", Err: fmt.Errorf("%w: kernel takes one upcall PID per vport", datapath.ErrNotSupported)}
	}
	return d.Datapath.CreatePort(ctx, spec)
}

func (d onePIDDatapath) SetPortUpcallPIDs(ctx context.Context, n datapath.PortNumber, pids []uint32) error {
	if len(pids) > 1 {
		return &datapath.OpError{Op: "vport set", Err: datapath.ErrInvalid}
	}
	return d.Datapath.SetPortUpcallPIDs(ctx, n, pids)
}

// runAgent loads the topology file text into an embedded NSDB and runs an
// agent of host "h" on dp (with cfg's other settings) until the test
// ends; it returns the agent once it is ready.
func runAgent(t *testing.T, ctx context.Context, yaml string, dp datapath.Datapath, cfg agent.Config) (*agent.Agent, <-chan error) {
	t.Helper()
	topo, err := topofile.Load(strings.NewReader(yaml), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := memory.NewServer(memory.Config{})
	if _, err := srv.NewClient().Store().Commit(ctx, nsdb.PutAll(topo)...); err != nil {
		t.Fatal(err)
	}
	client := srv.NewClient()
	t.Cleanup(func() { client.Close() })
	cfg.Host, cfg.NSDB, cfg.Datapath, cfg.DisableGRE = topology.NameID(topology.KindHost, "h"), client, dp, true
	a, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done, finished := make(chan error, 1), make(chan struct{})
	go func() { done <- a.Run(ctx); close(finished) }()
	t.Cleanup(func() { cancel(); <-finished })
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	return a, done
}

// On a datapath that takes one upcall PID per port, the agent still binds
// every port (created or found at start), spreading them over its workers'
// sockets, and forwards traffic.
func TestOneUpcallPIDPerPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	in := inproc.New(inproc.Config{TunnelAddr: tunnelAddr()})
	defer in.Close()
	dp := onePIDDatapath{in}
	// tap3 is left from a previous agent: its PIDs are set, not created.
	if _, err := dp.CreatePort(ctx, datapath.PortSpec{Name: "tap3", Type: datapath.PortNetdev}); err != nil {
		t.Fatal(err)
	}
	ag, _ := runAgent(t, ctx, `
hosts: [{name: h}]
bridges:
  - name: net
    ports:
      - {name: vm1, host: h, interface: tap1}
      - {name: vm2, host: h, interface: tap2}
      - {name: vm3, host: h, interface: tap3}
      - {name: vm4, host: h, interface: tap4}
`, dp, agent.Config{Workers: 2})
	ports := map[string]datapath.PortNumber{}
	for _, name := range []string{"vm1", "vm2", "vm3", "vm4"} {
		n, ok := ag.LocalPort(topology.NameID(topology.KindPort, name))
		if !ok {
			t.Fatalf("%s is not bound", name)
		}
		ports[name] = n
	}
	pids := map[uint32]bool{}
	for name, n := range ports {
		p, err := dp.Port(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.UpcallPIDs) != 1 || p.UpcallPIDs[0] == 0 {
			t.Errorf("%s (%s) has upcall PIDs %v, want one socket", name, p.Name, p.UpcallPIDs)
			continue
		}
		pids[p.UpcallPIDs[0]] = true
	}
	if len(pids) != 2 {
		t.Errorf("the four ports use %d upcall sockets, want both workers' (2)", len(pids))
	}

	ep := func(name string) *inproc.Endpoint {
		e, err := in.Endpoint(ports[name])
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	var m packet.Match
	m.SetEthSrc(topology.MustParseMAC("02:00:00:00:00:01"))
	m.SetEthDst(topology.BroadcastMAC)
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(netip.MustParseAddr("10.0.0.1"))
	m.SetIPDst(netip.MustParseAddr("10.0.0.255"))
	m.SetIPProto(packet.ProtoUDP)
	m.SetIPTTL(64)
	m.SetSrcPort(1234)
	m.SetDstPort(53)
	frame, _ := packet.AppendFrame(nil, &m, nil)
	if err := ep("vm1").Send(frame); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vm2", "vm3", "vm4"} {
		if _, err := ep(name).Receive(ctx); err != nil {
			t.Errorf("%s did not receive the broadcast from vm1: %v", name, err)
		}
	}
}

// switchingDatapath stands for a kernel datapath that another program
// (ovs-dpctl) switched to per-CPU dispatch once.
type switchingDatapath struct {
	*inproc.Datapath
	calls    chan bool
	switched bool
}

func (d *switchingDatapath) KeepVportDispatch(context.Context) (bool, error) {
	restored := d.switched
	d.switched = false
	select {
	case d.calls <- restored:
	default:
	}
	return restored, nil
}

// The agent checks the datapath's upcall dispatch periodically (about
// once a second) and restores it.
func TestAgentKeepsVportDispatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	in := inproc.New(inproc.Config{TunnelAddr: tunnelAddr()})
	defer in.Close()
	dp := &switchingDatapath{Datapath: in, calls: make(chan bool, 16), switched: true}
	_, done := runAgent(t, ctx, "hosts: [{name: h}]\n", dp, agent.Config{Tick: 10 * time.Millisecond})
	var got []bool
	start := time.Now()
	for len(got) < 3 {
		select {
		case r := <-dp.calls:
			got = append(got, r)
		case err := <-done:
			t.Fatalf("Run: %v", err)
		case <-ctx.Done():
			t.Fatalf("KeepVportDispatch called %d times", len(got))
		}
	}
	if !got[0] || got[1] || got[2] {
		t.Errorf("KeepVportDispatch results %v, want [true false false]", got)
	}
	// Three calls at one per second of 10 ms ticks: about two seconds,
	// not three ticks.
	if el := time.Since(start); el < 1500*time.Millisecond {
		t.Errorf("three checks in %v: more often than once a second", el)
	}
}

// watchingDatapath reports datapath changes on demand (DispatchWatcher).
type watchingDatapath struct {
	*inproc.Datapath
	mu       sync.Mutex
	switched bool
	calls    chan bool
	changes  chan struct{}
}

func (d *watchingDatapath) KeepVportDispatch(context.Context) (bool, error) {
	d.mu.Lock()
	restored := d.switched
	d.switched = false
	d.mu.Unlock()
	d.calls <- restored
	return restored, nil
}

func (d *watchingDatapath) WatchChanges(ctx context.Context) (<-chan struct{}, error) {
	out := make(chan struct{})
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case <-d.changes:
				select {
				case out <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// A datapath that reports its changes has its dispatch restored at once,
// not at the next periodic check.
func TestAgentRestoresDispatchOnChange(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	in := inproc.New(inproc.Config{TunnelAddr: tunnelAddr()})
	defer in.Close()
	dp := &watchingDatapath{Datapath: in, calls: make(chan bool, 16), changes: make(chan struct{})}
	// Housekeeping ticks (and so the periodic check) never come.
	_, done := runAgent(t, ctx, "hosts: [{name: h}]\n", dp, agent.Config{Tick: time.Hour})
	dp.mu.Lock()
	dp.switched = true // another program switches the dispatch...
	dp.mu.Unlock()
	select {
	case dp.changes <- struct{}{}: // ...and the datapath says so
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-ctx.Done():
		t.Fatal("the agent does not watch the datapath's changes")
	}
	select {
	case restored := <-dp.calls:
		if !restored {
			t.Error("KeepVportDispatch after the change found nothing to restore")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the agent did not restore the dispatch after the change notification")
	}
}
