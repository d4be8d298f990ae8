package sandbox_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/simulation/harness"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// TestSameScenarioOnSimulatorAndAgents runs one scenario, the same packets
// by the same names, on the pure simulator (simulation/harness) and on
// agents exchanging VXLAN over loopback, and checks that each packet
// reaches the same port with the same MACs, addresses, TTL and flags, and that the answers come
// back alike. Source ports chosen by dynamic SNAT differ (each NAT port
// leaser picks its own) and are not compared.
func TestSameScenarioOnSimulatorAndAgents(t *testing.T) {
	e := startTwoTenant(t, true)
	h, err := harness.LoadFile("../../../examples/topologies/two-tenant-cloud.yaml", harness.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ext := sandbox.TwoTenantVMs["provider-uplink"]
	if err := h.Plug("provider-uplink", ext.MAC, ext.Addr.Addr()); err != nil {
		t.Fatal(err)
	}
	for _, sc := range []struct {
		name     string
		from, to string
		p        harness.Packet
		snat     bool // the source port is chosen by dynamic SNAT
	}{
		{"same bridge", "vm1", "vm2", harness.Ping("vm2"), false},
		{"routed between tenants, SSH", "vm3", "vm2", harness.TCP(":41000->vm2:22"), true},
		{"floating IP out", "vm1", "provider-uplink", harness.TCP(":41001->8.8.8.8:443"), false},
		{"SNAT out", "vm2", "provider-uplink", harness.TCP(":41002->8.8.8.8:443"), true},
		{"UDP through SNAT", "vm4", "provider-uplink", harness.UDP(":41003->8.8.8.8:53"), true},
		{"to the floating IP", "provider-uplink", "vm1", harness.TCP(":41004->203.0.113.11:80").WithSrc("192.0.2.7"), false},
	} {
		t.Run(sc.name, func(t *testing.T) {
			// The simulator.
			r := h.MustSend(t, sc.from, sc.p)
			sim := &r.ExpectDelivered(t, sc.to).Packet
			simBack := &h.MustReply(t, r).ExpectDelivered(t, sc.from).Packet
			// The agents.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sent, err := e.Cluster.Send(ctx, sc.from, sc.p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sent.WaitDelivered(ctx, sc.to)
			if err != nil {
				t.Fatal(err)
			}
			back, err := sent.WaitReply(ctx)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "delivered", sim, got.View(), sc.snat)
			same(t, "answer", simBack, back.View(), false)
		})
	}
}

// same checks that the simulator and the agents delivered alike.
func same(t *testing.T, what string, sim, agent *packet.View, snat bool) {
	t.Helper()
	type key struct {
		ethSrc, ethDst topology.MAC
		src, dst       netip.Addr
		ttl, proto     uint8
		sport, dport   uint16
		flags          uint16
		icmp           uint8
	}
	k := func(v *packet.View) key {
		x := key{v.EthSrc(), v.EthDst(), v.IPSrc(), v.IPDst(), v.IPTTL(), v.IPProto(), v.SrcPort(), v.DstPort(), v.TCPFlags(), v.ICMPType()}
		if snat {
			x.sport = 0
		}
		return x
	}
	if k(sim) != k(agent) {
		t.Errorf("%s: simulator %v\nagents    %v", what, sim, agent)
	}
}
