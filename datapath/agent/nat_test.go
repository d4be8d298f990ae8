package agent_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// TestTCPAcrossTenantsOneAgent is the regression test of a TCP handshake
// between the two tenants of examples/topologies/two-tenant-cloud.yaml,
// with every VM on one host so that one agent simulates both directions
// and no flow state is replicated. vm3 (tenant B) connects to vm2 (tenant
// A) on port 22: tenant-b source-NATs the SYN to 203.0.113.17. vm2's
// SYN-ACK is a return flow; it must cross tenant-a untranslated and be
// reverse-NATed by tenant-b back to vm3's own address and port. With a
// dynamic SNAT rule that also matched return flows, tenant-a source-NATed
// the SYN-ACK to 203.0.113.10, tenant-b's reverse-SNAT lookup missed, and
// the packet looped between tenant-b and the provider router until the
// simulation gave up (an error drop, a short drop flow).
func TestTCPAcrossTenantsOneAgent(t *testing.T) {
	topo, err := topofile.LoadFile("../../examples/topologies/two-tenant-cloud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	hostA := topology.NameID(topology.KindHost, "host-a")
	for i := range topo.Ports {
		if !topo.Ports[i].Host.IsZero() {
			topo.Ports[i].Host = hostA
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sandbox.Start(ctx, sandbox.Config{Topology: topo, Hosts: []string{"host-a"}, Stateful: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	vm2, err := c.StartVM(ctx, "vm2", sandbox.TwoTenantVMs["vm2"])
	if err != nil {
		t.Fatal(err)
	}
	vm3, err := c.StartVM(ctx, "vm3", sandbox.TwoTenantVMs["vm3"])
	if err != nil {
		t.Fatal(err)
	}
	const sport, dport = 40022, 22
	snat := netip.MustParseAddr("203.0.113.17")

	// SYN: vm2 sees it from tenant-b's SNAT address.
	hctx, hcancel := context.WithTimeout(ctx, 2*time.Second)
	synAck, err := vm3.SendTCP(hctx, vm2.Addr(), sport, dport, packet.TCPSyn, true)
	hcancel()
	syn, serr := vm2.WaitFor(ctx, func(p *sandbox.Packet) bool {
		v := p.View()
		return v.IPProto() == packet.ProtoTCP && v.DstPort() == dport && v.TCPFlags() == packet.TCPSyn
	})
	if serr != nil {
		t.Fatalf("the SYN did not reach vm2: %v", serr)
	}
	if v := syn.View(); v.IPSrc() != snat || v.IPDst() != vm2.Addr() {
		t.Fatalf("vm2 got the SYN as %s -> %s, want %s -> %s", v.IPSrc(), v.IPDst(), snat, vm2.Addr())
	}
	natPort := syn.View().SrcPort()

	// SYN-ACK: back at vm3 with the addresses it connected to.
	if err != nil {
		a := c.Host("host-a").Agent()
		for _, f := range a.Flows(context.Background()) {
			if f.Class == agent.ClassShort {
				t.Logf("short drop flow: %s", f.Key.String())
			}
		}
		if sa, ok := vm2.LastSent(func(p *sandbox.Packet) bool { return p.View().TCPFlags() == packet.TCPSyn|packet.TCPAck }); ok {
			p2, _ := c.Port("vm2")
			if tr, err := a.Trace(context.Background(), p2.ID, sa.Frame); err == nil {
				t.Logf("the SYN-ACK's simulation now: %s (%s)", tr.Verdict, tr.Reason)
			}
		}
		t.Fatalf("vm2's SYN-ACK did not reach vm3: %v", err)
	}
	if v := synAck.View(); v.TCPFlags() != packet.TCPSyn|packet.TCPAck || v.IPSrc() != vm2.Addr() || v.SrcPort() != dport || v.IPDst() != vm3.Addr() || v.DstPort() != sport {
		t.Fatalf("vm3 got the SYN-ACK as %s:%d -> %s:%d flags %#x, want %s:%d -> %s:%d SYN|ACK",
			v.IPSrc(), v.SrcPort(), v.IPDst(), v.DstPort(), v.TCPFlags(), vm2.Addr(), dport, vm3.Addr(), sport)
	}

	// ACK: on the connection's mapping.
	if _, err := vm3.SendTCP(ctx, vm2.Addr(), sport, dport, packet.TCPAck, false); err != nil {
		t.Fatal(err)
	}
	ack, err := vm2.WaitFor(ctx, func(p *sandbox.Packet) bool {
		v := p.View()
		return v.IPProto() == packet.ProtoTCP && v.DstPort() == dport && v.TCPFlags() == packet.TCPAck
	})
	if err != nil {
		t.Fatalf("the ACK did not reach vm2: %v", err)
	}
	if v := ack.View(); v.IPSrc() != snat || v.SrcPort() != natPort {
		t.Errorf("vm2 got the ACK from %s:%d, want the SYN's %s:%d", v.IPSrc(), v.SrcPort(), snat, natPort)
	}
}

// slowImport delays the import of every flow-state message.
type slowImport struct {
	*agent.L4
	delay time.Duration
}

func (s slowImport) Import(msg *flowstate.Message) []simulation.Tag {
	time.Sleep(s.delay)
	return s.L4.Import(msg)
}

// TestFlowStateBeforeTunnelledPacket: the flow state a simulation pushes
// to a peer is imported there before the packet that follows it is
// delivered, even when the peer already has a flow for the destination's
// tunnel key (which would deliver the packet without an upcall), so that
// the destination's immediate answer is simulated with the state. host-b
// imports slowly; vm1 first pings vm2 so that host-b has the tunnel flow
// for vm2; then vm3 connects to vm2 (tenant-b source-NATs it) and vm2
// answers at once: without the state, host-b would take the SYN-ACK for a
// new connection, source-NAT it and lose it.
func TestFlowStateBeforeTunnelledPacket(t *testing.T) {
	topo, err := topofile.LoadFile("../../examples/topologies/two-tenant-cloud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var l4s []*agent.L4
	defer func() {
		for _, s := range l4s {
			s.Close()
		}
	}()
	c, err := sandbox.Start(ctx, sandbox.Config{Topology: topo, Hosts: []string{"host-a", "host-b"}, Stateful: true,
		Agent: func(host string, cfg *agent.Config) {
			if host != "host-b" {
				return
			}
			lc := agent.L4Config{}
			if bc, ok := cfg.NSDB.(nsdb.BlockClaimer); ok {
				lc.Blocks = bc.Blocks()
			}
			s := agent.NewL4(lc)
			l4s = append(l4s, s)
			cfg.FlowState = slowImport{L4: s, delay: 300 * time.Millisecond}
			cfg.Workers = 4
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	vms := map[string]*sandbox.VM{}
	for _, name := range []string{"vm1", "vm2", "vm3"} {
		vm, err := c.StartVM(ctx, name, sandbox.TwoTenantVMs[name])
		if err != nil {
			t.Fatal(err)
		}
		vms[name] = vm
	}
	vm1, vm2, vm3 := vms["vm1"], vms["vm2"], vms["vm3"]
	if _, err := vm1.Ping(ctx, vm2.Addr()); err != nil {
		t.Fatal(err)
	}
	b := c.Host("host-b")
	p2, _ := c.Port("vm2")
	key, _ := b.Agent().TunnelKey(p2.ID)
	if !hasTunnelFlow(b, key) {
		t.Fatalf("host-b has no flow for vm2's tunnel key %#x after the ping", key)
	}
	// Whether the SYN-ACK's upcall goes to the overlay worker (and waits
	// for the import anyway) depends on its hash: several connections.
	const dport = 22
	for sport := uint16(40022); sport < 40025; sport++ {
		hctx, hcancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		synAck, err := vm3.SendTCP(hctx, vm2.Addr(), sport, dport, packet.TCPSyn, true)
		hcancel()
		if err != nil {
			t.Fatalf("vm2's SYN-ACK to port %d did not reach vm3: %v", sport, err)
		}
		if v := synAck.View(); v.TCPFlags() != packet.TCPSyn|packet.TCPAck || v.IPSrc() != vm2.Addr() || v.SrcPort() != dport {
			t.Fatalf("vm3 got %s, want a SYN-ACK from %s:%d", synAck, vm2.Addr(), dport)
		}
	}
	// The SYNs came up behind their state: no flow for a marked key.
	for _, f := range b.Agent().Flows(context.Background()) {
		if f.Key.Fields&datapath.KeyTunnel != 0 && f.Key.Tunnel.ID&translate.TunnelKeyUpcall != 0 {
			t.Errorf("host-b has a flow for a tunnel key with TunnelKeyUpcall: %s", f.Key.String())
		}
	}
}

// hasTunnelFlow reports whether h has a flow for packets tunnelled in with
// key.
func hasTunnelFlow(h *sandbox.Host, key uint32) bool {
	for _, f := range h.Agent().Flows(context.Background()) {
		if f.Class == agent.ClassTunnel && f.Key.Fields&datapath.KeyTunnel != 0 && uint32(f.Key.Tunnel.ID) == key {
			return true
		}
	}
	return false
}
