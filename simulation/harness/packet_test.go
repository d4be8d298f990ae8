package harness_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/hivenet/hivenet/simulation/harness"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

var (
	senderMAC = topology.MustParseMAC("02:00:00:00:00:01")
	nextMAC   = topology.MustParseMAC("02:00:00:00:00:fe")
)

// testSender knows one VM, "web", at 10.0.0.80, and sends everything to
// nextMAC.
func testSender() harness.Sender {
	return harness.Sender{
		MAC:  senderMAC,
		Addr: netip.MustParseAddr("10.0.0.1"),
		Lookup: func(name string) (netip.Addr, bool) {
			return netip.MustParseAddr("10.0.0.80"), name == "web"
		},
		NextHop: func(_, _ netip.Addr) (topology.MAC, error) { return nextMAC, nil },
	}
}

func build(t *testing.T, p harness.Packet) *packet.View {
	t.Helper()
	f, err := p.Build(testSender())
	if err != nil {
		t.Fatalf("%v: %v", p, err)
	}
	var m packet.Match
	if err := m.Parse(f); err != nil {
		t.Fatalf("%v: built a frame that does not parse: %v", p, err)
	}
	return m.Peek()
}

func TestBuilders(t *testing.T) {
	v := build(t, harness.TCP("web:80"))
	if v.EthSrc() != senderMAC || v.EthDst() != nextMAC || v.IPSrc() != addr("10.0.0.1") || v.IPDst() != addr("10.0.0.80") ||
		v.IPProto() != packet.ProtoTCP || v.SrcPort() != harness.DefaultSrcPort || v.DstPort() != 80 || v.TCPFlags() != harness.SYN || v.IPTTL() != 64 {
		t.Errorf("TCP(web:80) = %v", v)
	}
	v = build(t, harness.TCP("10.0.0.9:1234->8.8.8.8:443").WithFlags(harness.FIN|harness.ACK).WithTTL(3).WithVLAN(7))
	if vl, _ := v.VLANs().Outer(); v.IPSrc() != addr("10.0.0.9") || v.SrcPort() != 1234 || v.TCPFlags() != harness.FIN|harness.ACK || v.IPTTL() != 3 || vl.ID != 7 {
		t.Errorf("full TCP flow = %v", v)
	}
	v = build(t, harness.UDP(":5353->8.8.8.8:53").WithSrcMAC(nextMAC).WithDstMAC(senderMAC).WithPayload([]byte("q")))
	if v.IPSrc() != addr("10.0.0.1") || v.SrcPort() != 5353 || v.IPProto() != packet.ProtoUDP || v.EthSrc() != nextMAC || v.EthDst() != senderMAC {
		t.Errorf("UDP = %v", v)
	}
	v = build(t, harness.Ping("web").WithEchoID(9).WithSrc("10.0.0.2"))
	if v.ICMPType() != packet.ICMPEchoRequest || v.ICMPID() != 9 || v.IPSrc() != addr("10.0.0.2") {
		t.Errorf("Ping = %v", v)
	}
	v = build(t, harness.ARPRequest("10.0.0.80"))
	if v.ARPOp() != packet.ARPRequest || !v.EthDst().IsBroadcast() || v.ARPSHA() != senderMAC || v.ARPSPA() != addr("10.0.0.1") || v.ARPTPA() != addr("10.0.0.80") {
		t.Errorf("ARPRequest = %v", v)
	}
	v = build(t, harness.ARPReply("web"))
	if v.ARPOp() != packet.ARPReply || v.EthDst() != nextMAC || v.ARPTHA() != nextMAC || v.ARPTPA() != addr("10.0.0.80") {
		t.Errorf("ARPReply = %v", v)
	}
	raw := []byte{1, 2, 3}
	if f, err := harness.Frame(raw).Build(harness.Sender{}); err != nil || string(f) != string(raw) {
		t.Errorf("Frame = %v, %v", f, err)
	}
}

func TestBuilderErrors(t *testing.T) {
	noNextHop := testSender()
	noNextHop.NextHop = nil
	noAddr := testSender()
	noAddr.Addr = netip.Addr{}
	for _, c := range []struct {
		p harness.Packet
		s harness.Sender
	}{
		{harness.TCP("web"), testSender()},                  // no port
		{harness.TCP(":80"), testSender()},                  // no destination
		{harness.TCP("web:99999"), testSender()},            // port out of range
		{harness.TCP("nobody:80"), testSender()},            // unknown name
		{harness.TCP("web:1->8.8.8.8:80"), testSender()},    // source must be an address
		{harness.UDP("x:y->8.8.8.8:80"), testSender()},      // bad source port
		{harness.Ping("2001:db8::1"), testSender()},         // IPv6
		{harness.Ping("web").WithSrc("nope"), testSender()}, // bad source
		{harness.Ping("web").WithVLAN(5000), testSender()},  // bad VLAN
		{harness.Ping("web"), noNextHop},                    // no destination MAC
		{harness.Ping("web"), noAddr},                       // no source address
		{harness.Frame(nil), testSender()},                  // empty frame
		{harness.Packet{}, testSender()},                    // zero packet
	} {
		if _, err := c.p.Build(c.s); !errors.Is(err, harness.ErrBadPacket) {
			t.Errorf("%v: %v, want ErrBadPacket", c.p, err)
		}
	}
}

func TestSpec(t *testing.T) {
	p, err := harness.Spec{TCP: ":34567->8.8.8.8:443", SrcIP: "10.0.0.5", SrcMAC: "02:00:00:00:00:05", TTL: 9, VLAN: 3}.Packet()
	if err != nil {
		t.Fatal(err)
	}
	v := build(t, p)
	if vl, _ := v.VLANs().Outer(); v.IPSrc() != addr("10.0.0.5") || v.SrcPort() != 34567 || v.EthSrc() != topology.MustParseMAC("02:00:00:00:00:05") || v.IPTTL() != 9 || vl.ID != 3 {
		t.Errorf("spec packet %v", v)
	}
	// The flow's source wins over src-ip.
	p, _ = harness.Spec{UDP: "10.0.0.9:1->8.8.8.8:53", SrcIP: "10.0.0.5", DstMAC: "02:00:00:00:00:09"}.Packet()
	if v := build(t, p); v.IPSrc() != addr("10.0.0.9") || v.EthDst() != topology.MustParseMAC("02:00:00:00:00:09") {
		t.Errorf("spec packet %v", v)
	}
	for _, bad := range []harness.Spec{
		{},
		{ICMPEcho: "web", TCP: "web:80"},
		{ICMPEcho: "web", SrcMAC: "nope"},
		{ICMPEcho: "web", DstMAC: "nope"},
		{ICMPEcho: "web", TTL: 256},
		{ICMPEcho: "web", VLAN: -1},
		{ARPRequest: "web", SrcIP: "::1"},
	} {
		if _, err := bad.Packet(); !errors.Is(err, harness.ErrBadPacket) {
			t.Errorf("%+v: %v, want ErrBadPacket", bad, err)
		}
	}
}

// FuzzSpec: whatever a command line or request body holds, building the
// packet returns a frame that parses or an ErrBadPacket, and never panics.
func FuzzSpec(f *testing.F) {
	f.Add("", ":34567->8.8.8.8:443", "", "", "10.0.0.5", "", 64, 0)
	f.Add("web", "", "", "", "", "02:00:00:00:00:01", 0, 4095)
	f.Add("", "", "web:53", "", "", "", 1, 1)
	f.Add("", "", "", "10.0.0.80", "", "", 0, 0)
	f.Fuzz(func(t *testing.T, echo, tcp, udp, arp, srcIP, mac string, ttl, vlan int) {
		s := harness.Spec{ICMPEcho: echo, TCP: tcp, UDP: udp, ARPRequest: arp, SrcIP: srcIP, SrcMAC: mac, DstMAC: mac, TTL: ttl, VLAN: vlan}
		p, err := s.Packet()
		if err != nil {
			if !errors.Is(err, harness.ErrBadPacket) {
				t.Fatalf("%+v: %v does not wrap ErrBadPacket", s, err)
			}
			return
		}
		fr, err := p.Build(testSender())
		if err != nil {
			if !errors.Is(err, harness.ErrBadPacket) {
				t.Fatalf("%+v: %v does not wrap ErrBadPacket", s, err)
			}
			return
		}
		var m packet.Match
		if err := m.Parse(fr); err != nil {
			t.Fatalf("%+v: built a frame that does not parse: %v", s, err)
		}
	})
}
