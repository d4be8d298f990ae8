package packet_test

import (
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

func ExampleMatch_Parse() {
	// A TCP SYN 10.0.0.1:40000 -> 192.168.1.20:443, built for the example.
	var syn packet.Match
	syn.SetEthSrc(topology.MustParseMAC("02:00:00:00:00:0a"))
	syn.SetEthDst(topology.MustParseMAC("02:00:00:00:00:0b"))
	syn.SetEtherType(packet.EtherTypeIPv4)
	syn.SetIPSrc(netip.MustParseAddr("10.0.0.1"))
	syn.SetIPDst(netip.MustParseAddr("192.168.1.20"))
	syn.SetIPProto(packet.ProtoTCP)
	syn.SetIPTTL(64)
	syn.SetSrcPort(40000)
	syn.SetDstPort(443)
	syn.SetTCPFlags(packet.TCPSyn)
	frame, _ := packet.AppendFrame(make([]byte, 0, 128), &syn, nil)

	// The simulator parses the frame into a match it owns...
	var m packet.Match
	m.SetInPort(3)
	if err := m.Parse(frame); err != nil {
		fmt.Println(err)
		return
	}
	// ...reads the fields its decision depends on (they become the
	// megaflow mask)...
	if m.IPDst() == netip.MustParseAddr("192.168.1.20") && m.DstPort() == 443 {
		// ...and rewrites some (they become set-field actions).
		orig := m
		m.SetIPDst(netip.MustParseAddr("172.16.0.5"))
		m.SetIPTTL(m.Peek().IPTTL() - 1)
		out, err := packet.Apply(frame, &orig, &m)
		fmt.Println("seen:", m.Seen())
		fmt.Println("modified:", m.Modified())
		fmt.Println("rewritten:", len(out), err)
	}
	// Output:
	// seen: ip_dst|tp_dst
	// modified: ip_dst|ip_ttl
	// rewritten: 54 <nil>
}
