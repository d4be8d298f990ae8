package sandbox_test

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// spoofEnv is the two-tenant cloud with flow state, its VMs, and the drop
// counters of its agents.
type spoofEnv struct {
	*sandbox.Env
	reg *prometheus.Registry
}

func startSpoofEnv(t *testing.T) *spoofEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	c, err := sandbox.Start(ctx, sandbox.Config{Topology: loadTopology(t, "two-tenant-cloud.yaml"), Logger: testLogger(),
		Stateful: true, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	e, err := sandbox.StartTwoTenantVMs(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	return &spoofEnv{Env: e, reg: reg}
}

// counter returns the value of the agent counter name on host with the
// label reason (empty: no such label).
func (e *spoofEnv) counter(t *testing.T, name, host, reason string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			want := map[string]string{"host": host}
			if reason != "" {
				want["reason"] = reason
			}
			for _, l := range m.GetLabel() {
				if v, ok := want[l.GetName()]; ok && v != l.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func (e *spoofEnv) drops(t *testing.T, host, reason string) float64 {
	return e.counter(t, "hivenet_agent_drops_total", host, reason)
}

// key returns the tunnel key the agent of port's host announced for it.
func (e *spoofEnv) key(t *testing.T, port string) uint32 {
	t.Helper()
	p, ok := e.Cluster.Port(port)
	if !ok {
		t.Fatalf("no port %s", port)
	}
	h, ok := e.Cluster.HostOf(p)
	if !ok {
		t.Fatalf("port %s is bound to no host of the cluster", port)
	}
	k, ok := h.Agent().TunnelKey(p.ID)
	if !ok {
		t.Fatalf("%s has no tunnel key for %s", h.Name, port)
	}
	return k
}

// udpFrame is a UDP datagram from vm1 to vm2 carrying payload, as host-a
// would tunnel it.
func udpFrame(t *testing.T, e *spoofEnv, payload string) []byte {
	t.Helper()
	vm1, vm2 := e.VMs["vm1"], e.VMs["vm2"]
	var m packet.Match
	m.SetEthSrc(vm1.MAC())
	m.SetEthDst(vm2.MAC())
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(vm1.Addr())
	m.SetIPDst(vm2.Addr())
	m.SetIPProto(packet.ProtoUDP)
	m.SetIPTTL(64)
	m.SetSrcPort(40000)
	m.SetDstPort(9)
	f, err := packet.AppendFrame(nil, &m, []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// sendVXLAN sends inner in a VXLAN datagram with key vni from src (any
// local address; an ephemeral port) to host's overlay port.
func sendVXLAN(t *testing.T, e *spoofEnv, src netip.Addr, host string, vni uint32, inner []byte) {
	t.Helper()
	dst := netip.AddrPortFrom(e.Cluster.Host(host).Underlay, e.Cluster.VXLANPort())
	c, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), net.UDPAddrFromAddrPort(dst))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(inproc.AppendVXLAN(nil, vni, inner)); err != nil {
		t.Fatal(err)
	}
}

// received counts vm's frames carrying payload.
func received(vm *sandbox.VM, payload string) int {
	return vm.Count(func(p *sandbox.Packet) bool { return bytes.HasSuffix(p.Frame, []byte(payload)) })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sandbox.Eventually(ctx, what, cond); err != nil {
		t.Fatal(err)
	}
}

// sourceDropFlow returns host's flow dropping everything src tunnels in.
func sourceDropFlow(h *sandbox.Host, src netip.Addr) (agent.FlowInfo, bool) {
	for _, f := range h.Agent().Flows(context.Background()) {
		if f.Key.Fields&datapath.KeyTunnel != 0 && f.Key.Tunnel.Src == src && f.Mask.Tunnel.ID == 0 &&
			f.Mask.Tunnel.Src.IsValid() && len(f.Actions) == 0 {
			return f, true
		}
	}
	return agent.FlowInfo{}, false
}

// TestSpoofedVXLANDropped sends raw VXLAN datagrams over loopback UDP to
// host-b's overlay port: from an address that is in no tunnel zone (with
// vm2's key, and a flow-state message), and from host-a's address with a
// key of host-a's own port and with a key nobody announced. Each is
// dropped and counted by its reason, nothing reaches vm2, and the
// datapath drops the non-member's next datagrams by itself; the same
// frame from host-a's address with vm2's key is delivered.
func TestSpoofedVXLANDropped(t *testing.T) {
	e := startSpoofEnv(t)
	vm2 := e.VMs["vm2"]
	hostB := e.Cluster.Host("host-b")
	memberA := e.Cluster.Host("host-a").Underlay
	intruder := netip.MustParseAddr("127.0.0.99")
	const notMember, notLocal, unknown = "tunnel-source-not-member", "tunnel-key-not-local", "unknown-tunnel-key"
	vm1Key, vm2Key := e.key(t, "vm1"), e.key(t, "vm2")

	// A non-member with vm2's key: dropped in userspace, then in the
	// datapath by a flow matching the source.
	sendVXLAN(t, e, intruder, "host-b", vm2Key, udpFrame(t, e, "spoof-1"))
	waitFor(t, "host-b counting the non-member's datagram", func() bool { return e.drops(t, "host-b", notMember) == 1 })
	var drop agent.FlowInfo
	waitFor(t, "host-b's flow dropping the non-member", func() bool {
		var ok bool
		drop, ok = sourceDropFlow(hostB, intruder)
		return ok
	})
	for range 5 {
		sendVXLAN(t, e, intruder, "host-b", vm2Key, udpFrame(t, e, "spoof-2"))
	}
	waitFor(t, "the datapath dropping the non-member's datagrams", func() bool {
		f, ok := sourceDropFlow(hostB, intruder)
		return ok && f.Stats.Packets >= drop.Stats.Packets+5
	})
	if n := e.drops(t, "host-b", notMember); n != 1 {
		t.Errorf("%v non-member datagrams came up to the agent; want 1 (the others dropped by the datapath)", n)
	}

	// A flow-state message from another non-member is not imported.
	received0 := e.counter(t, "hivenet_agent_flow_state_received_total", "host-b", "")
	forged, err := translate.AppendFlowStateFrame(nil, []byte("not a message"))
	if err != nil {
		t.Fatal(err)
	}
	sendVXLAN(t, e, netip.MustParseAddr("127.0.0.98"), "host-b", translate.FlowStateTunnelKey, forged)
	waitFor(t, "host-b refusing the forged flow-state message", func() bool { return e.drops(t, "host-b", notMember) == 2 })
	if n := e.counter(t, "hivenet_agent_flow_state_received_total", "host-b", ""); n != received0 {
		t.Errorf("host-b took a flow-state message from a non-member (%v received, %v before)", n, received0)
	}

	// A member with a key that is not host-b's.
	sendVXLAN(t, e, memberA, "host-b", vm1Key, udpFrame(t, e, "foreign-key"))
	waitFor(t, "host-b counting a key of host-a's port", func() bool { return e.drops(t, "host-b", notLocal) == 1 })
	sendVXLAN(t, e, memberA, "host-b", 0x0abcde, udpFrame(t, e, "unknown-key"))
	waitFor(t, "host-b counting a key nobody announced", func() bool { return e.drops(t, "host-b", unknown) == 1 })

	// The member with vm2's key is delivered.
	sendVXLAN(t, e, memberA, "host-b", vm2Key, udpFrame(t, e, "legit"))
	waitFor(t, "vm2 receiving host-a's datagram", func() bool { return received(vm2, "legit") == 1 })
	for _, p := range []string{"spoof-1", "spoof-2", "foreign-key", "unknown-key"} {
		if n := received(vm2, p); n != 0 {
			t.Errorf("vm2 received %d %q frames", n, p)
		}
	}
}

// TestSpoofAfterLeavingZone: host-b delivers what host-a's address tunnels
// in while host-a is in the tunnel zone; once host-a leaves the zone the
// flow that did it is invalidated and the same datagram is dropped as a
// non-member's; once it is back, delivered again.
func TestSpoofAfterLeavingZone(t *testing.T) {
	e := startSpoofEnv(t)
	vm2 := e.VMs["vm2"]
	memberA := e.Cluster.Host("host-a").Underlay
	vm2Key := e.key(t, "vm2")
	const notMember = "tunnel-source-not-member"

	sendVXLAN(t, e, memberA, "host-b", vm2Key, udpFrame(t, e, "member"))
	waitFor(t, "vm2 receiving host-a's datagram", func() bool { return received(vm2, "member") == 1 })

	zone := e.Cluster.Topology().TunnelZones[0]
	hostA := topology.NameID(topology.KindHost, "host-a")
	without := zone
	without.Members = nil
	for _, m := range zone.Members {
		if m.Host != hostA {
			without.Members = append(without.Members, m)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Cluster.Commit(ctx, nsdb.Put(&without)); err != nil {
		t.Fatal(err)
	}
	sendVXLAN(t, e, memberA, "host-b", vm2Key, udpFrame(t, e, "left"))
	waitFor(t, "host-b dropping host-a's datagram once host-a left the zone", func() bool { return e.drops(t, "host-b", notMember) == 1 })

	if err := e.Cluster.Commit(ctx, nsdb.Put(&zone)); err != nil {
		t.Fatal(err)
	}
	sendVXLAN(t, e, memberA, "host-b", vm2Key, udpFrame(t, e, "back"))
	waitFor(t, "vm2 receiving host-a's datagram once host-a is back", func() bool { return received(vm2, "back") == 1 })
	if n := received(vm2, "left"); n != 0 {
		t.Errorf("vm2 received %d frames host-a sent while out of the zone", n)
	}
}
