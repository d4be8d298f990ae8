package packet

import "strings"

// Field names one flow-match field. Fields are the unit of megaflow
// tracking: reading a field through a [Match] getter adds it to the seen set,
// writing it through a setter adds it to the modified set.
type Field uint8

// The flow-match fields. The IP fields are shared by IPv4 and IPv6 (the
// ethertype tells which one a match carries); for IPv6, FieldIPProto is the
// next header after the extension headers, FieldIPTOS the traffic class and
// FieldIPTTL the hop limit.
const (
	FieldInPort        Field = iota // datapath/virtual input port, set by the caller
	FieldEthSrc                     // Ethernet source address
	FieldEthDst                     // Ethernet destination address
	FieldVLAN                       // the whole VLAN tag stack (presence, TPIDs, VIDs, PCPs)
	FieldEtherType                  // ethertype after the VLAN tags
	FieldARPOp                      // ARP operation
	FieldARPSHA                     // ARP sender hardware address
	FieldARPSPA                     // ARP sender protocol address
	FieldARPTHA                     // ARP target hardware address
	FieldARPTPA                     // ARP target protocol address
	FieldIPSrc                      // IPv4/IPv6 source address
	FieldIPDst                      // IPv4/IPv6 destination address
	FieldIPProto                    // IPv4 protocol / IPv6 final next header
	FieldIPTOS                      // IPv4 TOS / IPv6 traffic class
	FieldIPTTL                      // IPv4 TTL / IPv6 hop limit
	FieldIPFrag                     // fragment kind (none, first, later)
	FieldIPv6FlowLabel              // IPv6 flow label
	FieldSrcPort                    // TCP/UDP source port
	FieldDstPort                    // TCP/UDP destination port
	FieldTCPFlags                   // TCP flags
	FieldICMPType                   // ICMP/ICMPv6 type
	FieldICMPCode                   // ICMP/ICMPv6 code
	FieldICMPID                     // ICMP echo identifier (not matchable by the kernel)
	FieldICMPData                   // header embedded in an ICMP error (not matchable by the kernel)

	numFields
)

var fieldNames = [numFields]string{
	FieldInPort:        "in_port",
	FieldEthSrc:        "eth_src",
	FieldEthDst:        "eth_dst",
	FieldVLAN:          "vlan",
	FieldEtherType:     "eth_type",
	FieldARPOp:         "arp_op",
	FieldARPSHA:        "arp_sha",
	FieldARPSPA:        "arp_spa",
	FieldARPTHA:        "arp_tha",
	FieldARPTPA:        "arp_tpa",
	FieldIPSrc:         "ip_src",
	FieldIPDst:         "ip_dst",
	FieldIPProto:       "ip_proto",
	FieldIPTOS:         "ip_tos",
	FieldIPTTL:         "ip_ttl",
	FieldIPFrag:        "ip_frag",
	FieldIPv6FlowLabel: "ipv6_label",
	FieldSrcPort:       "tp_src",
	FieldDstPort:       "tp_dst",
	FieldTCPFlags:      "tcp_flags",
	FieldICMPType:      "icmp_type",
	FieldICMPCode:      "icmp_code",
	FieldICMPID:        "icmp_id",
	FieldICMPData:      "icmp_data",
}

// String returns the field's short name ("eth_src", "ip_ttl", ...), or
// "field(N)" for an unknown value.
func (f Field) String() string {
	if f < numFields {
		return fieldNames[f]
	}
	return "field(" + itoa(uint64(f)) + ")"
}

// FieldSet is a set of [Field]s, one bit per field. The zero value is empty.
type FieldSet uint32

// AllFields contains every defined field.
const AllFields FieldSet = 1<<numFields - 1

// UserspaceFields are the fields the kernel datapath cannot match on (the
// ICMP echo identifier and the header an ICMP error quotes): a flow whose
// decision depended on one of them must not be installed as a kernel flow;
// its packets are executed from userspace.
const UserspaceFields FieldSet = 1<<FieldICMPID | 1<<FieldICMPData

// FieldsOf returns the set holding exactly the given fields.
func FieldsOf(fs ...Field) FieldSet {
	var s FieldSet
	for _, f := range fs {
		s = s.With(f)
	}
	return s
}

// Has reports whether f is in s.
func (s FieldSet) Has(f Field) bool { return f < numFields && s&(1<<f) != 0 }

// With returns s plus f.
func (s FieldSet) With(f Field) FieldSet {
	if f >= numFields {
		return s
	}
	return s | 1<<f
}

// Without returns s minus f.
func (s FieldSet) Without(f Field) FieldSet {
	if f >= numFields {
		return s
	}
	return s &^ (1 << f)
}

// Len returns the number of fields in s.
func (s FieldSet) Len() int {
	n := 0
	for v := s & AllFields; v != 0; v &= v - 1 {
		n++
	}
	return n
}

// String lists the fields of s in declaration order, separated by '|', or
// "none" for the empty set.
func (s FieldSet) String() string {
	s &= AllFields
	if s == 0 {
		return "none"
	}
	var b strings.Builder
	for f := Field(0); f < numFields; f++ {
		if s.Has(f) {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(fieldNames[f])
		}
	}
	return b.String()
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return string(b[i:])
}

const (
	l3Fields = 1<<FieldARPOp | 1<<FieldARPSHA | 1<<FieldARPSPA | 1<<FieldARPTHA | 1<<FieldARPTPA |
		1<<FieldIPSrc | 1<<FieldIPDst | 1<<FieldIPProto | 1<<FieldIPTOS | 1<<FieldIPTTL |
		1<<FieldIPFrag | 1<<FieldIPv6FlowLabel
	l4Fields = 1<<FieldSrcPort | 1<<FieldDstPort | 1<<FieldTCPFlags |
		1<<FieldICMPType | 1<<FieldICMPCode | 1<<FieldICMPID | 1<<FieldICMPData
)

// WithPrerequisites returns s plus the fields a datapath needs matched
// exactly for s to be meaningful, as OVS requires of a megaflow mask: any L3
// field (ARP or IP) implies the ethertype; any L4 field implies the ethertype,
// the IP protocol and the fragment kind (non-first fragments have no L4
// header); the ICMP identifier and the quoted header imply the ICMP type.
func (s FieldSet) WithPrerequisites() FieldSet {
	if s&(l3Fields|l4Fields) != 0 {
		s |= 1 << FieldEtherType
	}
	if s&l4Fields != 0 {
		s |= 1<<FieldIPProto | 1<<FieldIPFrag
	}
	if s&(1<<FieldICMPID|1<<FieldICMPData) != 0 {
		s |= 1 << FieldICMPType
	}
	return s
}
