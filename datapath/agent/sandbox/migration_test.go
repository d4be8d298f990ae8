package sandbox_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// withNewHost adds host-new, at underlay address 192.168.100.20, to topo's
// first tunnel zone: a host that has seen none of the connections, so
// that whatever state a port moved to it has came from the move.
func withNewHost(topo *topology.Topology) *topology.Topology {
	id := topology.NameID(topology.KindHost, "host-new")
	topo.Hosts = append(topo.Hosts, topology.Host{ID: id, Name: "host-new"})
	z := &topo.TunnelZones[0]
	z.Members = append(z.Members, topology.TunnelZoneMember{Host: id, Addr: netip.MustParseAddr("192.168.100.20")})
	return topo
}

// startPersistent starts topo's agents with connection tracking, NAT,
// local flow-state stores and the transfer service.
func startPersistent(t *testing.T, topo *topology.Topology) (*sandbox.Cluster, *prometheus.Registry) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	c, err := sandbox.Start(ctx, sandbox.Config{Topology: topo, Logger: testLogger(), Stateful: true,
		FlowStateDir: t.TempDir(), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, reg
}

// restoredFrom returns how many ports host restored from source.
func restoredFrom(t *testing.T, reg *prometheus.Registry, host, source string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "hivenet_agent_flow_state_ports_restored_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label(m, "host") == host && label(m, "source") == source {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// nats returns host's NAT entries of type typ whose source is src (and
// sport, unless 0).
func nats(h *sandbox.Host, typ flowstate.NATKeyType, src netip.Addr, sport uint16) []flowstate.NATEntry {
	l4, ok := h.Agent().FlowState().(*agent.L4)
	if !ok {
		return nil
	}
	var out []flowstate.NATEntry
	l4.NATs().Range(func(k flowstate.NATKey, b flowstate.NATBinding) bool {
		if k.Type == typ && k.SrcIP.Addr() == src && (sport == 0 || k.SrcPort == sport) {
			out = append(out, flowstate.NATEntry{Key: k, Binding: b})
		}
		return true
	})
	return out
}

// TestMigrationKeepsSNATConnection: vm2's TCP connection to the outside
// goes through its router's source NAT (203.0.113.10, a port leased by
// host-b). vm2 moves to host-new, which has never seen the connection:
// host-new fetches the port's state from host-b before announcing the
// port, so the connection's next segment leaves with the same translated
// address and port (a host without the state would lease another block and
// the server would see a stranger), and the server's answer reaches vm2 on
// its new host.
func TestMigrationKeepsSNATConnection(t *testing.T) {
	c, reg := startPersistent(t, withNewHost(loadTopology(t, "two-tenant-cloud.yaml")))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := sandbox.StartTwoTenantVMs(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	vm2, ext := e.VMs["vm2"], e.VMs["ext"]
	const sport, dport = 40001, 80
	if _, err := vm2.SendTCP(ctx, ext.Addr(), sport, dport, packet.TCPSyn, true); err != nil {
		t.Fatalf("the connection's SYN-ACK: %v", err)
	}
	before, err := vm2.DeliverTCPData(ctx, ext, ext.Addr(), sport, dport, packet.TCPAck|packet.TCPPsh, []byte("before the move"))
	if err != nil {
		t.Fatal(err)
	}
	nat := netip.AddrPortFrom(before.View().IPSrc(), before.View().SrcPort())
	if nat.Addr() != netip.MustParseAddr("203.0.113.10") {
		t.Fatalf("ext saw vm2's segment from %s, want the SNAT address 203.0.113.10", nat)
	}
	if got := nats(c.Host("host-new"), flowstate.NATFwdSNAT, vm2.Addr(), sport); len(got) != 0 {
		t.Fatalf("host-new holds the connection's NAT state before the move: %v", got)
	}

	within(t, 5*time.Second, "the connection's state saved on host-b", func() bool { return c.Host("host-b").StateStore().Stats().Records > 0 })
	if err := c.MoveVM(ctx, "vm2", "host-new"); err != nil {
		t.Fatal(err)
	}
	if n := restoredFrom(t, reg, "host-new", "peer"); n != 1 {
		t.Errorf("host-new restored %v ports from a peer, want vm2's", n)
	}
	got := nats(c.Host("host-new"), flowstate.NATFwdSNAT, vm2.Addr(), sport)
	if len(got) != 1 || got[0].Binding.IP.Addr() != nat.Addr() || got[0].Binding.Port != nat.Port() {
		t.Fatalf("host-new's NAT state for the connection after the move: %v, want its binding %s", got, nat)
	}

	after, err := vm2.DeliverTCPData(ctx, ext, ext.Addr(), sport, dport, packet.TCPAck|packet.TCPPsh, []byte("after the move"))
	if err != nil {
		t.Fatal(err)
	}
	if src := netip.AddrPortFrom(after.View().IPSrc(), after.View().SrcPort()); src != nat {
		t.Fatalf("after the move the connection's segment came from %s, before from %s: the server sees another connection", src, nat)
	}
	answer, err := ext.DeliverTCPData(ctx, vm2, nat.Addr(), dport, nat.Port(), packet.TCPAck|packet.TCPPsh, []byte("answer after the move"))
	if err != nil {
		t.Fatalf("the server's answer did not reach vm2 on host-new: %v", err)
	}
	if v := answer.View(); v.IPSrc() != ext.Addr() || v.SrcPort() != dport {
		t.Errorf("the answer reached vm2 from %s:%d, want %s:%d", v.IPSrc(), v.SrcPort(), ext.Addr(), dport)
	}
}

// TestMigrationKeepsStickyBackend: the client's connection to the load
// balancer's VIP (sticky per source address) went to one backend. The
// client moves to host-new, which fetches its port's state from host-a:
// the connection's next segment and a new connection from the same
// address reach the same backend.
func TestMigrationKeepsStickyBackend(t *testing.T) {
	topo := withNewHost(loadTopology(t, "load-balancer.yaml"))
	for i := range topo.Pools {
		// No health monitor: members are up (nothing here probes them).
		topo.Pools[i].HealthMonitor = topology.ID{}
	}
	topo.HealthMonitors = nil
	c, reg := startPersistent(t, topo)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mac := topology.MustParseMAC
	client := startVM(t, c, "client", "fa:16:3e:09:00:10", "10.9.0.10/24", "10.9.0.1")
	webs := map[string]*sandbox.VM{}
	for name, cfg := range map[string]sandbox.VMConfig{
		"web1": {MAC: mac("fa:16:3e:00:00:11"), Addr: netip.MustParsePrefix("10.0.0.11/24"), Gateway: netip.MustParseAddr("10.0.0.1"), TCPListen: []uint16{80}},
		"web2": {MAC: mac("fa:16:3e:00:00:12"), Addr: netip.MustParsePrefix("10.0.0.12/24"), Gateway: netip.MustParseAddr("10.0.0.1"), TCPListen: []uint16{80}},
	} {
		vm, err := c.StartVM(ctx, name, cfg)
		if err != nil {
			t.Fatal(err)
		}
		webs[name] = vm
	}
	vip := netip.MustParseAddr("203.0.113.80")
	const sport = 41000
	if _, err := client.SendTCP(ctx, vip, sport, 80, packet.TCPSyn, true); err != nil {
		t.Fatalf("the VIP's SYN-ACK: %v", err)
	}
	// A VM's NIC takes only frames addressed to its MAC: until the
	// backends' bridge learns where a backend's MAC is, it floods frames
	// to it, and the other backend sees (and drops) them too.
	fromClient := func(vm *sandbox.VM, sp uint16) func(*sandbox.Packet) bool {
		return func(p *sandbox.Packet) bool {
			v := p.View()
			return len(p.Frame) >= 6 && topology.MAC(p.Frame[:6]) == vm.MAC() &&
				v.IPProto() == packet.ProtoTCP && v.IPSrc() == client.Addr() && v.SrcPort() == sp && v.DstPort() == 80
		}
	}
	sticky := nats(c.Host("host-a"), flowstate.NATFwdStickyDNAT, client.Addr(), 0)
	if len(sticky) != 1 {
		t.Fatalf("host-a's sticky entries for the client: %v, want one", sticky)
	}
	backend := ""
	for name, vm := range webs {
		if vm.Addr() == sticky[0].Binding.IP.Addr() {
			backend = name
		}
	}
	if backend == "" {
		t.Fatalf("the client's sticky entry %v names no backend", sticky[0])
	}
	if n := webs[backend].Count(fromClient(webs[backend], sport)); n == 0 {
		t.Fatalf("the client's sticky backend %s received none of its SYNs", backend)
	}
	for name, vm := range webs {
		if name != backend && vm.Count(fromClient(vm, sport)) > 0 {
			t.Fatalf("%s, not the sticky backend %s, received the client's SYN", name, backend)
		}
	}
	if got := nats(c.Host("host-new"), flowstate.NATFwdStickyDNAT, client.Addr(), 0); len(got) != 0 {
		t.Fatalf("host-new holds the client's sticky entry before the move: %v", got)
	}

	within(t, 5*time.Second, "the connection's state saved on host-a", func() bool { return c.Host("host-a").StateStore().Stats().Records > 0 })
	if err := c.MoveVM(ctx, "client", "host-new"); err != nil {
		t.Fatal(err)
	}
	if n := restoredFrom(t, reg, "host-new", "peer"); n != 1 {
		t.Errorf("host-new restored %v ports from a peer, want the client's", n)
	}
	if got := nats(c.Host("host-new"), flowstate.NATFwdStickyDNAT, client.Addr(), 0); len(got) != 1 || got[0] != sticky[0] {
		t.Fatalf("host-new's sticky entries for the client after the move: %v, want %v", got, sticky)
	}
	if _, err := client.DeliverTCPData(ctx, webs[backend], vip, sport, 80, packet.TCPAck|packet.TCPPsh, []byte("after the move")); err != nil {
		t.Fatalf("the connection's segment after the move did not reach its backend %s: %v", backend, err)
	}
	// A new connection from the same client sticks to the same backend.
	if _, err := client.SendTCP(ctx, vip, sport+1, 80, packet.TCPSyn, true); err != nil {
		t.Fatalf("a new connection after the move: %v", err)
	}
	for name, vm := range webs {
		if n := vm.Count(fromClient(vm, sport+1)); (n > 0) != (name == backend) {
			t.Errorf("%s received %d SYNs of the new connection; the sticky backend is %s", name, n, backend)
		}
	}
	for name, vm := range webs {
		if name != backend && vm.Count(func(p *sandbox.Packet) bool {
			return topology.MAC(p.Frame[:6]) == vm.MAC() && strings.Contains(string(p.Frame), "after the move")
		}) > 0 {
			t.Errorf("%s, not the connection's backend, received its segment", name)
		}
	}
}
