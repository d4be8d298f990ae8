package sandbox_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/simulation/dhcp"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// vmnetTopology: vm1 on h1 (net1, served by DHCP) and vm2 on h2 (net2),
// routed by r1 whose port toward net2 has a 1000-byte MTU.
const vmnetTopology = `
hosts: [{name: h1}, {name: h2}]
tunnel-zones:
  - {name: tz, type: vxlan, members: {h1: 192.168.100.11, h2: 192.168.100.12}}
bridges:
  - name: net1
    ports:
      - {name: vm1, host: h1, interface: tap1}
      - {name: net1-r1, peer: r1-net1}
    dhcp:
      - subnet: 10.0.1.0/24
        gateway: 10.0.1.1
        dns-servers: [10.0.1.2]
        routes: [{dst: 169.254.169.254/32, gateway: 10.0.1.2}]
        hosts: [{mac: "02:00:00:00:01:01", addr: 10.0.1.11, name: vm1}]
  - name: net2
    ports:
      - {name: vm2, host: h2, interface: tap2}
      - {name: net2-r1, peer: r1-net2}
routers:
  - name: r1
    ports:
      - {name: r1-net1, address: 10.0.1.1/24}
      - {name: r1-net2, address: 10.0.2.1/24, mtu: 1000}
`

func vmnet(t *testing.T) (*sandbox.Cluster, *sandbox.VM, *sandbox.VM) {
	t.Helper()
	topo, err := topofile.Load(strings.NewReader(vmnetTopology), "vmnet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, topo, false)
	vm1 := startVM(t, c, "vm1", "02:00:00:00:01:01", "10.0.1.11/24", "10.0.1.1")
	vm2 := startVM(t, c, "vm2", "02:00:00:00:02:02", "10.0.2.12/24", "10.0.2.1")
	return c, vm1, vm2
}

// A VM gets its configuration from its host's agent over an in-process
// datapath port: address, router, DNS, classless routes and the interface
// MTU (the default 1500 capped by the 1450-byte tunnel MTU of a 1500-byte
// underlay), in an OFFER and an ACK addressed to it.
func TestDHCPOverInprocPort(t *testing.T) {
	_, vm1, _ := vmnet(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	exchange := func(c dhcp.ClientMessage) *dhcp.Message {
		t.Helper()
		c.MAC = vm1.MAC()
		if err := vm1.SendFrame(dhcp.AppendClientFrame(nil, &c)); err != nil {
			t.Fatal(err)
		}
		p, err := vm1.WaitFor(ctx, func(p *sandbox.Packet) bool {
			v := p.View()
			return v.IPProto() == packet.ProtoUDP && v.SrcPort() == dhcp.ServerPort && v.DstPort() == dhcp.ClientPort &&
				p.Frame[14+28+4] == byte(c.XID>>24) && p.Frame[14+28+7] == byte(c.XID)
		})
		if err != nil {
			t.Fatalf("no reply to %v: %v", c.Type, err)
		}
		pl, err := dhcp.ServerPayload(p.Frame)
		if err != nil {
			t.Fatal(err)
		}
		var m dhcp.Message
		if err := m.Decode(pl); err != nil {
			t.Fatal(err)
		}
		return &m
	}
	offer := exchange(dhcp.ClientMessage{Type: dhcp.Discover, XID: 0x11000011})
	if offer.Type != dhcp.Offer || offer.YIAddr != vm1.Addr() {
		t.Fatalf("%v of %v, want an offer of %v", offer.Type, offer.YIAddr, vm1.Addr())
	}
	want := map[uint8][]byte{
		dhcp.OptSubnetMask:     {255, 255, 255, 0},
		dhcp.OptRouter:         {10, 0, 1, 1},
		dhcp.OptDNS:            {10, 0, 1, 2},
		dhcp.OptInterfaceMTU:   {0x05, 0xaa},
		dhcp.OptClasslessRoute: {32, 169, 254, 169, 254, 10, 0, 1, 2, 0, 10, 0, 1, 1},
		dhcp.OptHostName:       []byte("vm1"),
	}
	for code, v := range want {
		if got, ok := offer.Option(code); !ok || string(got) != string(v) {
			t.Errorf("option %d = %v, want %v", code, got, v)
		}
	}
	ack := exchange(dhcp.ClientMessage{Type: dhcp.Request, XID: 0x22000022, RequestedIP: offer.YIAddr, ServerID: netip.MustParseAddr("10.0.1.1")})
	if ack.Type != dhcp.Ack || ack.YIAddr != vm1.Addr() {
		t.Fatalf("%v of %v, want an ack of %v", ack.Type, ack.YIAddr, vm1.Addr())
	}
}

// bigUDP is a UDP datagram of IP length size from vm to dst through its
// gateway (MAC gw), with DF when df; the payload starts with tag.
func bigUDP(t *testing.T, vm *sandbox.VM, gw topology.MAC, dst netip.Addr, size int, df bool, tag byte) []byte {
	t.Helper()
	var m packet.Match
	m.SetEthSrc(vm.MAC())
	m.SetEthDst(gw)
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(vm.Addr())
	m.SetIPDst(dst)
	m.SetIPProto(packet.ProtoUDP)
	m.SetIPTTL(64)
	m.SetSrcPort(5000)
	m.SetDstPort(6000)
	payload := make([]byte, size-28)
	payload[0] = tag
	f, err := packet.AppendFrame(nil, &m, payload)
	if err != nil {
		t.Fatal(err)
	}
	if df {
		h := f[14:34]
		h[6] |= 0x40
		h[10], h[11] = 0, 0
		cs := packet.Checksum(h)
		h[10], h[11] = byte(cs>>8), byte(cs)
	}
	return f
}

// Across a router port with a 1000-byte MTU, between two hosts: packets
// that fit go through the ingress host's megaflow, which sends larger ones
// to userspace (check_pkt_len); a larger one with DF set is answered with
// ICMP fragmentation needed carrying 1000, one without DF is dropped;
// neither reaches the destination.
func TestMTUAcrossRouterInproc(t *testing.T) {
	c, vm1, vm2 := vmnet(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gw, err := vm1.Resolve(ctx, netip.MustParseAddr("10.0.1.1"))
	if err != nil {
		t.Fatal(err)
	}
	tagged := func(tag byte) func(*sandbox.Packet) bool {
		return func(p *sandbox.Packet) bool {
			v := p.View()
			l := v.Layout()
			return v.IPProto() == packet.ProtoUDP && v.DstPort() == 6000 && int(l.Payload) < len(p.Frame) && p.Frame[l.Payload] == tag
		}
	}
	// A full-size packet: forwarded, and its flow on h1 holds for up to
	// 1000 IP bytes.
	send := func(size int, df bool, tag byte) {
		t.Helper()
		if err := vm1.SendFrame(bigUDP(t, vm1, gw, vm2.Addr(), size, df, tag)); err != nil {
			t.Fatal(err)
		}
	}
	send(1000, true, 1)
	if _, err := vm2.WaitFor(ctx, tagged(1)); err != nil {
		t.Fatalf("1000-byte packet: %v", err)
	}
	found := false
	for _, f := range c.Host("h1").Agent().Flows(ctx) {
		if strings.HasPrefix(f.Actions.String(), "check_pkt_len(size=1014,gt(userspace(pid=") {
			found = true
		}
	}
	if !found {
		t.Errorf("h1 has no flow with check_pkt_len(size=1014,...): %v", c.Host("h1").Agent().Flows(ctx))
	}
	// One byte more, DF set: fragmentation needed, MTU 1000.
	fragNeeded := func(p *sandbox.Packet) bool {
		v := p.View()
		return v.IPProto() == packet.ProtoICMP && v.ICMPType() == packet.ICMPDestUnreach && v.ICMPCode() == packet.CodeFragNeeded
	}
	send(1001, true, 2)
	p, err := vm1.WaitFor(ctx, fragNeeded)
	if err != nil {
		t.Fatalf("1001-byte DF packet: no fragmentation-needed: %v", err)
	}
	l := p.View().Layout()
	if mtu := int(p.Frame[l.L4+6])<<8 | int(p.Frame[l.L4+7]); mtu != 1000 || p.View().IPSrc() != netip.MustParseAddr("10.0.1.1") {
		t.Errorf("fragmentation needed from %v announcing MTU %d, want from 10.0.1.1 with 1000", p.View().IPSrc(), mtu)
	}
	// Without DF: dropped, no ICMP. Then a DF one again on the same flow
	// (the same worker takes both, in order): once its error is back, the
	// packet without DF was handled; a marker sent then through the
	// flow arrives after anything h1 forwarded before.
	send(1400, false, 3)
	send(1001, true, 5)
	quoting := func(n int) func(*sandbox.Packet) bool {
		return func(p *sandbox.Packet) bool {
			l := p.View().Layout()
			q := int(l.L4) + 8
			return fragNeeded(p) && q+4 <= len(p.Frame) && int(p.Frame[q+2])<<8|int(p.Frame[q+3]) == n
		}
	}
	if err := sandbox.Eventually(ctx, "a second fragmentation-needed", func() bool { return vm1.Count(quoting(1001)) == 2 }); err != nil {
		t.Fatal(err)
	}
	send(500, true, 4)
	if _, err := vm2.WaitFor(ctx, tagged(4)); err != nil {
		t.Fatalf("marker: %v", err)
	}
	if n := vm2.Count(tagged(2)) + vm2.Count(tagged(3)) + vm2.Count(tagged(5)); n != 0 {
		t.Errorf("vm2 received %d oversize packets", n)
	}
	if n := vm1.Count(quoting(1400)); n != 0 {
		t.Errorf("vm1 received %d fragmentation-needed errors about the packet without DF", n)
	}
}
