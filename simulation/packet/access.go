// Field accessors of Match (marking) and View (non-marking)

package packet

import (
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// InPort returns the input port number set by the caller, marking FieldInPort seen.
func (m *Match) InPort() uint32 {
	m.seen |= 1 << FieldInPort
	return m.inPort
}

// SetInPort sets the input port number set by the caller, marking FieldInPort modified.
func (m *Match) SetInPort(v uint32) {
	m.inPort = v
	m.modified |= 1 << FieldInPort
}

// InPort returns the input port number set by the caller without marking it seen.
func (v *View) InPort() uint32 { return v.inPort }

// EthSrc returns the Ethernet source address, marking FieldEthSrc seen.
func (m *Match) EthSrc() topology.MAC {
	m.seen |= 1 << FieldEthSrc
	return m.ethSrc
}

// SetEthSrc sets the Ethernet source address, marking FieldEthSrc modified.
func (m *Match) SetEthSrc(v topology.MAC) {
	m.ethSrc = v
	m.modified |= 1 << FieldEthSrc
}

// EthSrc returns the Ethernet source address without marking it seen.
func (v *View) EthSrc() topology.MAC { return v.ethSrc }

// EthDst returns the Ethernet destination address, marking FieldEthDst seen.
func (m *Match) EthDst() topology.MAC {
	m.seen |= 1 << FieldEthDst
	return m.ethDst
}

// SetEthDst sets the Ethernet destination address, marking FieldEthDst modified.
func (m *Match) SetEthDst(v topology.MAC) {
	m.ethDst = v
	m.modified |= 1 << FieldEthDst
}

// EthDst returns the Ethernet destination address without marking it seen.
func (v *View) EthDst() topology.MAC { return v.ethDst }

// VLANs returns the VLAN tag stack, outermost first, marking FieldVLAN seen.
func (m *Match) VLANs() VLANStack {
	m.seen |= 1 << FieldVLAN
	return m.vlans
}

// NumVLANs returns the number of VLAN tags, marking FieldVLAN seen. It is
// VLANs().Len() without a copy of the stack: the 14-byte stack is copied
// in overlapping word moves, which a read of the copy must wait for.
func (m *Match) NumVLANs() int {
	m.seen |= 1 << FieldVLAN
	return int(m.vlans.n)
}

// OuterVLAN returns the outermost VLAN tag and whether there is one,
// marking FieldVLAN seen: VLANs().Outer() without a copy of the stack.
func (m *Match) OuterVLAN() (VLAN, bool) {
	m.seen |= 1 << FieldVLAN
	return m.vlans.tags[0], m.vlans.n > 0
}

// SetVLANs sets the VLAN tag stack, outermost first, marking FieldVLAN modified.
func (m *Match) SetVLANs(v VLANStack) {
	m.vlans = v
	m.modified |= 1 << FieldVLAN
}

// VLANs returns the VLAN tag stack, outermost first without marking it seen.
func (v *View) VLANs() VLANStack { return v.vlans }

// EtherType returns the ethertype after the VLAN tags (an 802.3 length for non-Ethernet-II frames), marking FieldEtherType seen.
func (m *Match) EtherType() uint16 {
	m.seen |= 1 << FieldEtherType
	return m.etherType
}

// SetEtherType sets the ethertype after the VLAN tags (an 802.3 length for non-Ethernet-II frames), marking FieldEtherType modified.
func (m *Match) SetEtherType(v uint16) {
	m.etherType = v
	m.modified |= 1 << FieldEtherType
}

// EtherType returns the ethertype after the VLAN tags (an 802.3 length for non-Ethernet-II frames) without marking it seen.
func (v *View) EtherType() uint16 { return v.etherType }

// ARPOp returns the ARP operation (1 request, 2 reply), marking FieldARPOp seen.
func (m *Match) ARPOp() uint16 {
	m.seen |= 1 << FieldARPOp
	return m.arpOp
}

// SetARPOp sets the ARP operation (1 request, 2 reply), marking FieldARPOp modified.
func (m *Match) SetARPOp(v uint16) {
	m.arpOp = v
	m.modified |= 1 << FieldARPOp
}

// ARPOp returns the ARP operation (1 request, 2 reply) without marking it seen.
func (v *View) ARPOp() uint16 { return v.arpOp }

// ARPSHA returns the ARP sender hardware address, marking FieldARPSHA seen.
func (m *Match) ARPSHA() topology.MAC {
	m.seen |= 1 << FieldARPSHA
	return m.arpSHA
}

// SetARPSHA sets the ARP sender hardware address, marking FieldARPSHA modified.
func (m *Match) SetARPSHA(v topology.MAC) {
	m.arpSHA = v
	m.modified |= 1 << FieldARPSHA
}

// ARPSHA returns the ARP sender hardware address without marking it seen.
func (v *View) ARPSHA() topology.MAC { return v.arpSHA }

// ARPSPA returns the ARP sender protocol (IPv4) address, marking FieldARPSPA seen.
func (m *Match) ARPSPA() netip.Addr {
	m.seen |= 1 << FieldARPSPA
	return m.arpSPA
}

// SetARPSPA sets the ARP sender protocol (IPv4) address, marking FieldARPSPA modified.
func (m *Match) SetARPSPA(v netip.Addr) {
	m.arpSPA = v
	m.modified |= 1 << FieldARPSPA
}

// ARPSPA returns the ARP sender protocol (IPv4) address without marking it seen.
func (v *View) ARPSPA() netip.Addr { return v.arpSPA }

// ARPTHA returns the ARP target hardware address, marking FieldARPTHA seen.
func (m *Match) ARPTHA() topology.MAC {
	m.seen |= 1 << FieldARPTHA
	return m.arpTHA
}

// SetARPTHA sets the ARP target hardware address, marking FieldARPTHA modified.
func (m *Match) SetARPTHA(v topology.MAC) {
	m.arpTHA = v
	m.modified |= 1 << FieldARPTHA
}

// ARPTHA returns the ARP target hardware address without marking it seen.
func (v *View) ARPTHA() topology.MAC { return v.arpTHA }

// ARPTPA returns the ARP target protocol (IPv4) address, marking FieldARPTPA seen.
func (m *Match) ARPTPA() netip.Addr {
	m.seen |= 1 << FieldARPTPA
	return m.arpTPA
}

// SetARPTPA sets the ARP target protocol (IPv4) address, marking FieldARPTPA modified.
func (m *Match) SetARPTPA(v netip.Addr) {
	m.arpTPA = v
	m.modified |= 1 << FieldARPTPA
}

// ARPTPA returns the ARP target protocol (IPv4) address without marking it seen.
func (v *View) ARPTPA() netip.Addr { return v.arpTPA }

// IPSrc returns the IPv4 or IPv6 source address (invalid for non-IP), marking FieldIPSrc seen.
func (m *Match) IPSrc() netip.Addr {
	m.seen |= 1 << FieldIPSrc
	return m.ipSrc
}

// SetIPSrc sets the IPv4 or IPv6 source address (invalid for non-IP), marking FieldIPSrc modified.
func (m *Match) SetIPSrc(v netip.Addr) {
	m.ipSrc = v
	m.modified |= 1 << FieldIPSrc
}

// IPSrc returns the IPv4 or IPv6 source address (invalid for non-IP) without marking it seen.
func (v *View) IPSrc() netip.Addr { return v.ipSrc }

// IPDst returns the IPv4 or IPv6 destination address (invalid for non-IP), marking FieldIPDst seen.
func (m *Match) IPDst() netip.Addr {
	m.seen |= 1 << FieldIPDst
	return m.ipDst
}

// SetIPDst sets the IPv4 or IPv6 destination address (invalid for non-IP), marking FieldIPDst modified.
func (m *Match) SetIPDst(v netip.Addr) {
	m.ipDst = v
	m.modified |= 1 << FieldIPDst
}

// IPDst returns the IPv4 or IPv6 destination address (invalid for non-IP) without marking it seen.
func (v *View) IPDst() netip.Addr { return v.ipDst }

// IPProto returns the IPv4 protocol or the IPv6 next header after the extension headers, marking FieldIPProto seen.
func (m *Match) IPProto() uint8 {
	m.seen |= 1 << FieldIPProto
	return m.ipProto
}

// SetIPProto sets the IPv4 protocol or the IPv6 next header after the extension headers, marking FieldIPProto modified.
func (m *Match) SetIPProto(v uint8) {
	m.ipProto = v
	m.modified |= 1 << FieldIPProto
}

// IPProto returns the IPv4 protocol or the IPv6 next header after the extension headers without marking it seen.
func (v *View) IPProto() uint8 { return v.ipProto }

// IPTOS returns the IPv4 TOS byte (DSCP and ECN) or the IPv6 traffic class, marking FieldIPTOS seen.
func (m *Match) IPTOS() uint8 {
	m.seen |= 1 << FieldIPTOS
	return m.ipTOS
}

// SetIPTOS sets the IPv4 TOS byte (DSCP and ECN) or the IPv6 traffic class, marking FieldIPTOS modified.
func (m *Match) SetIPTOS(v uint8) {
	m.ipTOS = v
	m.modified |= 1 << FieldIPTOS
}

// IPTOS returns the IPv4 TOS byte (DSCP and ECN) or the IPv6 traffic class without marking it seen.
func (v *View) IPTOS() uint8 { return v.ipTOS }

// IPTTL returns the IPv4 TTL or the IPv6 hop limit, marking FieldIPTTL seen.
func (m *Match) IPTTL() uint8 {
	m.seen |= 1 << FieldIPTTL
	return m.ipTTL
}

// SetIPTTL sets the IPv4 TTL or the IPv6 hop limit, marking FieldIPTTL modified.
func (m *Match) SetIPTTL(v uint8) {
	m.ipTTL = v
	m.modified |= 1 << FieldIPTTL
}

// IPTTL returns the IPv4 TTL or the IPv6 hop limit without marking it seen.
func (v *View) IPTTL() uint8 { return v.ipTTL }

// IPFrag returns the fragment kind, marking FieldIPFrag seen.
func (m *Match) IPFrag() Frag {
	m.seen |= 1 << FieldIPFrag
	return m.ipFrag
}

// SetIPFrag sets the fragment kind, marking FieldIPFrag modified.
func (m *Match) SetIPFrag(v Frag) {
	m.ipFrag = v
	m.modified |= 1 << FieldIPFrag
}

// IPFrag returns the fragment kind without marking it seen.
func (v *View) IPFrag() Frag { return v.ipFrag }

// IPv6FlowLabel returns the 20-bit IPv6 flow label, marking FieldIPv6FlowLabel seen.
func (m *Match) IPv6FlowLabel() uint32 {
	m.seen |= 1 << FieldIPv6FlowLabel
	return m.flowLabel
}

// SetIPv6FlowLabel sets the 20-bit IPv6 flow label, marking FieldIPv6FlowLabel modified.
func (m *Match) SetIPv6FlowLabel(v uint32) {
	m.flowLabel = v
	m.modified |= 1 << FieldIPv6FlowLabel
}

// IPv6FlowLabel returns the 20-bit IPv6 flow label without marking it seen.
func (v *View) IPv6FlowLabel() uint32 { return v.flowLabel }

// SrcPort returns the TCP or UDP source port (0 for other protocols and non-first fragments), marking FieldSrcPort seen.
func (m *Match) SrcPort() uint16 {
	m.seen |= 1 << FieldSrcPort
	return m.srcPort
}

// SetSrcPort sets the TCP or UDP source port (0 for other protocols and non-first fragments), marking FieldSrcPort modified.
func (m *Match) SetSrcPort(v uint16) {
	m.srcPort = v
	m.modified |= 1 << FieldSrcPort
}

// SrcPort returns the TCP or UDP source port (0 for other protocols and non-first fragments) without marking it seen.
func (v *View) SrcPort() uint16 { return v.srcPort }

// DstPort returns the TCP or UDP destination port (0 for other protocols and non-first fragments), marking FieldDstPort seen.
func (m *Match) DstPort() uint16 {
	m.seen |= 1 << FieldDstPort
	return m.dstPort
}

// SetDstPort sets the TCP or UDP destination port (0 for other protocols and non-first fragments), marking FieldDstPort modified.
func (m *Match) SetDstPort(v uint16) {
	m.dstPort = v
	m.modified |= 1 << FieldDstPort
}

// DstPort returns the TCP or UDP destination port (0 for other protocols and non-first fragments) without marking it seen.
func (v *View) DstPort() uint16 { return v.dstPort }

// TCPFlags returns the 12 TCP flag bits (FIN 0x001 ... NS 0x100), marking FieldTCPFlags seen.
func (m *Match) TCPFlags() uint16 {
	m.seen |= 1 << FieldTCPFlags
	return m.tcpFlags
}

// SetTCPFlags sets the 12 TCP flag bits (FIN 0x001 ... NS 0x100), marking FieldTCPFlags modified.
func (m *Match) SetTCPFlags(v uint16) {
	m.tcpFlags = v
	m.modified |= 1 << FieldTCPFlags
}

// TCPFlags returns the 12 TCP flag bits (FIN 0x001 ... NS 0x100) without marking it seen.
func (v *View) TCPFlags() uint16 { return v.tcpFlags }

// ICMPType returns the ICMP or ICMPv6 type, marking FieldICMPType seen.
func (m *Match) ICMPType() uint8 {
	m.seen |= 1 << FieldICMPType
	return m.icmpType
}

// SetICMPType sets the ICMP or ICMPv6 type, marking FieldICMPType modified.
func (m *Match) SetICMPType(v uint8) {
	m.icmpType = v
	m.modified |= 1 << FieldICMPType
}

// ICMPType returns the ICMP or ICMPv6 type without marking it seen.
func (v *View) ICMPType() uint8 { return v.icmpType }

// ICMPCode returns the ICMP or ICMPv6 code, marking FieldICMPCode seen.
func (m *Match) ICMPCode() uint8 {
	m.seen |= 1 << FieldICMPCode
	return m.icmpCode
}

// SetICMPCode sets the ICMP or ICMPv6 code, marking FieldICMPCode modified.
func (m *Match) SetICMPCode(v uint8) {
	m.icmpCode = v
	m.modified |= 1 << FieldICMPCode
}

// ICMPCode returns the ICMP or ICMPv6 code without marking it seen.
func (v *View) ICMPCode() uint8 { return v.icmpCode }

// ICMPID returns the ICMP echo identifier (echo request/reply only; userspace-only field), marking FieldICMPID seen.
func (m *Match) ICMPID() uint16 {
	m.seen |= 1 << FieldICMPID
	return m.icmpID
}

// SetICMPID sets the ICMP echo identifier (echo request/reply only; userspace-only field), marking FieldICMPID modified.
func (m *Match) SetICMPID(v uint16) {
	m.icmpID = v
	m.modified |= 1 << FieldICMPID
}

// ICMPID returns the ICMP echo identifier (echo request/reply only; userspace-only field) without marking it seen.
func (v *View) ICMPID() uint16 { return v.icmpID }

// ICMPData returns the header embedded in an ICMPv4 error (userspace-only field), marking FieldICMPData seen.
func (m *Match) ICMPData() Inner {
	m.seen |= 1 << FieldICMPData
	return m.inner
}

// SetICMPData sets the header embedded in an ICMPv4 error (userspace-only field), marking FieldICMPData modified.
func (m *Match) SetICMPData(v Inner) {
	m.inner = v
	m.modified |= 1 << FieldICMPData
}

// ICMPData returns the header embedded in an ICMPv4 error (userspace-only field) without marking it seen.
func (v *View) ICMPData() Inner { return v.inner }
