package agent

import (
	"net/netip"
	"testing"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// Fixtures of the agent's unit tests: two VM ports, their MACs and
// addresses, and a router MAC.
var (
	portA = topology.NameID(topology.KindPort, "a")
	portB = topology.NameID(topology.KindPort, "b")
	portC = topology.NameID(topology.KindPort, "c")
	macA  = topology.MustParseMAC("02:00:00:00:00:0a")
	macB  = topology.MustParseMAC("02:00:00:00:00:0b")
	macR  = topology.MustParseMAC("02:00:00:00:00:01")
	ipA   = netip.MustParseAddr("10.0.0.10")
	ipB   = netip.MustParseAddr("10.0.1.11")
)

// udpFrame is a UDP datagram from a to b (through the router) carrying
// payload.
func udpFrame(t testing.TB, sport, dport uint16, payload string) []byte {
	t.Helper()
	var m packet.Match
	m.SetEthSrc(macA)
	m.SetEthDst(macR)
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(ipA)
	m.SetIPDst(ipB)
	m.SetIPProto(packet.ProtoUDP)
	m.SetIPTTL(64)
	m.SetSrcPort(sport)
	m.SetDstPort(dport)
	f, err := packet.AppendFrame(nil, &m, []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return f
}
