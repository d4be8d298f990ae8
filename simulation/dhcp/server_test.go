package dhcp_test

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/hivenet/hivenet/simulation/dhcp"
	"github.com/hivenet/hivenet/topology"
)

func TestDiscoverGetsOfferWithEveryOption(t *testing.T) {
	s := dhcp.New(dhcp.Config{})
	a, err := s.Reply(nil, &dhcp.Input{Table: testTable(t, 0), Bridge: bridgeID, Frame: discover(vmMAC), TunnelMTU: 1450})
	if err != nil {
		t.Fatal(err)
	}
	if a.Request != dhcp.Discover || a.Reply != dhcp.Offer || a.MTU != 1450 {
		t.Fatalf("answer %v -> %v, MTU %d; want discover -> offer, MTU 1450", a.Request, a.Reply, a.MTU)
	}
	d := decode(t, a.Frame)
	if got := topology.MAC(d.eth.SrcMAC); got != dhcp.DefaultServerMAC {
		t.Errorf("Ethernet source %v, want the server MAC %v", got, dhcp.DefaultServerMAC)
	}
	if got := topology.MAC(d.eth.DstMAC); got != vmMAC {
		t.Errorf("Ethernet destination %v, want the client %v", got, vmMAC)
	}
	if !d.ip.SrcIP.Equal(net.IP(server.AsSlice())) || !d.ip.DstIP.Equal(net.IP(vmAddr.AsSlice())) {
		t.Errorf("IP %v -> %v, want %v -> %v", d.ip.SrcIP, d.ip.DstIP, server, vmAddr)
	}
	if d.udp.SrcPort != 67 || d.udp.DstPort != 68 {
		t.Errorf("UDP %d -> %d, want 67 -> 68", d.udp.SrcPort, d.udp.DstPort)
	}
	if d.dhcp.Operation != layers.DHCPOpReply || d.dhcp.Xid != 0x1234abcd || !d.dhcp.YourClientIP.Equal(net.IP(vmAddr.AsSlice())) {
		t.Errorf("op %v xid %#x yiaddr %v", d.dhcp.Operation, d.dhcp.Xid, d.dhcp.YourClientIP)
	}
	if !bytes.Equal(d.dhcp.ClientHWAddr, vmMAC[:]) {
		t.Errorf("chaddr %v", d.dhcp.ClientHWAddr)
	}
	want := map[layers.DHCPOpt][]byte{
		layers.DHCPOptMessageType:   {byte(layers.DHCPMsgTypeOffer)},
		layers.DHCPOptServerID:      {10, 0, 1, 2},
		layers.DHCPOptLeaseTime:     {0, 1, 0x51, 0x80}, // 86400 s
		layers.DHCPOptSubnetMask:    {255, 255, 255, 0},
		layers.DHCPOptBroadcastAddr: {10, 0, 1, 255},
		layers.DHCPOptRouter:        {10, 0, 1, 1},
		layers.DHCPOptDNS:           {10, 0, 1, 2, 9, 9, 9, 9},
		layers.DHCPOptInterfaceMTU:  {0x05, 0xaa}, // 1450: the tunnel caps the default 1500
		// 169.254.169.254/32 via .2, 172.16/12 via .3, default via .1
		layers.DHCPOptClasslessStaticRoute: {32, 169, 254, 169, 254, 10, 0, 1, 2, 12, 172, 16, 10, 0, 1, 3, 0, 10, 0, 1, 1},
		layers.DHCPOptHostname:             []byte("vm1"),
		layers.DHCPOptDomainName:           []byte("example.test"),
	}
	for code, v := range want {
		if got, ok := d.opts[code]; !ok || !bytes.Equal(got, v) {
			t.Errorf("option %v = %v (present %t), want %v", code, got, ok, v)
		}
	}
	if len(d.opts) != len(want) {
		t.Errorf("%d options, want %d: %v", len(d.opts), len(want), d.opts)
	}
	if n := len(a.Frame) - 42; n < dhcp.MinMessageLen {
		t.Errorf("DHCP message of %d bytes, want at least %d", n, dhcp.MinMessageLen)
	}
}

func TestMTUIsTheSmallerOfSubnetAndTunnel(t *testing.T) {
	for _, c := range []struct{ subnet, tunnel, want uint16 }{
		{0, 0, 1500}, {0, 1450, 1450}, {1400, 1450, 1400}, {9000, 8950, 8950}, {1400, 0, 1400},
	} {
		s := dhcp.New(dhcp.Config{})
		a, err := s.Reply(nil, &dhcp.Input{Table: testTable(t, c.subnet), Bridge: bridgeID, Frame: discover(vmMAC), TunnelMTU: c.tunnel})
		if err != nil {
			t.Fatal(err)
		}
		d := decode(t, a.Frame)
		got := d.opts[layers.DHCPOptInterfaceMTU]
		if a.MTU != c.want || len(got) != 2 || uint16(got[0])<<8|uint16(got[1]) != c.want {
			t.Errorf("subnet MTU %d, tunnel MTU %d: offered %d (option %v), want %d", c.subnet, c.tunnel, a.MTU, got, c.want)
		}
	}
}

func TestRequestAckNakAndOtherServer(t *testing.T) {
	s := dhcp.New(dhcp.Config{})
	tab := testTable(t, 0)
	reply := func(c dhcp.ClientMessage) (dhcp.Answer, error) {
		c.MAC, c.XID = vmMAC, 7
		return s.Reply(nil, &dhcp.Input{Table: tab, Bridge: bridgeID, Frame: dhcp.AppendClientFrame(nil, &c)})
	}
	a, err := reply(dhcp.ClientMessage{Type: dhcp.Request, RequestedIP: vmAddr, ServerID: server})
	if err != nil || a.Reply != dhcp.Ack {
		t.Fatalf("REQUEST of the host's address: %v, %v; want an ACK", a.Reply, err)
	}
	if d := decode(t, a.Frame); !bytes.Equal(d.opts[layers.DHCPOptMessageType], []byte{byte(layers.DHCPMsgTypeAck)}) {
		t.Errorf("ACK frame carries type %v", d.opts[layers.DHCPOptMessageType])
	}

	a, err = reply(dhcp.ClientMessage{Type: dhcp.Request, RequestedIP: netip.MustParseAddr("10.0.1.99")})
	if err != nil || a.Reply != dhcp.Nak {
		t.Fatalf("REQUEST of another address: %v, %v; want a NAK", a.Reply, err)
	}
	d := decode(t, a.Frame)
	if !d.ip.DstIP.Equal(net.IPv4bcast) || topology.MAC(d.eth.DstMAC) != (topology.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) {
		t.Errorf("NAK sent to %v / %v, want broadcast", d.ip.DstIP, d.eth.DstMAC)
	}
	if _, ok := d.opts[layers.DHCPOptLeaseTime]; ok || !d.dhcp.YourClientIP.Equal(net.IPv4zero) {
		t.Errorf("NAK offers a lease: yiaddr %v, options %v", d.dhcp.YourClientIP, d.opts)
	}

	a, err = reply(dhcp.ClientMessage{Type: dhcp.Request, RequestedIP: vmAddr, ServerID: netip.MustParseAddr("10.0.1.250")})
	if err != nil || a.Reply != 0 || a.Frame != nil {
		t.Errorf("REQUEST for another server: reply %v frame %d bytes, %v; want none", a.Reply, len(a.Frame), err)
	}
	for _, typ := range []dhcp.MessageType{dhcp.Release, dhcp.Decline} {
		a, err = reply(dhcp.ClientMessage{Type: typ, CIAddr: vmAddr})
		if err != nil || a.Reply != 0 || a.Request != typ {
			t.Errorf("%v: reply %v, %v; want it consumed without a reply", typ, a.Reply, err)
		}
	}
}

func TestInformGetsAckWithoutLease(t *testing.T) {
	s := dhcp.New(dhcp.Config{})
	f := dhcp.AppendClientFrame(nil, &dhcp.ClientMessage{Type: dhcp.Inform, MAC: vmMAC, CIAddr: vmAddr})
	a, err := s.Reply(nil, &dhcp.Input{Table: testTable(t, 0), Bridge: bridgeID, Frame: f})
	if err != nil || a.Reply != dhcp.Ack {
		t.Fatalf("INFORM: %v, %v", a.Reply, err)
	}
	d := decode(t, a.Frame)
	if _, ok := d.opts[layers.DHCPOptLeaseTime]; ok {
		t.Error("ACK to INFORM carries a lease time")
	}
	if !d.dhcp.YourClientIP.Equal(net.IPv4zero) || !d.ip.DstIP.Equal(net.IP(vmAddr.AsSlice())) {
		t.Errorf("ACK to INFORM: yiaddr %v, sent to %v; want 0.0.0.0, sent to the client's %v", d.dhcp.YourClientIP, d.ip.DstIP, vmAddr)
	}
	if _, ok := d.opts[layers.DHCPOptRouter]; !ok {
		t.Error("ACK to INFORM lacks the configuration")
	}
}

func TestBroadcastFlag(t *testing.T) {
	s := dhcp.New(dhcp.Config{})
	f := dhcp.AppendClientFrame(nil, &dhcp.ClientMessage{Type: dhcp.Discover, MAC: vmMAC, Broadcast: true})
	a, err := s.Reply(nil, &dhcp.Input{Table: testTable(t, 0), Bridge: bridgeID, Frame: f})
	if err != nil {
		t.Fatal(err)
	}
	if d := decode(t, a.Frame); !d.ip.DstIP.Equal(net.IPv4bcast) || !bytes.Equal(d.eth.DstMAC, layers.EthernetBroadcast) {
		t.Errorf("broadcast-flag OFFER sent to %v / %v", d.ip.DstIP, d.eth.DstMAC)
	}
}

func TestHostOptionReplacesSubnetOption(t *testing.T) {
	tab := testTable(t, 0)
	sub, host, ok := tab.Lookup(bridgeID, vmMAC)
	if !ok {
		t.Fatal("vm1 not in the table")
	}
	// A copy with an MTU override: 1300 instead of the computed 1450.
	h := *host
	h.Options = []topology.DHCPOption{{Code: dhcp.OptInterfaceMTU, Value: []byte{0x05, 0x14}}}
	sc := *sub
	sc.Hosts = []topology.DHCPHost{h}
	tab2 := dhcp.NewTable(topology.NewSnapshot(&topology.Topology{DHCPSubnets: []topology.DHCPSubnet{sc}}))
	a, err := dhcp.New(dhcp.Config{}).Reply(nil, &dhcp.Input{Table: tab2, Bridge: bridgeID, Frame: discover(vmMAC), TunnelMTU: 1450})
	if err != nil {
		t.Fatal(err)
	}
	d := decode(t, a.Frame)
	if got := d.opts[layers.DHCPOptInterfaceMTU]; !bytes.Equal(got, []byte{0x05, 0x14}) {
		t.Errorf("MTU option %v, want the host's 1300 only", got)
	}
}

func TestNoAnswer(t *testing.T) {
	s := dhcp.New(dhcp.Config{})
	tab := testTable(t, 0)
	cases := []struct {
		name  string
		frame []byte
		want  error
	}{
		{"unknown MAC", discover(otherMAC), dhcp.ErrUnknownHost},
		{"disabled subnet", discover(offMAC), dhcp.ErrUnknownHost},
		{"ARP", append(make([]byte, 12), 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1), dhcp.ErrNotDHCP},
		{"server to client", func() []byte {
			a, _ := s.Reply(nil, &dhcp.Input{Table: tab, Bridge: bridgeID, Frame: discover(vmMAC)})
			return a.Frame
		}(), dhcp.ErrNotDHCP},
		{"truncated message", discover(vmMAC)[:42+100], dhcp.ErrMalformed},
		{"no magic", func() []byte { f := discover(vmMAC); f[42+236] = 0; return f }(), dhcp.ErrMalformed},
	}
	for _, c := range cases {
		a, err := s.Reply(nil, &dhcp.Input{Table: tab, Bridge: bridgeID, Frame: c.frame})
		if !errors.Is(err, c.want) || a.Frame != nil {
			t.Errorf("%s: %v, reply of %d bytes; want %v and no reply", c.name, err, len(a.Frame), c.want)
		}
	}
	if _, err := s.Reply(nil, &dhcp.Input{Table: tab, Bridge: topology.NameID(topology.KindBridge, "other"), Frame: discover(vmMAC)}); !errors.Is(err, dhcp.ErrUnknownHost) {
		t.Errorf("another bridge: %v, want ErrUnknownHost", err)
	}
}

func TestReplyDoesNotAllocate(t *testing.T) {
	s := dhcp.New(dhcp.Config{})
	in := &dhcp.Input{Table: testTable(t, 0), Bridge: bridgeID, Frame: discover(vmMAC), TunnelMTU: 1450}
	buf := make([]byte, 0, 1024)
	if _, err := s.Reply(buf, in); err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(100, func() {
		if _, err := s.Reply(buf[:0], in); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Reply allocates %v times per call, want 0", n)
	}
}
