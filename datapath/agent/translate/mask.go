package translate

import (
	"net/netip"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/simulation/packet"
)

// Megaflow returns the megaflow mask for a packet with datapath key key
// whose simulation examined the fields seen:
// exact on every examined field and on its prerequisites
// (packet.FieldSet.WithPrerequisites), always exact on the input port and
// on the recirculation ID, wildcard elsewhere. Only groups present in key
// are masked, as the datapath requires; an examined field the key does not
// carry (an IP field of an ARP frame) matches through the groups that are
// present (the ethertype says the frame is not IP). Fields the kernel
// cannot match at all (packet.UserspaceFields) are ignored here: the caller
// must not install a flow whose decision depended on them.
func Megaflow(key *datapath.FlowKey, seen packet.FieldSet) datapath.FlowKey {
	var m datapath.FlowKey
	MegaflowTo(&m, key, seen)
	return m
}

// MegaflowTo is Megaflow writing the mask to *m, which it overwrites
// whole (m and key must not be the same key). Installing a flow writes
// the mask straight into the request: a 512-byte result is otherwise
// copied from the callee's frame to the caller's and again to its place,
// the first copy's wide loads waiting on the narrow stores that filled
// it.
func MegaflowTo(m *datapath.FlowKey, key *datapath.FlowKey, seen packet.FieldSet) {
	seen = seen.WithPrerequisites().With(packet.FieldInPort)
	f := key.Fields
	*m = datapath.FlowKey{}
	if f&datapath.KeyInPort != 0 {
		m.Fields |= datapath.KeyInPort
		m.InPort = ^datapath.PortNumber(0)
	}
	if f&datapath.KeyRecircID != 0 {
		m.Fields |= datapath.KeyRecircID
		m.RecircID = ^uint32(0)
	}
	if f&datapath.KeyEthernet != 0 && (seen.Has(packet.FieldEthSrc) || seen.Has(packet.FieldEthDst)) {
		m.Fields |= datapath.KeyEthernet
		if seen.Has(packet.FieldEthSrc) {
			m.Ethernet.Src = onesM
		}
		if seen.Has(packet.FieldEthDst) {
			m.Ethernet.Dst = onesM
		}
	}
	if seen.Has(packet.FieldVLAN) {
		if f&datapath.KeyVLAN != 0 {
			m.Fields |= datapath.KeyVLAN
			m.VLAN = datapath.VLANKey{TPID: 0xffff, TCI: 0xffff}
		}
		if f&datapath.KeyCVLAN != 0 {
			m.Fields |= datapath.KeyCVLAN
			m.CVLAN = datapath.VLANKey{TPID: 0xffff, TCI: 0xffff}
		}
	}
	if f&datapath.KeyEtherType != 0 && seen.Has(packet.FieldEtherType) {
		m.Fields |= datapath.KeyEtherType
		m.EtherType = 0xffff
	}
	switch {
	case f&datapath.KeyARP != 0:
		a := datapath.ARPKey{SIP: zero4, TIP: zero4}
		set := false
		if seen.Has(packet.FieldARPOp) {
			a.Op, set = 0xffff, true
		}
		if seen.Has(packet.FieldARPSHA) {
			a.SHA, set = onesM, true
		}
		if seen.Has(packet.FieldARPTHA) {
			a.THA, set = onesM, true
		}
		if seen.Has(packet.FieldARPSPA) {
			a.SIP, set = ones4, true
		}
		if seen.Has(packet.FieldARPTPA) {
			a.TIP, set = ones4, true
		}
		if set {
			m.Fields |= datapath.KeyARP
			m.ARP = a
		}
	case f&datapath.KeyIPv4 != 0:
		ip := datapath.IPv4Key{Src: zero4, Dst: zero4}
		set := false
		if seen.Has(packet.FieldIPSrc) {
			ip.Src, set = ones4, true
		}
		if seen.Has(packet.FieldIPDst) {
			ip.Dst, set = ones4, true
		}
		if seen.Has(packet.FieldIPProto) {
			ip.Proto, set = 0xff, true
		}
		if seen.Has(packet.FieldIPTOS) {
			ip.TOS, set = 0xff, true
		}
		if seen.Has(packet.FieldIPTTL) {
			ip.TTL, set = 0xff, true
		}
		if seen.Has(packet.FieldIPFrag) {
			ip.Frag, set = 0xff, true
		}
		if set {
			m.Fields |= datapath.KeyIPv4
			m.IPv4 = ip
		}
	case f&datapath.KeyIPv6 != 0:
		ip := datapath.IPv6Key{Src: zero16, Dst: zero16}
		set := false
		if seen.Has(packet.FieldIPSrc) {
			ip.Src, set = ones16, true
		}
		if seen.Has(packet.FieldIPDst) {
			ip.Dst, set = ones16, true
		}
		if seen.Has(packet.FieldIPProto) {
			ip.Proto, set = 0xff, true
		}
		if seen.Has(packet.FieldIPTOS) {
			ip.TClass, set = 0xff, true
		}
		if seen.Has(packet.FieldIPTTL) {
			ip.HLimit, set = 0xff, true
		}
		if seen.Has(packet.FieldIPFrag) {
			ip.Frag, set = 0xff, true
		}
		if seen.Has(packet.FieldIPv6FlowLabel) {
			ip.Label, set = 0xfffff, true
		}
		if set {
			m.Fields |= datapath.KeyIPv6
			m.IPv6 = ip
		}
	}
	var sp, dp uint16
	if seen.Has(packet.FieldSrcPort) {
		sp = 0xffff
	}
	if seen.Has(packet.FieldDstPort) {
		dp = 0xffff
	}
	if sp|dp != 0 {
		switch {
		case f&datapath.KeyTCP != 0:
			m.Fields |= datapath.KeyTCP
			m.TCP = datapath.TCPKey{Src: sp, Dst: dp}
		case f&datapath.KeyUDP != 0:
			m.Fields |= datapath.KeyUDP
			m.UDP = datapath.UDPKey{Src: sp, Dst: dp}
		case f&datapath.KeySCTP != 0:
			m.Fields |= datapath.KeySCTP
			m.SCTP = datapath.SCTPKey{Src: sp, Dst: dp}
		}
	}
	if f&datapath.KeyTCPFlags != 0 && seen.Has(packet.FieldTCPFlags) {
		m.Fields |= datapath.KeyTCPFlags
		m.TCPFlags = 0x0fff
	}
	var it, ic uint8
	if seen.Has(packet.FieldICMPType) {
		it = 0xff
	}
	if seen.Has(packet.FieldICMPCode) {
		ic = 0xff
	}
	if it|ic != 0 {
		switch {
		case f&datapath.KeyICMP != 0:
			m.Fields |= datapath.KeyICMP
			m.ICMP = datapath.ICMPKey{Type: it, Code: ic}
		case f&datapath.KeyICMPv6 != 0:
			m.Fields |= datapath.KeyICMPv6
			m.ICMPv6 = datapath.ICMPKey{Type: it, Code: ic}
		}
	}
}

var (
	zero16 = netip16(0)
	ones16 = netip16(0xff)
)

func netip16(b byte) netip.Addr {
	var a [16]byte
	for i := range a {
		a[i] = b
	}
	return netip.AddrFrom16(a)
}
