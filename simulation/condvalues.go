package simulation

import (
	"net/netip"
	"slices"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// The values rule conditions test that are not a match field read as is:
// port and group membership, devices already traversed, and the network
// addresses and protocol the reference's conditions see in ARP packets
// and ICMP errors.

func portIn(ids []topology.ID, p *portInfo) bool {
	if len(ids) == 0 {
		return true
	}
	return p != nil && slices.Contains(ids, p.ID)
}

func inGroup(p *portInfo, g topology.ID) bool {
	return p != nil && slices.Contains(p.PortGroups, g)
}

// traversed reports whether the flow already carries the device tag of id.
func (e *Engine) traversed(id topology.ID) bool {
	t := TagDevice(id)
	for _, x := range e.r.Tags {
		if x == t {
			return true
		}
	}
	return false
}

func isIP(m *packet.Match) bool {
	et := m.EtherType()
	return et == packet.EtherTypeIPv4 || et == packet.EtherTypeIPv6
}

// nwSrc returns the network source address the reference's conditions see:
// the IP source, or the ARP sender address for ARP.
func nwSrc(m *packet.Match) (netip.Addr, bool) {
	switch m.EtherType() {
	case packet.EtherTypeIPv4, packet.EtherTypeIPv6:
		return m.IPSrc(), true
	case packet.EtherTypeARP:
		return m.ARPSPA(), true
	}
	return netip.Addr{}, false
}

// nwDst is nwSrc for the destination (ARP: the target address).
func nwDst(m *packet.Match) (netip.Addr, bool) {
	switch m.EtherType() {
	case packet.EtherTypeIPv4, packet.EtherTypeIPv6:
		return m.IPDst(), true
	case packet.EtherTypeARP:
		return m.ARPTPA(), true
	}
	return netip.Addr{}, false
}

// nwProto returns the IP protocol, or the low byte of the ARP operation as
// in the reference's flow match.
func nwProto(m *packet.Match) (uint8, bool) {
	switch m.EtherType() {
	case packet.EtherTypeIPv4, packet.EtherTypeIPv6:
		return m.IPProto(), true
	case packet.EtherTypeARP:
		return uint8(m.ARPOp()), true
	}
	return 0, false
}

// icmpData returns the header embedded in an ICMPv4 error (a userspace-only
// field: reading it prevents a kernel flow).
func icmpData(m *packet.Match) (packet.Inner, bool) {
	if m.EtherType() != packet.EtherTypeIPv4 || m.IPProto() != packet.ProtoICMP ||
		!packet.IsICMPError(m.ICMPType()) {
		return packet.Inner{}, false
	}
	in := m.ICMPData()
	return in, in.Valid()
}
