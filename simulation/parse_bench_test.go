package simulation_test

import (
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hivenet/hivenet/internal/benchcpu"
	"github.com/hivenet/hivenet/simulation/packet"
)

// benchFrame is an Ethernet/IPv4/TCP frame (20-byte TCP header, 32 bytes of
// data) shared by the parser benchmarks, so both parsers see the same bytes.
func benchFrame(b *testing.B) []byte {
	b.Helper()
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP,
		SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{192, 168, 1, 20}}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 1, Ack: 1, ACK: true, PSH: true, Window: 512}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		b.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4},
		ip, tcp, gopacket.Payload(make([]byte, 32)))
	if err != nil {
		b.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// BenchmarkParse measures packet.Match.Parse on benchFrame. Target: 0
// allocs/op and no slower than BenchmarkGopacketDLP.
func BenchmarkParse(b *testing.B) {
	frame := benchFrame(b)
	var m packet.Match
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Parse(frame); err != nil {
			b.Fatal(err)
		}
	}
	if m.Peek().DstPort() != 443 {
		b.Fatal("wrong parse")
	}
}

// BenchmarkGopacketDLP is the reference: gopacket's DecodingLayerParser with
// preallocated Ethernet, IPv4 and TCP layers on the same frame.
func BenchmarkGopacketDLP(b *testing.B) {
	frame := benchFrame(b)
	var (
		eth layers.Ethernet
		ip  layers.IPv4
		tcp layers.TCP
	)
	p := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip, &tcp)
	p.IgnoreUnsupported = true // the TCP payload has no decoder here
	decoded := make([]gopacket.LayerType, 0, 4)
	b.ReportAllocs()
	stop := benchcpu.Start(b)
	for b.Loop() {
		if err := p.DecodeLayers(frame, &decoded); err != nil {
			b.Fatal(err)
		}
	}
	stop()
	if len(decoded) != 3 || tcp.DstPort != 443 {
		b.Fatalf("wrong decode: %v", decoded)
	}
}

// BenchmarkRewriteSNAT rewrites the IPv4 source address and the TCP source
// port in place with incremental checksum updates, alternating between two
// translations so that every iteration changes the frame.
func BenchmarkRewriteSNAT(b *testing.B) {
	frame := benchFrame(b)
	var m packet.Match
	if err := m.Parse(frame); err != nil {
		b.Fatal(err)
	}
	l := m.Layout()
	addrs := [2]netip.Addr{netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("10.0.0.1")}
	ports := [2]uint16{61000, 40000}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := packet.SetIPv4Src(frame, l, addrs[i&1]); err != nil {
			b.Fatal(err)
		}
		if err := packet.SetL4Src(frame, l, ports[i&1]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkApplySNAT is BenchmarkRewriteSNAT through the Match diff API the
// datapath uses (Changed + Apply).
func BenchmarkApplySNAT(b *testing.B) {
	frame := benchFrame(b)
	var from packet.Match
	if err := from.Parse(frame); err != nil {
		b.Fatal(err)
	}
	to := [2]packet.Match{from, from}
	to[0].SetIPSrc(netip.MustParseAddr("203.0.113.7"))
	to[0].SetSrcPort(61000)
	back := to[0]
	back.ClearModified()
	to[1] = back
	to[1].SetIPSrc(from.Peek().IPSrc())
	to[1].SetSrcPort(from.Peek().SrcPort())
	froms := [2]*packet.Match{&from, &back}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := packet.Apply(frame, froms[i&1], &to[i&1]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
