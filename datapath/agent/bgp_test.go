package agent_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/internal/birdtest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// gatewaysYAML is a provider router with one uplink port on each of two
// gateway hosts, each peering with its own upstream router (BIRD). The
// uplink addresses are loopback addresses, so that the agents' in-process
// speakers reach BIRD without a datapath.
const gatewaysYAML = `
hosts:
  - name: compute
  - name: gw1
  - name: gw2
tunnel-zones:
  - name: underlay
    type: vxlan
    members: {compute: 192.168.100.11, gw1: 192.168.100.12, gw2: 192.168.100.13}
bridges:
  - name: net
    ports:
      - {name: vm1, host: compute, interface: tap-vm1}
      - {name: net-gw, peer: provider-net}
routers:
  - name: provider
    as-number: 64512
    ports:
      - {name: uplink1, host: gw1, interface: eth1, address: 127.0.43.3/24}
      - {name: uplink2, host: gw2, interface: eth1, address: 127.0.44.3/24}
      - {name: provider-net, address: 10.0.0.1/24}
    bgp-peers:
      - {addr: 127.0.43.2, as-number: 65001, keep-alive: 1, hold-time: 3, connect-retry: 1}
      - {addr: 127.0.44.2, as-number: 65001, keep-alive: 1, hold-time: 3, connect-retry: 1}
    bgp-networks:
      - {subnet: 203.0.113.0/24}
`

// TestAgentBGPGatewaysBIRD runs three agents (compute, gw1, gw2) on a
// memory NSDB; gw1's and gw2's uplinks peer with two real BIRDs. The
// sessions establish, each BIRD learns the floating range, every agent's
// provider router learns BIRD's routes through both uplinks (ECMP), the
// status is written to the NSDB; stopping gw1's agent ends its session:
// its learned routes vanish from the other agents and BIRD withdraws the
// path.
func TestAgentBGPGatewaysBIRD(t *testing.T) {
	topo, err := topofile.Load(strings.NewReader(gatewaysYAML), "gateways.yaml")
	if err != nil {
		t.Fatal(err)
	}
	upstream := netip.MustParsePrefix("198.51.100.0/24")
	floating := netip.MustParsePrefix("203.0.113.0/24")
	birds := map[string]*birdtest.Daemon{}
	for name, n := range map[string]byte{"gw1": 43, "gw2": 44} {
		a := netip.AddrFrom4([4]byte{127, 0, n, 2})
		birds[name] = birdtest.Start(t, birdtest.Config{
			RouterID: a, ASN: 65001, Local: a, LocalPort: 1179,
			Static: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), upstream},
			Neighbors: []birdtest.Neighbor{{Name: "hive", Addr: netip.AddrFrom4([4]byte{127, 0, n, 3}), ASN: 64512,
				Port: 1790, Multihop: true}},
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	c, err := sandbox.Start(ctx, sandbox.Config{Topology: topo, Registerer: reg, Agent: func(_ string, cfg *agent.Config) {
		cfg.BGP = agent.BGPConfig{ListenPort: 1790, PeerPort: 1179, StatusInterval: 500 * time.Millisecond}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	up1, _ := c.Port("uplink1")
	up2, _ := c.Port("uplink2")
	compute := c.Host("compute").Agent()

	t0 := time.Now()
	waitFor(t, 30*time.Second, "compute learns both gateways' routes", func() (bool, string) {
		lr := compute.LearnedRoutes()
		return len(lr[up1.ID]) == 2 && len(lr[up2.ID]) == 2, fmt.Sprint(lr)
	})
	t.Logf("sessions up and routes learned by the compute agent in %v", time.Since(t0).Round(time.Millisecond))
	for name, d := range birds {
		waitFor(t, 10*time.Second, name+"'s BIRD learns the floating range", func() (bool, string) {
			hops, err := d.Paths(floating)
			return len(hops) == 1, fmt.Sprint(hops, err)
		})
	}
	// ECMP: the provider router has two equal routes to the upstream prefix.
	ecmp := func() []netip.Addr {
		var gws []netip.Addr
		for _, rs := range compute.LearnedRoutes() {
			for _, r := range rs {
				if r.Dst == upstream && r.Weight == agent.LearnedRouteWeight && r.NextHop == topology.NextHopPort {
					gws = append(gws, r.Gateway)
				}
			}
		}
		slices.SortFunc(gws, netip.Addr.Compare)
		return gws
	}
	if got := ecmp(); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("127.0.43.2"), netip.MustParseAddr("127.0.44.2")}) {
		t.Fatalf("routes to %s via %v, want both upstreams", upstream, got)
	}
	// The VM's packet to the upstream is routed by the learned routes.
	vm1, _ := c.Port("vm1")
	rp, _ := c.Port("provider-net")
	if got := routeStep(t, compute, vm1.ID, rp.MAC); !strings.Contains(got, "gateway 127.0.4") || !strings.Contains(got, "(ECMP, 1 of 2)") {
		t.Fatalf("route step %q, want one of two learned routes", got)
	}
	waitFor(t, 10*time.Second, "status of uplink1", func() (bool, string) {
		st, err := bgpStatus(ctx, c.Client(), up1.ID)
		ok := err == nil && st.Running && len(st.Peers) == 1 && st.Peers[0].State == "established" &&
			st.Peers[0].Received == 2 && st.Peers[0].Sent == 1
		return ok, fmt.Sprintf("%+v %v", st, err)
	})
	// The same, per peer, in the agent's metrics.
	waitFor(t, 10*time.Second, "gw1's BGP metrics", func() (bool, string) {
		est := peerGauge(t, reg, "hivenet_agent_bgp_peer_established", "uplink1", "127.0.43.2")
		recv := peerGauge(t, reg, "hivenet_agent_bgp_peer_prefixes_received", "uplink1", "127.0.43.2")
		return est == 1 && recv == 2, fmt.Sprintf("established %v, received %v", est, recv)
	})

	// gw1's agent stops: its session ends, its routes vanish everywhere,
	// BIRD loses the session (the speaker closes it) and the path.
	t1 := time.Now()
	if err := c.StopAgent("gw1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "gw1's routes vanish from the compute agent", func() (bool, string) {
		got := ecmp()
		return len(got) == 1 && got[0] == netip.MustParseAddr("127.0.44.2"), fmt.Sprint(got)
	})
	t.Logf("gw1's learned routes gone from the compute agent %v after its agent stopped", time.Since(t1).Round(time.Millisecond))
	if got := routeStep(t, compute, vm1.ID, rp.MAC); !strings.Contains(got, "via port uplink2 gateway 127.0.44.2") || strings.Contains(got, "ECMP") {
		t.Fatalf("route step after gw1 stopped: %q", got)
	}
	waitFor(t, 10*time.Second, "gw1's BIRD withdraws the floating range", func() (bool, string) {
		hops, err := birds["gw1"].Paths(floating)
		return len(hops) == 0 && err == nil, fmt.Sprint(hops, err)
	})
	t.Logf("gw1's BIRD without the path %v after the agent stopped", time.Since(t1).Round(time.Millisecond))
	if st, _ := birds["gw2"].State("hive"); st != "Established" {
		t.Fatalf("gw2's session: %s", st)
	}
}

// routeStep traces a UDP packet from port (10.0.0.11) to 198.51.100.7
// and returns the provider router's route step.
func routeStep(t *testing.T, a *agent.Agent, port topology.ID, routerMAC topology.MAC) string {
	t.Helper()
	var m packet.Match
	m.SetEthSrc(topology.MustParseMAC("fa:16:3e:00:00:11"))
	m.SetEthDst(routerMAC)
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(netip.MustParseAddr("10.0.0.11"))
	m.SetIPDst(netip.MustParseAddr("198.51.100.7"))
	m.SetIPProto(packet.ProtoUDP)
	m.SetIPTTL(64)
	m.SetSrcPort(40000)
	m.SetDstPort(53)
	f, err := packet.AppendFrame(nil, &m, []byte("q"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := a.Trace(context.Background(), port, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tr.Steps {
		if s.Kind == "route" {
			return s.Text
		}
	}
	t.Fatalf("no route step in %+v", tr.Steps)
	return ""
}

func bgpStatus(ctx context.Context, c nsdb.Client, port topology.ID) (nsdb.BGPStatus, error) {
	vs, err := c.StateKeys().Get(ctx, nsdb.KeyPortBGPStatus(), port)
	if err != nil || len(vs) == 0 {
		return nsdb.BGPStatus{}, fmt.Errorf("no status: %v", err)
	}
	return nsdb.ParseBGPStatus(vs[0].Value)
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s: %s", d, what, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// peerGauge returns the value of gauge name for port and peer, or -1.
func peerGauge(t *testing.T, reg *prometheus.Registry, name, port, peer string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var p, q string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "port":
					p = l.GetValue()
				case "peer":
					q = l.GetValue()
				}
			}
			if p == port && q == peer {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}
