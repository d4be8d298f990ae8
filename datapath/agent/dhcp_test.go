package agent_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/simulation/dhcp"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

const dhcpTopology = `
hosts: [{name: h}]
bridges:
  - name: net
    ports:
      - {name: vm1, host: h, interface: tap1}
      - {name: vm2, host: h, interface: tap2}
    dhcp:
      - subnet: 10.0.0.0/24
        server-addr: 10.0.0.2
        gateway: 10.0.0.1
        dns-servers: [10.0.0.2]
        routes: [{dst: 169.254.169.254/32, gateway: 10.0.0.2}]
        hosts: [{mac: "02:00:00:00:00:01", addr: 10.0.0.11, name: vm1}]
`

// dhcpAgent runs one agent with one worker (so that upcalls are handled
// in order) on an in-process datapath, with a 1400-byte underlay.
func dhcpAgent(t testing.TB, workers int) (*agent.Agent, *inproc.Datapath, *prometheus.Registry) {
	a, dp, reg, _ := dhcpAgentOn(t, workers, dhcpTopology)
	return a, dp, reg
}

// dhcpAgentOn is dhcpAgent on the topology yaml; it also returns the
// NSDB client the agent uses.
func dhcpAgentOn(t testing.TB, workers int, yaml string) (*agent.Agent, *inproc.Datapath, *prometheus.Registry, nsdb.Client) {
	t.Helper()
	return agentOnWith(t, workers, yaml, nil)
}

// agentOnWith is dhcpAgentOn with adjust, if not nil, applied to the
// agent's configuration first.
func agentOnWith(t testing.TB, workers int, yaml string, adjust func(*agent.Config)) (*agent.Agent, *inproc.Datapath, *prometheus.Registry, nsdb.Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	topo, err := topofile.Load(strings.NewReader(yaml), "dhcp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := memory.NewServer(memory.Config{})
	if _, err := srv.NewClient().Store().Commit(ctx, nsdb.PutAll(topo)...); err != nil {
		t.Fatal(err)
	}
	client := srv.NewClient()
	t.Cleanup(func() { client.Close() })
	dp := inproc.New(inproc.Config{})
	t.Cleanup(func() { dp.Close() })
	reg := prometheus.NewRegistry()
	// A free overlay port, so that tests of other packages running at the
	// same time do not collide on the default one.
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	vxlan := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	pc.Close()
	cfg := agent.Config{
		Host: topology.NameID(topology.KindHost, "h"), NSDB: client, Datapath: dp, DisableGRE: true,
		Workers: workers, UnderlayMTU: 1400, Registerer: reg, VXLANPort: vxlan,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	ag, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- ag.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	select {
	case <-ag.Ready():
	case err := <-errc:
		t.Fatal(err)
	}
	return ag, dp, reg, client
}

func endpointOf(t testing.TB, ag *agent.Agent, dp *inproc.Datapath, port string) *inproc.Endpoint {
	t.Helper()
	n, ok := ag.LocalPort(topology.NameID(topology.KindPort, port))
	if !ok {
		t.Fatalf("port %s not bound", port)
	}
	ep, err := dp.Endpoint(n)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// receiveDHCP waits for a DHCP server message on ep.
func receiveDHCP(t *testing.T, ep *inproc.Endpoint) (*dhcp.Message, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := ep.Receive(ctx)
	if err != nil {
		t.Fatalf("no DHCP reply: %v", err)
	}
	p, err := dhcp.ServerPayload(f)
	if err != nil {
		t.Fatalf("received a frame that is not a DHCP reply (%v): % x", err, f)
	}
	var m dhcp.Message
	if err := m.Decode(p); err != nil {
		t.Fatal(err)
	}
	return &m, f
}

func metricValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
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
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					if c := m.GetCounter(); c != nil {
						return c.GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
			if label == "" {
				if c := m.GetCounter(); c != nil {
					return c.GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// The agent answers a VM's DHCP exchange from the ingress port, before
// any simulation: the reply reaches the client only, even though a flood
// flow for the client's broadcasts is installed; the offered MTU is the
// tunnel MTU (1400-byte underlay less 50); a VM without a host entry gets
// no answer and its request is simulated (flooded) like any packet.
func TestAgentAnswersDHCP(t *testing.T) {
	ag, dp, reg := dhcpAgent(t, 1)
	vm1, vm2 := endpointOf(t, ag, dp, "vm1"), endpointOf(t, ag, dp, "vm2")
	mac1 := topology.MustParseMAC("02:00:00:00:00:01")
	mac2 := topology.MustParseMAC("02:00:00:00:00:02")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if got := ag.TunnelMTU(); got != 1350 {
		t.Errorf("TunnelMTU %d, want 1400-50", got)
	}
	if got := metricValue(t, reg, "hivenet_agent_tunnel_mtu", "", ""); got != 1350 {
		t.Errorf("hivenet_agent_tunnel_mtu %v, want 1350", got)
	}

	// An ARP broadcast from vm1 installs a flood flow from its port.
	arp, err := packet.AppendARPRequest(nil, packet.VLAN{}, mac1, netip.MustParseAddr("10.0.0.11"), netip.MustParseAddr("10.0.0.99"))
	if err != nil {
		t.Fatal(err)
	}
	if err := vm1.Send(arp); err != nil {
		t.Fatal(err)
	}
	if f, err := vm2.Receive(ctx); err != nil || len(f) < 14 || f[12] != 0x08 || f[13] != 0x06 {
		t.Fatalf("vm2 did not get vm1's ARP broadcast: %v", err)
	}

	send := func(ep *inproc.Endpoint, c dhcp.ClientMessage) {
		t.Helper()
		if err := ep.Send(dhcp.AppendClientFrame(nil, &c)); err != nil {
			t.Fatal(err)
		}
	}
	send(vm1, dhcp.ClientMessage{Type: dhcp.Discover, MAC: mac1, XID: 1, Params: []byte{1, 3, 6, 26, 121}})
	offer, frame := receiveDHCP(t, vm1)
	if offer.Type != dhcp.Offer || offer.XID != 1 || offer.YIAddr != netip.MustParseAddr("10.0.0.11") {
		t.Fatalf("vm1 got %v xid %d yiaddr %v, want an offer of 10.0.0.11 for xid 1", offer.Type, offer.XID, offer.YIAddr)
	}
	if [6]byte(frame[0:6]) != mac1 || topology.MAC(frame[6:12]) != dhcp.DefaultServerMAC {
		t.Errorf("offer sent %x -> %x", frame[6:12], frame[0:6])
	}
	if v, _ := offer.Option(dhcp.OptInterfaceMTU); len(v) != 2 || int(v[0])<<8|int(v[1]) != 1350 {
		t.Errorf("offered MTU %v, want 1350", v)
	}
	send(vm1, dhcp.ClientMessage{Type: dhcp.Request, MAC: mac1, XID: 2, RequestedIP: offer.YIAddr, ServerID: netip.MustParseAddr("10.0.0.2")})
	if ack, _ := receiveDHCP(t, vm1); ack.Type != dhcp.Ack || ack.XID != 2 {
		t.Fatalf("vm1 got %v xid %d, want an ack for xid 2", ack.Type, ack.XID)
	}

	// vm2 has no host entry: its DISCOVER is simulated, so flooded to vm1.
	send(vm2, dhcp.ClientMessage{Type: dhcp.Discover, MAC: mac2, XID: 3})
	f, err := vm1.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := dhcp.ClientPayload(f)
	var m dhcp.Message
	if err != nil || m.Decode(p) != nil || m.XID != 3 {
		t.Fatalf("vm1 got % x, want vm2's flooded DISCOVER", f)
	}
	// Nothing of vm1's exchange reached vm2: the next frame vm2 gets is a
	// marker vm1 sends now (one worker handles upcalls in order).
	marker := udpBetween(t, mac1, topology.MustParseMAC("ff:ff:ff:ff:ff:ff"), 4000)
	if err := vm1.Send(marker); err != nil {
		t.Fatal(err)
	}
	if f, err := vm2.Receive(ctx); err != nil || len(f) != len(marker) || f[14+20+1] != 0xa0 {
		t.Fatalf("vm2's first frame after the ARP: % x (%v), want the marker: vm1's DHCP exchange leaked", f, err)
	}
	for _, fl := range ag.Flows(ctx) {
		if s := fl.Key.String(); strings.Contains(s, "dst=67") {
			t.Errorf("a flow for DHCP requests was installed: %s", s)
		}
	}
	for typ, want := range map[string]float64{"offer": 1, "ack": 1} {
		if got := metricValue(t, reg, "hivenet_agent_dhcp_replies_total", "type", typ); got != want {
			t.Errorf("hivenet_agent_dhcp_replies_total{type=%s} = %v, want %v", typ, got, want)
		}
	}
	if got := metricValue(t, reg, "hivenet_agent_dhcp_unanswered_total", "reason", "unknown-host"); got != 1 {
		t.Errorf("unanswered{unknown-host} = %v, want 1", got)
	}
}

// A DHCP subnet added to a bridge invalidates the flows of its ports: a
// flood flow installed for vm1's IPv4 broadcasts before did not match the
// UDP ports, and would have flooded vm1's DISCOVER.
func TestDHCPSubnetAddedInvalidatesBridgeFlows(t *testing.T) {
	yaml := dhcpTopology[:strings.Index(dhcpTopology, "    dhcp:")]
	ag, dp, _, client := dhcpAgentOn(t, 1, yaml)
	vm1, vm2 := endpointOf(t, ag, dp, "vm1"), endpointOf(t, ag, dp, "vm2")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mac1 := topology.MustParseMAC("02:00:00:00:00:01")
	bcast := topology.MustParseMAC("ff:ff:ff:ff:ff:ff")
	if err := vm1.Send(udpBetween(t, mac1, bcast, 4000)); err != nil {
		t.Fatal(err)
	}
	if _, err := vm2.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	flowsBefore := ag.Flows(ctx)
	if len(flowsBefore) != 1 || flowsBefore[0].Mask.Fields&datapath.KeyUDP != 0 {
		t.Fatalf("before DHCP: flows %v, want one flood flow not matching UDP ports", flowsBefore)
	}
	full, err := topofile.Load(strings.NewReader(dhcpTopology), "dhcp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	v, err := client.Store().Commit(ctx, nsdb.Put(&full.DHCPSubnets[0]))
	if err != nil {
		t.Fatal(err)
	}
	for ag.AppliedRevision() < v {
		select {
		case <-ctx.Done():
			t.Fatal("the agent never applied the DHCP subnet")
		case <-time.After(10 * time.Millisecond): // polling a condition
		}
	}
	if fl := ag.Flows(ctx); len(fl) != 0 {
		t.Errorf("flows left after the bridge got DHCP: %v", fl)
	}
	c := dhcp.ClientMessage{Type: dhcp.Discover, MAC: mac1, XID: 5}
	if err := vm1.Send(dhcp.AppendClientFrame(nil, &c)); err != nil {
		t.Fatal(err)
	}
	if offer, _ := receiveDHCP(t, vm1); offer.Type != dhcp.Offer || offer.XID != 5 {
		t.Fatalf("vm1 got %v for xid %d, want an offer", offer.Type, offer.XID)
	}
}

// BenchmarkDHCPReplies measures DHCP replies per second through a whole
// agent on the in-process datapath (2 workers): DISCOVER upcalls
// answered with OFFERs executed to the client's port, a window of 256 in
// flight.
func BenchmarkDHCPReplies(b *testing.B) {
	ag, dp, _ := dhcpAgent(b, 2)
	vm1 := endpointOf(b, ag, dp, "vm1")
	frame := dhcp.AppendClientFrame(nil, &dhcp.ClientMessage{Type: dhcp.Discover, MAC: topology.MustParseMAC("02:00:00:00:00:01"), XID: 9})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var received atomic.Int64
	go func() {
		for {
			if _, err := vm1.Receive(ctx); err != nil {
				return
			}
			received.Add(1)
		}
	}()
	const window = 256
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		for int64(i)-received.Load() >= window {
			time.Sleep(20 * time.Microsecond)
		}
		if err := vm1.Send(frame); err != nil {
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
		b.Fatalf("%d replies to %d DISCOVERs", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "replies/s")
}

// udpBetween is a UDP datagram from src to dst with source port sport.
func udpBetween(t *testing.T, src, dst topology.MAC, sport uint16) []byte {
	t.Helper()
	var m packet.Match
	m.SetEthSrc(src)
	m.SetEthDst(dst)
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(netip.MustParseAddr("10.0.0.11"))
	m.SetIPDst(netip.MustParseAddr("10.0.0.255"))
	m.SetIPProto(packet.ProtoUDP)
	m.SetIPTTL(64)
	m.SetSrcPort(sport)
	m.SetDstPort(9)
	f, err := packet.AppendFrame(nil, &m, []byte("marker"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}
