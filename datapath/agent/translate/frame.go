package translate

import (
	"net/netip"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// FrameFromKey appends to b a frame whose datapath key is k: the headers
// k describes (Ethernet, VLAN tags, ARP or IPv4/IPv6 with TCP, UDP or ICMP),
// no payload. It is how a restarted agent re-simulates the flows it finds
// in the datapath.
func FrameFromKey(b []byte, k *datapath.FlowKey) ([]byte, error) {
	var m packet.Match
	f := k.Fields
	if f&datapath.KeyEthernet != 0 {
		m.SetEthSrc(k.Ethernet.Src)
		m.SetEthDst(k.Ethernet.Dst)
	}
	var vl packet.VLANStack
	if f&datapath.KeyCVLAN != 0 {
		vl.Push(packet.VLANFromTCI(k.CVLAN.TPID, k.CVLAN.TCI&^vlanCFI))
	}
	if f&datapath.KeyVLAN != 0 {
		vl.Push(packet.VLANFromTCI(k.VLAN.TPID, k.VLAN.TCI&^vlanCFI))
	}
	m.SetVLANs(vl)
	m.SetEtherType(k.EtherType)
	switch {
	case f&datapath.KeyARP != 0:
		m.SetARPOp(k.ARP.Op)
		m.SetARPSHA(k.ARP.SHA)
		m.SetARPSPA(k.ARP.SIP)
		m.SetARPTHA(k.ARP.THA)
		m.SetARPTPA(k.ARP.TIP)
	case f&datapath.KeyIPv4 != 0:
		m.SetIPSrc(k.IPv4.Src)
		m.SetIPDst(k.IPv4.Dst)
		m.SetIPProto(k.IPv4.Proto)
		m.SetIPTOS(k.IPv4.TOS)
		m.SetIPTTL(k.IPv4.TTL)
		m.SetIPFrag(packet.Frag(k.IPv4.Frag))
	case f&datapath.KeyIPv6 != 0:
		m.SetIPSrc(k.IPv6.Src)
		m.SetIPDst(k.IPv6.Dst)
		m.SetIPProto(k.IPv6.Proto)
		m.SetIPTOS(k.IPv6.TClass)
		m.SetIPTTL(k.IPv6.HLimit)
		m.SetIPv6FlowLabel(k.IPv6.Label)
		m.SetIPFrag(packet.Frag(k.IPv6.Frag))
	}
	switch {
	case f&datapath.KeyTCP != 0:
		m.SetSrcPort(k.TCP.Src)
		m.SetDstPort(k.TCP.Dst)
	case f&datapath.KeyUDP != 0:
		m.SetSrcPort(k.UDP.Src)
		m.SetDstPort(k.UDP.Dst)
	}
	if f&datapath.KeyTCPFlags != 0 {
		m.SetTCPFlags(k.TCPFlags)
	}
	switch {
	case f&datapath.KeyICMP != 0:
		m.SetICMPType(k.ICMP.Type)
		m.SetICMPCode(k.ICMP.Code)
	case f&datapath.KeyICMPv6 != 0:
		m.SetICMPType(k.ICMPv6.Type)
		m.SetICMPCode(k.ICMPv6.Code)
	}
	return packet.AppendFrame(b, &m, nil)
}

// TunnelMask matches the input port, the tunnel key and the outer source
// address: a flow for packets tunnelled in admits one sender only, so that
// a packet from an address the agent did not admit misses it and comes up.
func TunnelMask(k *datapath.FlowKey) datapath.FlowKey {
	m := TunnelSourceMask(k)
	m.Tunnel.ID = ^uint64(0)
	m.Tunnel.Flags = k.Tunnel.Flags & datapath.TunnelKeyPresent
	return m
}

// TunnelSourceMask matches the input port and the outer source address
// only: the mask of a flow dropping everything one underlay address
// tunnels in, whatever the key.
func TunnelSourceMask(k *datapath.FlowKey) datapath.FlowKey {
	return datapath.FlowKey{
		Fields: datapath.KeyInPort | datapath.KeyTunnel,
		InPort: ^datapath.PortNumber(0),
		Tunnel: datapath.TunnelKey{Src: onesOf(k.Tunnel.Src)},
	}
}

// onesOf returns the all-ones address of a's family, or the zero Addr.
func onesOf(a netip.Addr) netip.Addr {
	switch {
	case a.Is4():
		return ones4
	case a.Is6():
		return ones16
	}
	return netip.Addr{}
}

// VTEPMask is the megaflow mask of a simulated flow of packets received
// from a VTEP: Megaflow's, plus the tunnel key (the VNI) and the outer
// source address (the VTEP), which the tunnel port shared by every VTEP
// and bridge does not imply.
func VTEPMask(k *datapath.FlowKey, seen packet.FieldSet) datapath.FlowKey {
	m := Megaflow(k, seen)
	m.Fields |= datapath.KeyTunnel
	src := ones4
	if k.Tunnel.Src.Is6() {
		src = ones16
	}
	m.Tunnel = datapath.TunnelKey{ID: ^uint64(0), Src: src, Flags: k.Tunnel.Flags & datapath.TunnelKeyPresent}
	return m
}

// Flow-state packets have fixed link-local headers, the message as UDP payload.
var (
	stateSrcMAC = topology.MAC{0xac, 0xca, 0xba, 0x00, 0x15, 0x01}
	stateDstMAC = topology.MAC{0xac, 0xca, 0xba, 0x00, 0x15, 0x02}
	stateSrcIP  = netip.AddrFrom4([4]byte{169, 254, 15, 1})
	stateDstIP  = netip.AddrFrom4([4]byte{169, 254, 15, 2})
)

// FlowStatePort is the UDP port of flow-state packets.
const FlowStatePort = 2925

// ControlTOS is the outer TOS of flow-state packets (control_packet_tos).
const ControlTOS = 184

// AppendFlowStateFrame appends the frame carrying a flow-state message
// payload to b.
func AppendFlowStateFrame(b, payload []byte) ([]byte, error) {
	var m packet.Match
	m.SetEthSrc(stateSrcMAC)
	m.SetEthDst(stateDstMAC)
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(stateSrcIP)
	m.SetIPDst(stateDstIP)
	m.SetIPProto(packet.ProtoUDP)
	m.SetIPTTL(64)
	m.SetSrcPort(FlowStatePort)
	m.SetDstPort(FlowStatePort)
	return packet.AppendFrame(b, &m, payload)
}

// TunnelKeyUpcall is set in the tunnel key of a packet that follows flow
// state pushed to its receiver (the state goes first): the first
// packet of a connection. The receiver has no flow for such a key, so the
// packet comes up to its overlay worker, after the flow-state message, and
// is output to the port the plain key names once the state is imported.
// Without it, a flow the receiver already has for the destination's
// tunnel key would deliver the packet before the import, and the
// destination's immediate answer could be simulated without the state (a
// reply taken for a new connection). The reference reserves this bit of
// its 24-bit keys for traced packets, which its receivers also handle in
// userspace.
const TunnelKeyUpcall = 1 << 23

// MarkUpcall appends acts to dst with TunnelKeyUpcall set in every tunnel
// key.
func MarkUpcall(dst, acts datapath.Actions) datapath.Actions {
	for _, act := range acts {
		switch a := act.(type) {
		case datapath.Set[datapath.TunnelKey]:
			a.Value.ID |= TunnelKeyUpcall
			act = a
		case datapath.CheckPktLen:
			// The branches are new lists: acts' own stay untouched.
			a.LessEqual = MarkUpcall(nil, a.LessEqual)
			act = a
		}
		dst = append(dst, act)
	}
	return dst
}

// FlowStateTunnelKey is the tunnel key of flow-state packets: key type
// 7 (bits 20-22), all 20 low bits set.
const FlowStateTunnelKey = 0xFFFFFF
