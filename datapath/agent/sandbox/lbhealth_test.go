package sandbox_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/cluster/lbhealth"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// lbTopology: a client on h1 reaches, through router edge's load balancer,
// three web servers on web-net (web1 on h1, web2 and web3 on h2), whose
// status a TCP health monitor sets. VIP .80 is plain, VIP .81 sticky.
// Port edge-hm (on h2) is where overlay probes come from.
const lbTopology = `
hosts: [{name: h1}, {name: h2}]
tunnel-zones:
  - {name: tz, type: vxlan, members: {h1: 192.168.100.11, h2: 192.168.100.12}}
bridges:
  - name: client-net
    ports:
      - {name: client, host: h1, interface: tap-client}
      - {name: client-net-gw, peer: edge-clients}
  - name: web-net
    ports:
      - {name: web1, host: h1, interface: tap-web1}
      - {name: web2, host: h2, interface: tap-web2}
      - {name: web3, host: h2, interface: tap-web3}
      - {name: web-net-gw, peer: edge-web}
routers:
  - name: edge
    load-balancer: web-lb
    ports:
      - {name: edge-clients, address: 10.9.0.1/24}
      - {name: edge-web, address: 10.0.0.1/24}
      - {name: edge-hm, address: 169.254.1.1/30, host: h2, interface: tap-hm}
load-balancers:
  - name: web-lb
    pools:
      - name: web-pool
        health-monitor: tcp-check
        members:
          - {addr: 10.0.0.11, port: 80, status: monitored}
          - {addr: 10.0.0.12, port: 80, status: monitored}
          - {addr: 10.0.0.13, port: 80, status: monitored}
        vips:
          - {addr: 203.0.113.80, port: 80}
          - {addr: 203.0.113.81, port: 80, persistence: source-ip}
health-monitors:
  - {name: tcp-check, delay: 1, timeout: 1, max-retries: 2}
`

// listener is a real TCP server on loopback standing for a web server's
// service: the health monitor probes it; the web VM answers the overlay's
// SYNs.
type listener struct {
	addr netip.AddrPort
	ln   net.Listener
}

func listen(t *testing.T, addr string) *listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	l := &listener{addr: netip.MustParseAddrPort(ln.Addr().String()), ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return l
}

// lbEnv is the running lbTopology: the client and web VMs (listening on
// port 80) and the pool members' IDs, by web server.
type lbEnv struct {
	c       *sandbox.Cluster
	client  *sandbox.VM
	webs    []*sandbox.VM
	members []topology.ID
}

func startLB(t *testing.T) *lbEnv {
	t.Helper()
	topo, err := topofile.Load(strings.NewReader(lbTopology), "lb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := &lbEnv{c: startCluster(t, topo, true), webs: make([]*sandbox.VM, 3), members: make([]topology.ID, 3)}
	e.client = startVM(t, e.c, "client", "02:00:00:09:00:10", "10.9.0.10/24", "10.9.0.1")
	for i := range e.webs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		vm, err := e.c.StartVM(ctx, "web"+string(rune('1'+i)), sandbox.VMConfig{
			MAC:  topology.MAC{2, 0, 0, 0, 0, byte(0x11 + i)},
			Addr: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(11 + i)}), 24), Gateway: netip.MustParseAddr("10.0.0.1"),
			TCPListen: []uint16{80},
		})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		e.webs[i] = vm
		for _, pm := range topo.PoolMembers {
			if pm.Addr == vm.Addr() {
				e.members[i] = pm.ID
			}
		}
	}
	return e
}

// startMonitor runs the health monitors on a cluster node sharing the
// sandbox's NSDB, with prober.
func startMonitor(t *testing.T, c *sandbox.Cluster, prober lbhealth.Prober) {
	t.Helper()
	mon, err := lbhealth.New(lbhealth.Config{NSDB: c.Client(), Prober: prober})
	if err != nil {
		t.Fatal(err)
	}
	node, err := cluster.New(cluster.Config{Name: "node-1", NSDB: c.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.AddPerEntity(mon, nsdb.KeyHealthMonitorOwner()); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
}

// agentsSee waits until every agent sees each member as up[i] says.
func (e *lbEnv) agentsSee(ctx context.Context, t *testing.T, up [3]bool) {
	t.Helper()
	if err := sandbox.Eventually(ctx, "agents following the health monitor", func() bool {
		for _, h := range e.c.Hosts() {
			for i, m := range e.members {
				if h.Agent().MemberHealth().MemberUp(m) != up[i] {
					return false
				}
			}
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
}

var vipPlain, vipSticky = netip.MustParseAddr("203.0.113.80"), netip.MustParseAddr("203.0.113.81")

// connect sends a SYN from the client to vip from sport, waits for the
// SYN-ACK and returns the web server that got the SYN.
func (e *lbEnv) connect(ctx context.Context, t *testing.T, vip netip.Addr, sport uint16) int {
	t.Helper()
	// A VM's NIC takes only frames addressed to its MAC: until the web
	// servers' bridge learns where a server's MAC is, it floods frames to
	// it, so every server sees the first SYNs.
	syns := func(w *sandbox.VM) int {
		return w.Count(func(p *sandbox.Packet) bool {
			v := p.View()
			return len(p.Frame) >= 6 && topology.MAC(p.Frame[:6]) == w.MAC() &&
				v.IPProto() == packet.ProtoTCP && v.IPSrc() == e.client.Addr() && v.SrcPort() == sport && v.TCPFlags() == 0x02
		})
	}
	var before [3]int
	for i, w := range e.webs {
		before[i] = syns(w)
	}
	r, err := e.client.SendTCP(ctx, vip, sport, 80, 0x02, true)
	if err != nil {
		t.Fatalf("connection from port %d to %s: %v", sport, vip, err)
	}
	if v := r.View(); v.IPSrc() != vip || v.TCPFlags()&0x12 != 0x12 {
		t.Fatalf("connection from port %d: answer %v", sport, r)
	}
	got := -1
	for i, w := range e.webs {
		n := syns(w) - before[i]
		if n > 0 && got >= 0 {
			t.Fatalf("connection from port %d reached web%d and web%d", sport, got+1, i+1)
		}
		if n > 0 {
			got = i
		}
	}
	if got < 0 {
		t.Fatalf("connection from port %d answered but no web server got its SYN", sport)
	}
	return got
}

// spread opens n plain connections from sports base.. and counts them per
// server.
func (e *lbEnv) spread(ctx context.Context, t *testing.T, base uint16, n int) (per [3]int, sports [3][]uint16) {
	t.Helper()
	for p := base; p < base+uint16(n); p++ {
		i := e.connect(ctx, t, vipPlain, p)
		per[i]++
		sports[i] = append(sports[i], p)
	}
	return per, sports
}

// The health monitor's verdicts steer the agents' load balancer: a web
// server that stops listening is marked down, and from then on no new
// connection reaches it — plain connections go to the others, an existing
// plain connection to it is re-balanced at its next packet, and the
// sticky client moves to another server and stays there when the server
// comes back, while new plain connections reach it again. The monitor
// probes real TCP listeners on loopback standing for the web servers'
// services.
func TestHealthMonitorSteersConnections(t *testing.T) {
	e := startLB(t)
	lns := []*listener{listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")}
	startMonitor(t, e.c, &lbhealth.TCPProber{
		Resolve: func(t lbhealth.Target) netip.AddrPort { return lns[int(t.Addr.Addr().As4()[3])-11].addr },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	e.agentsSee(ctx, t, [3]bool{true, true, true})
	per, sports := e.spread(ctx, t, 10000, 36)
	t.Logf("all up: %v connections per server", per)
	for i, n := range per {
		if n == 0 {
			t.Fatalf("web%d got none of 36 connections while up", i+1)
		}
	}
	down := e.connect(ctx, t, vipSticky, 20000)
	if again := e.connect(ctx, t, vipSticky, 20001); again != down {
		t.Fatalf("sticky client went to web%d, then web%d", down+1, again+1)
	}

	// The sticky client's server stops listening.
	lns[down].ln.Close()
	want := [3]bool{true, true, true}
	want[down] = false
	e.agentsSee(ctx, t, want)
	per, _ = e.spread(ctx, t, 11000, 36)
	t.Logf("web%d down: %v connections per server", down+1, per)
	if per[down] != 0 {
		t.Errorf("web%d, marked down, got %d new connections", down+1, per[down])
	}
	// An existing plain connection to it is re-balanced.
	if i := e.connect(ctx, t, vipPlain, sports[down][0]); i == down {
		t.Errorf("the existing connection from port %d stayed on web%d, marked down", sports[down][0], down+1)
	}
	moved := e.connect(ctx, t, vipSticky, 20002)
	if moved == down {
		t.Fatalf("sticky client still sent to web%d, marked down", down+1)
	}

	// It listens again.
	lns[down] = listen(t, lns[down].addr.String())
	e.agentsSee(ctx, t, [3]bool{true, true, true})
	per, _ = e.spread(ctx, t, 12000, 36)
	t.Logf("web%d back: %v connections per server", down+1, per)
	if per[down] == 0 {
		t.Errorf("web%d, back up, got none of 36 new connections", down+1)
	}
	if i := e.connect(ctx, t, vipSticky, 20003); i != moved {
		t.Errorf("sticky client moved from web%d to web%d although web%d stayed up", moved+1, i+1, moved+1)
	}
}

// Probes through the overlay, as the reference's: the monitor's prober is
// a VM on the router's port edge-hm (169.254.1.2/30, on h2), whose SYNs the
// agents route to the web servers — web1 across the VXLAN tunnel to h1.
// A web server whose service stops is marked down within delay × retries
// + timeout (its SYNs go unanswered: each probe times out) and gets no new
// connection; it is marked up when its service is back.
func TestHealthProbesThroughOverlay(t *testing.T) {
	e := startLB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	probeVM, err := e.c.StartVM(pctx, "edge-hm", sandbox.VMConfig{MAC: topology.MAC{2, 0, 0, 0, 0xfe, 2},
		Addr: netip.MustParsePrefix("169.254.1.2/30"), Gateway: netip.MustParseAddr("169.254.1.1")})
	pcancel()
	if err != nil {
		t.Fatal(err)
	}
	startMonitor(t, e.c, &sandbox.Prober{VM: probeVM})
	e.agentsSee(ctx, t, [3]bool{true, true, true})
	for i, w := range e.webs {
		n := w.Count(func(p *sandbox.Packet) bool {
			v := p.View()
			return v.IPProto() == packet.ProtoTCP && v.IPSrc() == probeVM.Addr() && v.DstPort() == 80 && v.TCPFlags() == 0x02
		})
		if n == 0 {
			t.Errorf("web%d got no probe from %s", i+1, probeVM.Addr())
		}
	}

	stop := time.Now()
	e.webs[0].SetTCPListen()
	e.agentsSee(ctx, t, [3]bool{false, true, true})
	t.Logf("web1 seen down by every agent %v after its service stopped (delay × retries + timeout = 3s)", time.Since(stop).Round(time.Millisecond))
	per, _ := e.spread(ctx, t, 13000, 24)
	if per[0] != 0 {
		t.Errorf("web1, marked down, got %d new connections", per[0])
	}
	e.webs[0].SetTCPListen(80)
	e.agentsSee(ctx, t, [3]bool{true, true, true})
	if per, _ := e.spread(ctx, t, 14000, 36); per[0] == 0 {
		t.Errorf("web1, back up, got none of 36 new connections")
	}
}
