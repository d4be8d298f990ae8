package packet

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// params are the rewritable values a test frame is built from.
type params struct {
	src, dst            netip.Addr
	tos, ttl            uint8
	sport, dport, id    uint16
	isrc, idst          netip.Addr
	isport, idport, iid uint16
}

func baseParams() params {
	return params{
		src: ipA, dst: ipB, tos: 0x10, ttl: 64, sport: 40000, dport: 80, id: 0x4242,
		isrc: ipB, idst: v4("198.51.100.7"), isport: 3333, idport: 53, iid: 0x0707,
	}
}

func p4(p params, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TOS: p.tos, TTL: p.ttl, Id: 99, Protocol: proto, SrcIP: nip(p.src), DstIP: nip(p.dst)}
}

var data = gopacket.Payload([]byte("some payload bytes!"))

func buildTCP(t testing.TB, p params) []byte {
	ip := p4(p, layers.IPProtocolTCP)
	tcp := &layers.TCP{SrcPort: layers.TCPPort(p.sport), DstPort: layers.TCPPort(p.dport), Seq: 1e6, ACK: true, PSH: true, Window: 500}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	return serialize(t, ethL(layers.EthernetTypeIPv4), ip, tcp, data)
}

func buildUDP(t testing.TB, p params) []byte {
	ip := p4(p, layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: layers.UDPPort(p.sport), DstPort: layers.UDPPort(p.dport)}
	_ = udp.SetNetworkLayerForChecksum(ip)
	return serialize(t, ethL(layers.EthernetTypeIPv4), ip, udp, data)
}

func buildUDPNoChecksum(t testing.TB, p params) []byte {
	f := buildUDP(t, p)
	f[40], f[41] = 0, 0
	return f
}

func buildTCPFirstFrag(t testing.TB, p params) []byte {
	ip := p4(p, layers.IPProtocolTCP)
	ip.Flags = layers.IPv4MoreFragments
	tcp := &layers.TCP{SrcPort: layers.TCPPort(p.sport), DstPort: layers.TCPPort(p.dport), SYN: true}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	return serialize(t, ethL(layers.EthernetTypeIPv4), ip, tcp, data)
}

func buildLaterFrag(t testing.TB, p params) []byte {
	ip := p4(p, layers.IPProtocolUDP)
	ip.FragOffset = 100
	return serialize(t, ethL(layers.EthernetTypeIPv4), ip, data)
}

func buildEcho(t testing.TB, p params) []byte {
	return serialize(t, ethL(layers.EthernetTypeIPv4), p4(p, layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: p.id, Seq: 5}, data)
}

func quoted(t testing.TB, p params, proto layers.IPProtocol, n int) []byte {
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 1, Id: 7, Protocol: proto, SrcIP: nip(p.isrc), DstIP: nip(p.idst)}
	var l4 gopacket.SerializableLayer
	switch proto {
	case layers.IPProtocolUDP:
		u := &layers.UDP{SrcPort: layers.UDPPort(p.isport), DstPort: layers.UDPPort(p.idport)}
		_ = u.SetNetworkLayerForChecksum(ip)
		l4 = u
	case layers.IPProtocolTCP:
		tc := &layers.TCP{SrcPort: layers.TCPPort(p.isport), DstPort: layers.TCPPort(p.idport), SYN: true, Window: 9}
		_ = tc.SetNetworkLayerForChecksum(ip)
		l4 = tc
	default:
		l4 = &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: p.iid, Seq: 9}
	}
	q := serialize(t, ip, l4, data)
	if n > 0 {
		q = q[:n]
	}
	return q
}

func buildErr(proto layers.IPProtocol, n int) func(testing.TB, params) []byte {
	return func(t testing.TB, p params) []byte {
		return serialize(t, ethL(layers.EthernetTypeIPv4), p4(p, layers.IPProtocolICMPv4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, gopacket.Payload(quoted(t, p, proto, n)))
	}
}

func TestRewrite(t *testing.T) {
	type rc struct {
		name  string
		build func(testing.TB, params) []byte
		mod   func(*params)
		raw   func(f []byte, l Layout, p params) error
		set   func(m *Match, p params)
	}
	newSrc, newDst := v4("203.0.113.77"), v4("100.64.0.1")
	src := rc{mod: func(p *params) { p.src = newSrc }, raw: func(f []byte, l Layout, p params) error { return SetIPv4Src(f, l, p.src) }, set: func(m *Match, p params) { m.SetIPSrc(p.src) }}
	dst := rc{mod: func(p *params) { p.dst = newDst }, raw: func(f []byte, l Layout, p params) error { return SetIPv4Dst(f, l, p.dst) }, set: func(m *Match, p params) { m.SetIPDst(p.dst) }}
	tos := rc{mod: func(p *params) { p.tos = 0xb9 }, raw: func(f []byte, l Layout, p params) error { return SetIPv4TOS(f, l, p.tos) }, set: func(m *Match, p params) { m.SetIPTOS(p.tos) }}
	ttl := rc{mod: func(p *params) { p.ttl = 63 }, raw: func(f []byte, l Layout, p params) error { return SetIPv4TTL(f, l, p.ttl) }, set: func(m *Match, p params) { m.SetIPTTL(p.ttl) }}
	sport := rc{mod: func(p *params) { p.sport = 1025 }, raw: func(f []byte, l Layout, p params) error { return SetL4Src(f, l, p.sport) }, set: func(m *Match, p params) { m.SetSrcPort(p.sport) }}
	dport := rc{mod: func(p *params) { p.dport = 8080 }, raw: func(f []byte, l Layout, p params) error { return SetL4Dst(f, l, p.dport) }, set: func(m *Match, p params) { m.SetDstPort(p.dport) }}
	icmpID := rc{mod: func(p *params) { p.id = 0xfffe }, raw: func(f []byte, l Layout, p params) error { return SetICMPID(f, l, p.id) }, set: func(m *Match, p params) { m.SetICMPID(p.id) }}
	isrc := rc{mod: func(p *params) { p.isrc = newSrc }, raw: func(f []byte, l Layout, p params) error { return SetInnerSrc(f, l, p.isrc) },
		set: func(m *Match, p params) { in := m.Peek().ICMPData(); in.Src = p.isrc; m.SetICMPData(in) }}
	idst := rc{mod: func(p *params) { p.idst = newDst }, raw: func(f []byte, l Layout, p params) error { return SetInnerDst(f, l, p.idst) },
		set: func(m *Match, p params) { in := m.Peek().ICMPData(); in.Dst = p.idst; m.SetICMPData(in) }}
	isport := rc{mod: func(p *params) { p.isport = 61000 }, raw: func(f []byte, l Layout, p params) error { return SetInnerSrcPort(f, l, p.isport) },
		set: func(m *Match, p params) { in := m.Peek().ICMPData(); in.SrcPort = p.isport; m.SetICMPData(in) }}
	idport := rc{mod: func(p *params) { p.idport = 5 }, raw: func(f []byte, l Layout, p params) error { return SetInnerDstPort(f, l, p.idport) },
		set: func(m *Match, p params) { in := m.Peek().ICMPData(); in.DstPort = p.idport; m.SetICMPData(in) }}
	iid := rc{mod: func(p *params) { p.iid = 1 }, raw: func(f []byte, l Layout, p params) error { return SetInnerICMPID(f, l, p.iid) },
		set: func(m *Match, p params) { in := m.Peek().ICMPData(); in.ICMPID = p.iid; m.SetICMPData(in) }}
	// SNAT: several fields at once (Apply path only checks them together).
	snat := rc{mod: func(p *params) { p.src = newSrc; p.sport = 2000; p.ttl = 1 },
		raw: func(f []byte, l Layout, p params) error {
			return errors.Join(SetIPv4Src(f, l, p.src), SetL4Src(f, l, p.sport), SetIPv4TTL(f, l, p.ttl))
		},
		set: func(m *Match, p params) { m.SetIPSrc(p.src); m.SetSrcPort(p.sport); m.SetIPTTL(p.ttl) }}
	// Reverse NAT of an ICMP error: outer dst and quoted src/port.
	revnat := rc{mod: func(p *params) { p.dst = newDst; p.isrc = newDst; p.isport = 4444 },
		raw: func(f []byte, l Layout, p params) error {
			return errors.Join(SetIPv4Dst(f, l, p.dst), SetInnerSrc(f, l, p.isrc), SetInnerSrcPort(f, l, p.isport))
		},
		set: func(m *Match, p params) {
			m.SetIPDst(p.dst)
			in := m.Peek().ICMPData()
			in.Src, in.SrcPort = p.isrc, p.isport
			m.SetICMPData(in)
		}}

	with := func(name string, b func(testing.TB, params) []byte, r rc) rc {
		r.name, r.build = name, b
		return r
	}
	errUDP, errTCPLong, errEcho := buildErr(layers.IPProtocolUDP, 28), buildErr(layers.IPProtocolTCP, 0), buildErr(layers.IPProtocolICMPv4, 28)
	cases := []rc{
		with("tcp/src", buildTCP, src), with("tcp/dst", buildTCP, dst), with("tcp/tos", buildTCP, tos), with("tcp/ttl", buildTCP, ttl),
		with("tcp/sport", buildTCP, sport), with("tcp/dport", buildTCP, dport), with("tcp/snat", buildTCP, snat),
		with("udp/src", buildUDP, src), with("udp/dst", buildUDP, dst), with("udp/sport", buildUDP, sport), with("udp/dport", buildUDP, dport),
		with("udp-nocsum/src", buildUDPNoChecksum, src), with("udp-nocsum/dport", buildUDPNoChecksum, dport),
		with("tcp-first-frag/src", buildTCPFirstFrag, src), with("tcp-first-frag/dport", buildTCPFirstFrag, dport),
		with("later-frag/src", buildLaterFrag, src), with("later-frag/ttl", buildLaterFrag, ttl),
		with("echo/src", buildEcho, src), with("echo/id", buildEcho, icmpID), with("echo/tos", buildEcho, tos),
		with("err-udp/isrc", errUDP, isrc), with("err-udp/idst", errUDP, idst), with("err-udp/isport", errUDP, isport),
		with("err-udp/idport", errUDP, idport), with("err-udp/revnat", errUDP, revnat),
		with("err-tcp-long/isrc", errTCPLong, isrc), with("err-tcp-long/idport", errTCPLong, idport), with("err-tcp-long/revnat", errTCPLong, revnat),
		with("err-echo/iid", errEcho, iid), with("err-echo/idst", errEcho, idst),
	}
	for _, c := range cases {
		p := baseParams()
		orig := c.build(t, p)
		c.mod(&p)
		want := c.build(t, p)
		if strings.HasPrefix(c.name, "udp-nocsum") {
			// gopacket always computes UDP checksums; a zero one must stay zero.
			want[40], want[41] = 0, 0
		}
		t.Run(c.name+"/raw", func(t *testing.T) {
			f := bytes.Clone(orig)
			var m Match
			if err := m.Parse(f); err != nil {
				t.Fatal(err)
			}
			if err := c.raw(f, m.Layout(), p); err != nil {
				t.Fatalf("rewrite: %v", err)
			}
			if !bytes.Equal(f, want) {
				t.Fatalf("rewritten frame differs from a full rebuild\n got %x\nwant %x", f, want)
			}
			verifyChecksums(t, f)
		})
		t.Run(c.name+"/apply", func(t *testing.T) {
			f := bytes.Clone(orig)
			var from Match
			if err := from.Parse(f); err != nil {
				t.Fatal(err)
			}
			to := from
			c.set(&to, p)
			out, err := Apply(f, &from, &to)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !bytes.Equal(out, want) {
				t.Fatalf("applied frame differs from a full rebuild\n got %x\nwant %x", out, want)
			}
			var back Match
			if err := back.Parse(out); err != nil {
				t.Fatal(err)
			}
			if Changed(&back, &to) != 0 {
				t.Errorf("re-parsed frame still differs from target in %v", Changed(&back, &to))
			}
		})
	}
}

func TestVLANPushPop(t *testing.T) {
	p := baseParams()
	plain := buildUDP(t, p)
	ip := p4(p, layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: layers.UDPPort(p.sport), DstPort: layers.UDPPort(p.dport)}
	_ = udp.SetNetworkLayerForChecksum(ip)
	tagged := serialize(t, ethL(layers.EthernetTypeQinQ),
		&layers.Dot1Q{VLANIdentifier: 300, Priority: 2, Type: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 12, Type: layers.EthernetTypeIPv4}, ip, udp, data)

	// Push twice into a buffer with spare capacity: no reallocation.
	buf := make([]byte, len(plain), len(plain)+8)
	copy(buf, plain)
	var m Match
	if err := m.Parse(buf); err != nil {
		t.Fatal(err)
	}
	l := m.Layout()
	f, err := PushVLAN(buf, &l, VLAN{TPID: EtherTypeVLAN, ID: 12})
	if err != nil {
		t.Fatal(err)
	}
	f, err = PushVLAN(f, &l, VLAN{TPID: EtherTypeQinQ, ID: 300, PCP: 2})
	if err != nil {
		t.Fatal(err)
	}
	if &f[0] != &buf[0] {
		t.Error("PushVLAN reallocated despite spare capacity")
	}
	if !bytes.Equal(f, tagged) {
		t.Fatalf("push:\n got %x\nwant %x", f, tagged)
	}
	if _, err := PushVLAN(f, &l, VLAN{TPID: EtherTypeVLAN}); !errors.Is(err, ErrBadArgument) {
		t.Errorf("third push: %v", err)
	}
	var back Match
	if err := back.Parse(f); err != nil {
		t.Fatal(err)
	}
	if back.Layout() != l {
		t.Errorf("layout after push %+v, parse says %+v", l, back.Layout())
	}
	f, err = PopVLAN(f, &l)
	if err == nil {
		f, err = PopVLAN(f, &l)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f, plain) || l != m.Layout() {
		t.Fatalf("pop:\n got %x\nwant %x", f, plain)
	}
	if _, err := PopVLAN(f, &l); !errors.Is(err, ErrUnsupported) {
		t.Errorf("pop untagged: %v", err)
	}
	if _, err := PushVLAN(f, &l, VLAN{TPID: 0x0800}); !errors.Is(err, ErrBadArgument) {
		t.Errorf("push bad TPID: %v", err)
	}

	// Apply: retag outer 300 -> 301 keeping the inner tag, then untag.
	var from Match
	if err := from.Parse(bytes.Clone(tagged)); err != nil {
		t.Fatal(err)
	}
	to := from
	to.PopVLAN()
	to.PushVLAN(VLAN{TPID: EtherTypeQinQ, ID: 301})
	out, err := Apply(bytes.Clone(tagged), &from, &to)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(tagged)
	put16(want[14:], VLAN{ID: 301}.TCI())
	if !bytes.Equal(out, want) {
		t.Fatalf("Apply retag:\n got %x\nwant %x", out, want)
	}
	to = from
	to.SetVLANs(VLANStack{})
	to.SetIPTTL(5)
	out, err = Apply(bytes.Clone(tagged), &from, &to)
	if err != nil {
		t.Fatal(err)
	}
	p.ttl = 5
	if want := buildUDP(t, p); !bytes.Equal(out, want) {
		t.Fatalf("Apply untag+ttl:\n got %x\nwant %x", out, want)
	}
}

func TestRewriteErrors(t *testing.T) {
	p := baseParams()
	udp := buildUDP(t, p)
	var m Match
	if err := m.Parse(udp); err != nil {
		t.Fatal(err)
	}
	l := m.Layout()
	ip6 := &layers.IPv6{Version: 6, NextHeader: layers.IPProtocolUDP, HopLimit: 1, SrcIP: nip(ip6A), DstIP: nip(ip6B)}
	u6 := &layers.UDP{SrcPort: 1, DstPort: 2}
	_ = u6.SetNetworkLayerForChecksum(ip6)
	v6frame := serialize(t, ethL(layers.EthernetTypeIPv6), ip6, u6)
	var m6 Match
	if err := m6.Parse(v6frame); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    func() error
		want error
	}{
		{"v6 addr into v4", func() error { return SetIPv4Src(bytes.Clone(udp), l, ip6A) }, ErrBadArgument},
		{"v4 setter on v6", func() error { return SetIPv4Dst(bytes.Clone(v6frame), m6.Layout(), ipA) }, ErrUnsupported},
		{"icmp id on udp", func() error { return SetICMPID(bytes.Clone(udp), l, 1) }, ErrUnsupported},
		{"inner on udp", func() error { return SetInnerSrc(bytes.Clone(udp), l, ipA) }, ErrUnsupported},
		{"layout beyond frame", func() error { return SetIPv4TTL(udp[:20], l, 1) }, ErrBadArgument},
		{"garbage layout", func() error { return SetL4Src(bytes.Clone(udp), Layout{L4: 60000, Proto: ProtoUDP, End: 65000}, 1) }, ErrBadArgument},
		{"short eth", func() error { return SetEthSrc(make([]byte, 5), macA) }, ErrTruncated},
		{"apply v6 addr", func() error {
			to := m6
			to.SetIPSrc(ip6B)
			_, err := Apply(bytes.Clone(v6frame), &m6, &to)
			return err
		}, ErrUnsupported},
		{"apply proto", func() error {
			to := m
			to.SetIPProto(6)
			_, err := Apply(bytes.Clone(udp), &m, &to)
			return err
		}, ErrUnsupported},
		{"apply bad addr leaves frame", func() error {
			f := bytes.Clone(udp)
			to := m
			to.SetEthSrc(macB)
			to.SetIPDst(ip6A)
			_, err := Apply(f, &m, &to)
			if !bytes.Equal(f, udp) {
				return errors.New("frame modified on error")
			}
			return err
		}, ErrBadArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.f(); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestIncrementalChecksumExhaustive(t *testing.T) {
	// update16 must agree with a full recomputation for every old/new word
	// pair in a sample of data, including the all-ones and zero edge cases.
	data := []byte{0x12, 0x34, 0, 0, 0xff, 0xff, 0xab, 0xcd}
	words := []uint16{0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff, 0x1234}
	for _, o := range words {
		for _, n := range words {
			d := bytes.Clone(data)
			put16(d[2:], o)
			cs := Checksum(d)
			put16(d[2:], n)
			full := Checksum(d)
			inc := update16(cs, o, n)
			// +0 and -0 are the same one's complement value; both verify.
			put16(d[2:], n)
			if inc != full && !(inc^full == 0xffff && (inc == 0 || full == 0)) {
				t.Errorf("old %#x new %#x: incremental %#x, full %#x", o, n, inc, full)
			}
		}
	}
}
