package inproc

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/topology"
)

var (
	ones4  = netip.MustParseAddr("255.255.255.255")
	ipNew  = netip.MustParseAddr("172.16.5.9")
	macNew = topology.MustParseMAC("02:aa:bb:cc:dd:ee")
)

// TestActionConformance runs each action list through Execute on a known
// frame and compares the output with a frame built independently with
// gopacket (fresh checksums), byte for byte.
func TestActionConformance(t *testing.T) {
	payload := gopacket.Payload("hello, datapath")
	tcp4 := func(mod func(e *layers.Ethernet, ip *layers.IPv4, tcp *layers.TCP)) []byte {
		e, ip := ethL(layers.EthernetTypeIPv4), ip4L(layers.IPProtocolTCP)
		tcp := tcpL(ip)
		if mod != nil {
			mod(e, ip, tcp)
		}
		return serialize(t, e, ip, tcp, payload)
	}
	udp4 := func(mod func(ip *layers.IPv4, udp *layers.UDP)) []byte {
		ip := ip4L(layers.IPProtocolUDP)
		udp := udpL(ip)
		if mod != nil {
			mod(ip, udp)
		}
		return serialize(t, ethL(layers.EthernetTypeIPv4), ip, udp, gopacket.Payload("dns?"))
	}
	noCsumUDP := func(mod func(udp []byte)) []byte {
		f := udp4(nil)
		f[14+20+6], f[14+20+7] = 0, 0 // "no checksum"
		if mod != nil {
			mod(f[14+20:])
		}
		return f
	}
	vlan := func(id uint16, pcp uint8) []byte {
		e, ip := ethL(layers.EthernetTypeDot1Q), ip4L(layers.IPProtocolTCP)
		return serialize(t, e, &layers.Dot1Q{VLANIdentifier: id, Priority: pcp, Type: layers.EthernetTypeIPv4}, ip, tcpL(ip), payload)
	}
	tcp6 := func(mod func(ip *layers.IPv6)) []byte {
		ip := ip6L(layers.IPProtocolTCP)
		if mod != nil {
			mod(ip)
		}
		return serialize(t, ethL(layers.EthernetTypeIPv6), ip, tcpL(ip), gopacket.Payload("v6"))
	}

	for _, tc := range []struct {
		name string
		in   []byte
		acts datapath.Actions
		want map[int][]byte // port index (1: b, 2: c) -> frames in order
	}{
		{"output", tcp4(nil), out(2), map[int][]byte{1: tcp4(nil)}},
		{"set ethernet", tcp4(nil), datapath.Actions{
			datapath.Set[datapath.EthernetKey]{Value: datapath.EthernetKey{Src: macC, Dst: macNew}}, datapath.Output{Port: 2},
		}, map[int][]byte{1: tcp4(func(e *layers.Ethernet, _ *layers.IPv4, _ *layers.TCP) { e.SrcMAC, e.DstMAC = hw(macC), hw(macNew) })}},
		{"set_masked ethernet", tcp4(nil), datapath.Actions{
			datapath.SetMasked[datapath.EthernetKey]{Value: datapath.EthernetKey{Dst: topology.MAC{0, 0, 0, 0, 0, 0x77}},
				Mask: datapath.EthernetKey{Dst: topology.MAC{0, 0, 0, 0, 0, 0xff}}}, datapath.Output{Port: 2},
		}, map[int][]byte{1: tcp4(func(e *layers.Ethernet, _ *layers.IPv4, _ *layers.TCP) {
			e.DstMAC = hw(topology.MAC{2, 0, 0, 0, 0, 0x77})
		})}},
		{"set ipv4", tcp4(nil), datapath.Actions{
			datapath.Set[datapath.IPv4Key]{Value: datapath.IPv4Key{Src: ipNew, Dst: ipC, Proto: protoTCP, TOS: 0x10, TTL: 9}},
			datapath.Output{Port: 2},
		}, map[int][]byte{1: tcp4(func(_ *layers.Ethernet, ip *layers.IPv4, tcp *layers.TCP) {
			ip.SrcIP, ip.DstIP, ip.TOS, ip.TTL = nip(ipNew), nip(ipC), 0x10, 9
			_ = tcp.SetNetworkLayerForChecksum(ip)
		})}},
		{"set_masked ipv4 ttl", tcp4(nil), datapath.Actions{
			datapath.SetMasked[datapath.IPv4Key]{Value: datapath.IPv4Key{TTL: 60}, Mask: datapath.IPv4Key{TTL: 0xff}},
			datapath.Output{Port: 2},
		}, map[int][]byte{1: tcp4(func(_ *layers.Ethernet, ip *layers.IPv4, _ *layers.TCP) { ip.TTL = 60 })}},
		{"set_masked ipv4 dst prefix", tcp4(nil), datapath.Actions{
			datapath.SetMasked[datapath.IPv4Key]{Value: datapath.IPv4Key{Dst: netip.MustParseAddr("192.168.7.0")},
				Mask: datapath.IPv4Key{Dst: netip.MustParseAddr("255.255.255.0")}},
			datapath.Output{Port: 2},
		}, map[int][]byte{1: tcp4(func(_ *layers.Ethernet, ip *layers.IPv4, tcp *layers.TCP) {
			ip.DstIP = nip(netip.MustParseAddr("192.168.7.20"))
			_ = tcp.SetNetworkLayerForChecksum(ip)
		})}},
		{"set tcp", tcp4(nil), datapath.Actions{
			datapath.Set[datapath.TCPKey]{Value: datapath.TCPKey{Src: 1111, Dst: 8443}}, datapath.Output{Port: 2},
		}, map[int][]byte{1: tcp4(func(_ *layers.Ethernet, _ *layers.IPv4, tcp *layers.TCP) { tcp.SrcPort, tcp.DstPort = 1111, 8443 })}},
		{"set_masked udp dst", udp4(nil), datapath.Actions{
			datapath.SetMasked[datapath.UDPKey]{Value: datapath.UDPKey{Dst: 5353}, Mask: datapath.UDPKey{Dst: 0xffff}},
			datapath.Output{Port: 2},
		}, map[int][]byte{1: udp4(func(_ *layers.IPv4, udp *layers.UDP) { udp.DstPort = 5353 })}},
		{"set udp without checksum keeps it zero", noCsumUDP(nil), datapath.Actions{
			datapath.Set[datapath.UDPKey]{Value: datapath.UDPKey{Src: 1, Dst: 2}}, datapath.Output{Port: 2},
		}, map[int][]byte{1: noCsumUDP(func(u []byte) { u[0], u[1], u[2], u[3] = 0, 1, 0, 2 })}},
		{"set ipv4 on udp without checksum", noCsumUDP(nil), datapath.Actions{
			datapath.SetMasked[datapath.IPv4Key]{Value: datapath.IPv4Key{Src: ipNew}, Mask: datapath.IPv4Key{Src: ones4}},
			datapath.Output{Port: 2},
		}, map[int][]byte{1: func() []byte {
			f := udp4(func(ip *layers.IPv4, _ *layers.UDP) { ip.SrcIP = nip(ipNew) })
			f[14+20+6], f[14+20+7] = 0, 0
			return f
		}()}},
		{"push_vlan", tcp4(nil), datapath.Actions{
			datapath.PushVLAN{TPID: 0x8100, TCI: 3<<13 | vlanCFI | 42}, datapath.Output{Port: 2},
		}, map[int][]byte{1: vlan(42, 3)}},
		{"pop_vlan", vlan(42, 3), datapath.Actions{datapath.PopVLAN{}, datapath.Output{Port: 2}}, map[int][]byte{1: tcp4(nil)}},
		{"pop_vlan of an untagged frame", tcp4(nil), datapath.Actions{datapath.PopVLAN{}, datapath.Output{Port: 2}}, map[int][]byte{1: tcp4(nil)}},
		{"pop, set and push", vlan(42, 3), datapath.Actions{
			datapath.PopVLAN{},
			datapath.SetMasked[datapath.IPv4Key]{Value: datapath.IPv4Key{TTL: 60}, Mask: datapath.IPv4Key{TTL: 0xff}},
			datapath.PushVLAN{TPID: 0x8100, TCI: vlanCFI | 7}, datapath.Output{Port: 2},
		}, map[int][]byte{1: func() []byte {
			e, ip := ethL(layers.EthernetTypeDot1Q), ip4L(layers.IPProtocolTCP)
			ip.TTL = 60
			return serialize(t, e, &layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeIPv4}, ip, tcpL(ip), payload)
		}()}},
		{"set_masked ipv6 tclass, label, hop limit", tcp6(nil), datapath.Actions{
			datapath.SetMasked[datapath.IPv6Key]{Value: datapath.IPv6Key{TClass: 0xb8, Label: 0x00042, HLimit: 3},
				Mask: datapath.IPv6Key{TClass: 0xfc, Label: 0xfffff, HLimit: 0xff}},
			datapath.Output{Port: 2},
		}, map[int][]byte{1: tcp6(func(ip *layers.IPv6) { ip.TrafficClass, ip.FlowLabel, ip.HopLimit = 0xb8, 0x42, 3 })}},
		{"outputs see the packet as it was", tcp4(nil), datapath.Actions{
			datapath.Output{Port: 2},
			datapath.Set[datapath.TCPKey]{Value: datapath.TCPKey{Src: 1, Dst: 2}},
			datapath.Output{Port: 3},
		}, map[int][]byte{1: tcp4(nil), 2: tcp4(func(_ *layers.Ethernet, _ *layers.IPv4, tcp *layers.TCP) { tcp.SrcPort, tcp.DstPort = 1, 2 })}},
		{"trunc applies to the next output only", tcp4(nil), datapath.Actions{
			datapath.Trunc{MaxLen: 40}, datapath.Output{Port: 2}, datapath.Output{Port: 3},
		}, map[int][]byte{1: tcp4(nil)[:40], 2: tcp4(nil)}},
		{"clone", tcp4(nil), datapath.Actions{
			datapath.Clone{Actions: datapath.Actions{datapath.Set[datapath.EthernetKey]{Value: datapath.EthernetKey{Src: macC, Dst: macNew}},
				datapath.Output{Port: 2}}},
			datapath.Output{Port: 3},
		}, map[int][]byte{1: tcp4(func(e *layers.Ethernet, _ *layers.IPv4, _ *layers.TCP) { e.SrcMAC, e.DstMAC = hw(macC), hw(macNew) }), 2: tcp4(nil)}},
		{"sample always and never", tcp4(nil), datapath.Actions{
			datapath.Sample{Probability: 0, Actions: out(2)},
			datapath.Sample{Probability: ^uint32(0), Actions: out(3)},
		}, map[int][]byte{2: tcp4(nil)}},
		{"output to a missing port drops", tcp4(nil), datapath.Actions{datapath.Output{Port: 77}}, nil},
		{"empty actions drop", tcp4(nil), nil, nil},
		{"ct_clear and meter are no-ops", tcp4(nil), datapath.Actions{datapath.CTClear{}, datapath.Meter{ID: 3}, datapath.Output{Port: 2}},
			map[int][]byte{1: tcp4(nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDP(t, Config{})
			a, b, c := addPort(t, d, "a"), addPort(t, d, "b"), addPort(t, d, "c")
			if b.Port() != 2 || c.Port() != 3 {
				t.Fatalf("ports %d %d, want 2 3", b.Port(), c.Port())
			}
			in := append([]byte(nil), tc.in...)
			key := &datapath.FlowKey{Fields: datapath.KeyInPort, InPort: a.Port()}
			if err := d.Execute(ctxT(t), in, key, tc.acts); err != nil {
				t.Fatal(err)
			}
			if string(in) != string(tc.in) {
				t.Error("Execute modified the caller's packet")
			}
			for i, ep := range []*Endpoint{b, c} {
				want, ok := tc.want[i+1]
				if !ok {
					if n := ep.Pending(); n != 0 {
						t.Errorf("%v got %d unexpected frames", ep, n)
					}
					continue
				}
				got := receiveOne(t, ep)
				if string(got) != string(want) {
					t.Errorf("%v:\n got  %x\n want %x", ep, got, want)
				}
				if len(want) == len(tc.in) && !strings.Contains(tc.name, "without checksum") {
					checksumsOK(t, got)
				}
			}
		})
	}
}

func TestActionValidation(t *testing.T) {
	d := newDP(t, Config{})
	ctx := ctxT(t)
	tcp, arp := tcpFrame(t), unhex("02000000000b02000000000a0806"+"0001080006040001"+"02000000000a0a000001"+"0000000000000a000114")
	for _, tc := range []struct {
		name  string
		frame []byte
		acts  datapath.Actions
		want  error
	}{
		{"recirc", tcp, datapath.Actions{datapath.Recirc{ID: 1}}, datapath.ErrNotSupported},
		{"hash", tcp, datapath.Actions{datapath.Hash{Alg: 1}}, datapath.ErrNotSupported},
		{"ct", tcp, datapath.Actions{datapath.CT{Commit: true}}, datapath.ErrNotSupported},
		{"unknown", tcp, datapath.Actions{datapath.UnknownAction{Type: 99}}, datapath.ErrNotSupported},
		{"nested recirc", tcp, datapath.Actions{datapath.Clone{Actions: datapath.Actions{datapath.Recirc{}}}}, datapath.ErrNotSupported},
		{"set ipv6 addresses", tcp6Frame(t), datapath.Actions{datapath.SetMasked[datapath.IPv6Key]{
			Value: datapath.IPv6Key{Src: ip6B}, Mask: datapath.IPv6Key{Src: netip.MustParseAddr("ffff:ffff:ffff:ffff::")}}}, datapath.ErrNotSupported},
		{"set ipv6 unmasked", tcp6Frame(t), datapath.Actions{datapath.Set[datapath.IPv6Key]{Value: datapath.IPv6Key{Proto: protoTCP}}}, datapath.ErrNotSupported},
		{"set ipv4 on arp", arp, datapath.Actions{datapath.SetMasked[datapath.IPv4Key]{Value: datapath.IPv4Key{TTL: 1}, Mask: datapath.IPv4Key{TTL: 0xff}}}, datapath.ErrInvalid},
		{"set ipv4 changing proto", tcp, datapath.Actions{datapath.Set[datapath.IPv4Key]{Value: datapath.IPv4Key{Proto: 17}}}, datapath.ErrInvalid},
		{"set_masked ipv4 proto", tcp, datapath.Actions{datapath.SetMasked[datapath.IPv4Key]{Value: datapath.IPv4Key{}, Mask: datapath.IPv4Key{Proto: 0xff}}}, datapath.ErrInvalid},
		{"set udp on tcp", tcp, datapath.Actions{datapath.Set[datapath.UDPKey]{}}, datapath.ErrInvalid},
		{"set sctp on tcp", tcp, datapath.Actions{datapath.Set[datapath.SCTPKey]{}}, datapath.ErrInvalid},
		{"set nd", tcp, datapath.Actions{datapath.Set[datapath.NDKey]{}}, datapath.ErrInvalid},
		{"value outside mask", tcp, datapath.Actions{datapath.SetMasked[datapath.TCPKey]{Value: datapath.TCPKey{Dst: 0x1ff}, Mask: datapath.TCPKey{Dst: 0xff}}}, datapath.ErrInvalid},
		{"masked tunnel", tcp, datapath.Actions{datapath.SetMasked[datapath.TunnelKey]{}}, datapath.ErrInvalid},
		{"tunnel without dst", tcp, datapath.Actions{datapath.Set[datapath.TunnelKey]{Value: datapath.TunnelKey{ID: 1}}}, datapath.ErrInvalid},
		{"push_vlan bad tpid", tcp, datapath.Actions{datapath.PushVLAN{TPID: 0x0800, TCI: vlanCFI}}, datapath.ErrInvalid},
		{"push_vlan without cfi", tcp, datapath.Actions{datapath.PushVLAN{TPID: 0x8100, TCI: 5}}, datapath.ErrInvalid},
		{"trunc too short", tcp, datapath.Actions{datapath.Trunc{MaxLen: 10}}, datapath.ErrInvalid},
		{"output out of range", tcp, datapath.Actions{datapath.Output{Port: 1 << 16}}, datapath.ErrInvalid},
	} {
		err := d.Execute(ctx, tc.frame, &datapath.FlowKey{Fields: datapath.KeyInPort, InPort: 0}, tc.acts)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		var oe *datapath.OpError
		if err != nil && (!errors.As(err, &oe) || oe.Op != "packet execute") {
			t.Errorf("%s: %v is not a packet execute OpError", tc.name, err)
		}
	}
	for _, n := range []int{0, 13, 1 << 16} {
		if err := d.Execute(ctx, make([]byte, n), nil, nil); !errors.Is(err, datapath.ErrInvalid) {
			t.Errorf("packet of %d bytes: %v, want EINVAL", n, err)
		}
	}

	// Flows are validated against their masked key: a set(ipv4) needs the
	// ethertype matched exactly, a set(tcp) the protocol.
	k := keyOf(tcp, 1)
	noProto := l4Mask()
	noProto.IPv4.Proto = 0
	noProto.Fields &^= datapath.KeyTCP
	noProto.TCP = datapath.TCPKey{}
	for _, tc := range []struct {
		mask datapath.FlowKey
		acts datapath.Actions
		want error
	}{
		{noProto, datapath.Actions{datapath.Set[datapath.TCPKey]{Value: datapath.TCPKey{Src: 1, Dst: 2}}}, datapath.ErrInvalid},
		{l4Mask(), datapath.Actions{datapath.Set[datapath.TCPKey]{Value: datapath.TCPKey{Src: 1, Dst: 2}}}, nil},
		{l4Mask().Without(datapath.KeyEtherType), datapath.Actions{datapath.SetMasked[datapath.IPv4Key]{Value: datapath.IPv4Key{TTL: 1}, Mask: datapath.IPv4Key{TTL: 0xff}}}, datapath.ErrInvalid},
	} {
		f := datapath.Flow{Match: datapath.Match{Key: k, Mask: tc.mask}, Actions: tc.acts}
		if err := d.PutFlow(ctx, &f, datapath.PutCreate); !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("flow with mask %+v and %v: %v, want %v", tc.mask, tc.acts, err, tc.want)
		}
	}
}

// A failing action drops the packet: the outputs before it happened, none
// after, and the port counts the drop.
func TestActionFailureDrops(t *testing.T) {
	d := newDP(t, Config{})
	a, b, c := addPort(t, d, "a"), addPort(t, d, "b"), addPort(t, d, "c")
	frame := tcpFrame(t)
	// The flow matches the truncated-datagram frame below (its key is the
	// same), but simulation/packet cannot lay the frame out for a rewrite.
	bad := append([]byte(nil), frame...)
	bad[14+3] += 50 // IPv4 total length beyond the frame
	k := keyOf(bad, a.Port())
	f := datapath.Flow{Match: datapath.Match{Key: k, Mask: l4Mask()}, Actions: datapath.Actions{
		datapath.Output{Port: b.Port()},
		datapath.SetMasked[datapath.IPv4Key]{Value: datapath.IPv4Key{TTL: 1}, Mask: datapath.IPv4Key{TTL: 0xff}},
		datapath.Output{Port: c.Port()},
	}}
	if err := d.PutFlow(ctxT(t), &f, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(bad); err != nil {
		t.Fatal(err)
	}
	receiveOne(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if f, err := c.Receive(ctx); err == nil {
		t.Errorf("frame %x output after a failed action", f)
	}
	if p, _ := d.Port(ctxT(t), a.Port()); p.Stats.RxDropped != 1 {
		t.Errorf("rx dropped %d, want 1", p.Stats.RxDropped)
	}
	// The same through Execute returns the error.
	if err := d.Execute(ctxT(t), bad, &datapath.FlowKey{Fields: datapath.KeyInPort, InPort: a.Port()}, f.Actions[1:2]); err == nil {
		t.Error("Execute of a failing action returned nil")
	}
}

// check_pkt_len sends frames longer than its size down the greater branch
// (here: to userspace) and the others down the less-equal branch, on a
// copy: the actions after it see the packet as it was.
func TestCheckPktLen(t *testing.T) {
	d := newDP(t, Config{})
	sock, err := d.OpenUpcalls()
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	a, b, c := addPort(t, d, "a"), addPort(t, d, "b"), addPort(t, d, "c")
	frame := tcpFrame(t)
	k := keyOf(frame, a.Port())
	acts := datapath.Actions{
		datapath.CheckPktLen{PktLen: uint16(len(frame)),
			Greater: datapath.Actions{datapath.Userspace{PID: sock.PID()}},
			LessEqual: datapath.Actions{
				datapath.SetMasked[datapath.IPv4Key]{Value: datapath.IPv4Key{TTL: 1}, Mask: datapath.IPv4Key{TTL: 0xff}},
				datapath.Output{Port: b.Port()}}},
		datapath.Output{Port: c.Port()},
	}
	f := datapath.Flow{Match: datapath.Match{Key: k, Mask: l4Mask()}, Actions: acts}
	if err := d.PutFlow(ctxT(t), &f, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(frame); err != nil {
		t.Fatal(err)
	}
	if got := receiveOne(t, b); got[14+8] != 1 {
		t.Errorf("less-equal branch: TTL %d, want the rewrite to 1", got[14+8])
	}
	if got := receiveOne(t, c); got[14+8] == 1 {
		t.Error("the action after check_pkt_len saw the branch's rewrite")
	}
	// One byte longer (same key: the IP total length is not in it).
	long := append(append([]byte(nil), frame...), 0)
	if err := a.Send(long); err != nil {
		t.Fatal(err)
	}
	var u datapath.Upcall
	if err := sock.Receive(ctxT(t), &u); err != nil {
		t.Fatal(err)
	}
	if u.Kind != datapath.UpcallAction || len(u.Packet) != len(long) {
		t.Errorf("greater branch: upcall kind %v of %d bytes, want an action upcall of %d", u.Kind, len(u.Packet), len(long))
	}
	if got := receiveOne(t, c); len(got) != len(long) {
		t.Errorf("after the greater branch: %d bytes out of c", len(got))
	}
	if err := d.Execute(ctxT(t), frame, &k, datapath.Actions{datapath.CheckPktLen{}}); !errors.Is(err, datapath.ErrInvalid) {
		t.Errorf("check_pkt_len of size 0: %v, want EINVAL", err)
	}
}

// maskedActionKey reads what validateActions would read of the masked key,
// for masks that match all, part or none of the ethertype and IP fields.
func TestMaskedActionKey(t *testing.T) {
	v4 := datapath.FlowKey{Fields: datapath.KeyEtherType | datapath.KeyIPv4, EtherType: ethIPv4,
		IPv4: datapath.IPv4Key{Proto: 17, Frag: datapath.FragLater}}
	v6 := datapath.FlowKey{Fields: datapath.KeyEtherType | datapath.KeyIPv6, EtherType: ethIPv6,
		IPv6: datapath.IPv6Key{Proto: 6, Frag: datapath.FragFirst}}
	masks := []datapath.FlowKey{
		datapath.ExactMask(v4), datapath.ExactMask(v6),
		{Fields: datapath.KeyEtherType, EtherType: 0xffff},
		{Fields: datapath.KeyEtherType | datapath.KeyIPv4 | datapath.KeyIPv6, EtherType: 0xffff,
			IPv4: datapath.IPv4Key{Proto: 0x0f}, IPv6: datapath.IPv6Key{Frag: 0xff}},
		{Fields: datapath.KeyEtherType | datapath.KeyIPv4, EtherType: 0xff00, IPv4: datapath.IPv4Key{Proto: 0xff}},
		{Fields: datapath.KeyIPv4 | datapath.KeyIPv6, IPv4: datapath.IPv4Key{Proto: 0xff}, IPv6: datapath.IPv6Key{Proto: 0xff}},
		{},
	}
	for _, key := range []datapath.FlowKey{v4, v6} {
		for i, mask := range masks {
			masked := key.Masked(&mask)
			if got, want := maskedActionKey(&key, &mask), actionKeyOf(&masked); got != want {
				t.Errorf("key %#04x mask %d: %+v, want %+v", key.EtherType, i, got, want)
			}
		}
	}
}
