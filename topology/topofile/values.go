package topofile

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hivenet/hivenet/topology"
)

// Parsers and formatters of scalar values. Every parser returns an error
// wrapping ErrBadValue; every formatter produces what its parser accepts.

// jsonType is a set of JSON types. YAML files are untyped (every scalar is
// text for its parser); in a JSON document (an API body, see DecodeObject)
// each value must also be of one of the JSON types its key accepts.
type jsonType uint8

const (
	jsonString jsonType = 1 << iota
	jsonInt
	jsonBool
)

func (t jsonType) String() string {
	var names []string
	for _, x := range []struct {
		t    jsonType
		name string
	}{{jsonString, "a string"}, {jsonInt, "an integer"}, {jsonBool, "a boolean"}} {
		if t&x.t != 0 {
			names = append(names, x.name)
		}
	}
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, " or ")
}

// scalar is how one kind of value is read: its text parser and the JSON
// types it accepts.
type scalar[T any] struct {
	parse func(string) (T, error)
	json  jsonType
}

func textValue[T any](parse func(string) (T, error)) scalar[T] { return scalar[T]{parse, jsonString} }

// uintValue reads a decimal number of at most bits bits.
func uintValue(bits int) scalar[uint64] { return scalar[uint64]{parseUint(bits), jsonInt} }

var (
	idValue       = textValue(parseID)
	boolValue     = scalar[bool]{parseBool, jsonBool}
	addrValue     = textValue(parseAddr)
	prefixValue   = textValue(parsePrefix)
	macValue      = textValue(parseMAC)
	macMatchValue = textValue(parseMACMatch)
	// Ports, protocols and EtherTypes are numbers or words: 22 or
	// "1024-65535", 6 or "tcp", 2048 or "ipv4".
	portRangeValue = scalar[topology.PortRange]{parsePortRange, jsonString | jsonInt}
	protoValue     = scalar[uint8]{parseProto, jsonString | jsonInt}
	etherTypeValue = scalar[uint16]{parseEtherType, jsonString | jsonInt}
)

func badValue(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadValue}, args...)...)
}

func parseUint(bits int) func(string) (uint64, error) {
	return func(s string) (uint64, error) {
		v, err := strconv.ParseUint(s, 10, bits)
		if err != nil {
			return 0, badValue("%q is not a decimal number in 0-%d", s, uint64(1)<<bits-1)
		}
		return v, nil
	}
}

func parseBool(s string) (bool, error) {
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, badValue("%q is not true or false", s)
}

func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, badValue("%q is not an IP address", s)
	}
	return a, nil
}

// parsePrefix accepts a prefix or a bare address (a host prefix).
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, badValue("%q is not a prefix (a.b.c.d/n) or an address", s)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, badValue("%q is not a prefix (a.b.c.d/n)", s)
	}
	return p, nil
}

func parseMAC(s string) (topology.MAC, error) {
	m, err := topology.ParseMAC(s)
	if err != nil {
		return topology.MAC{}, badValue("%q is not a MAC address (aa:bb:cc:dd:ee:ff)", s)
	}
	return m, nil
}

// parseMACMatch accepts "mac" or "mac/mask".
func parseMACMatch(s string) (topology.MACMatch, error) {
	m, mask, masked := strings.Cut(s, "/")
	var mm topology.MACMatch
	var err error
	if mm.MAC, err = parseMAC(m); err != nil {
		return mm, err
	}
	if masked {
		if mm.Mask, err = parseMAC(mask); err != nil {
			return mm, err
		}
	}
	return mm, nil
}

func formatMACMatch(mm topology.MACMatch) string {
	if mm.Mask.IsZero() {
		return mm.MAC.String()
	}
	return mm.MAC.String() + "/" + mm.Mask.String()
}

// parsePortRange accepts "n" or "a-b".
func parsePortRange(s string) (topology.PortRange, error) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err1 := strconv.ParseUint(a, 10, 16)
	hi := lo
	var err2 error
	if isRange {
		hi, err2 = strconv.ParseUint(b, 10, 16)
	}
	if err1 != nil || err2 != nil {
		return topology.PortRange{}, badValue("%q is not a port (n) or port range (a-b) in 0-65535", s)
	}
	return topology.PortRange{Start: uint16(lo), End: uint16(hi)}, nil
}

func formatPortRange(r topology.PortRange) string {
	if r.Start == r.End {
		return strconv.Itoa(int(r.Start))
	}
	return strconv.Itoa(int(r.Start)) + "-" + strconv.Itoa(int(r.End))
}

var protoNames = []struct {
	name  string
	proto uint8
}{{"icmp", 1}, {"tcp", 6}, {"udp", 17}}

func parseProto(s string) (uint8, error) {
	for _, p := range protoNames {
		if s == p.name {
			return p.proto, nil
		}
	}
	v, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, badValue("%q is not tcp, udp, icmp or a protocol number 0-255", s)
	}
	return uint8(v), nil
}

func formatProto(p uint8) string {
	for _, n := range protoNames {
		if p == n.proto {
			return n.name
		}
	}
	return strconv.Itoa(int(p))
}

var etherTypeNames = []struct {
	name string
	typ  uint16
}{{"ipv4", 0x0800}, {"arp", 0x0806}, {"ipv6", 0x86dd}}

func parseEtherType(s string) (uint16, error) {
	for _, e := range etherTypeNames {
		if s == e.name {
			return e.typ, nil
		}
	}
	var v uint64
	var err error
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		v, err = strconv.ParseUint(h, 16, 16)
	} else {
		v, err = strconv.ParseUint(s, 10, 16)
	}
	if err != nil {
		return 0, badValue("%q is not ipv4, arp, ipv6 or an EtherType number (0x88cc)", s)
	}
	return uint16(v), nil
}

func formatEtherType(t uint16) string {
	for _, e := range etherTypeNames {
		if t == e.typ {
			return e.name
		}
	}
	return fmt.Sprintf("0x%04x", t)
}

// parseNATTarget accepts "addr", "addr-addr", and either followed by
// ":port" or ":port-port".
func parseNATTarget(s string) (topology.NATTarget, error) {
	var t topology.NATTarget
	addrs, ports, hasPorts := strings.Cut(s, ":")
	a, b, isRange := strings.Cut(addrs, "-")
	var err1, err2 error
	t.AddrStart, err1 = netip.ParseAddr(a)
	t.AddrEnd = t.AddrStart
	if isRange {
		t.AddrEnd, err2 = netip.ParseAddr(b)
	}
	if err1 != nil || err2 != nil || !t.AddrStart.Is4() || !t.AddrEnd.Is4() {
		return topology.NATTarget{}, badValue("%q is not a NAT target (a.b.c.d[-a.b.c.d][:port[-port]])", s)
	}
	if hasPorts {
		r, err := parsePortRange(ports)
		if err != nil {
			return topology.NATTarget{}, badValue("%q is not a NAT target (a.b.c.d[-a.b.c.d][:port[-port]])", s)
		}
		t.PortStart, t.PortEnd = r.Start, r.End
	}
	return t, nil
}

func formatNATTarget(t topology.NATTarget) (string, error) {
	if !t.AddrStart.Is4() || !t.AddrEnd.Is4() {
		return "", fmt.Errorf("%w: NAT target %v-%v is not an IPv4 range", ErrNotRepresentable, t.AddrStart, t.AddrEnd)
	}
	s := t.AddrStart.String()
	if t.AddrEnd != t.AddrStart {
		s += "-" + t.AddrEnd.String()
	}
	if t.PortStart != 0 || t.PortEnd != 0 {
		s += ":" + formatPortRange(topology.PortRange{Start: t.PortStart, End: t.PortEnd})
	}
	return s, nil
}

// enum parses and formats a small set of named values.
type enum[T comparable] struct {
	what  string
	names []string
	vals  []T
}

func (e enum[T]) parse(s string) (T, error) {
	for i, n := range e.names {
		if s == n {
			return e.vals[i], nil
		}
	}
	var zero T
	return zero, badValue("%q is not a %s (%s)", s, e.what, strings.Join(e.names, ", "))
}

// value reads one of e's names.
func (e enum[T]) value() scalar[T] { return textValue(e.parse) }

func (e enum[T]) format(v T) (string, bool) {
	for i, x := range e.vals {
		if x == v {
			return e.names[i], true
		}
	}
	return "", false
}

var (
	actions = enum[topology.Action]{"rule action",
		[]string{"accept", "continue", "drop", "jump", "reject", "return"},
		[]topology.Action{topology.ActionAccept, topology.ActionContinue, topology.ActionDrop, topology.ActionJump, topology.ActionReject, topology.ActionReturn}}
	nextHops = enum[topology.NextHop]{"next hop",
		[]string{"port", "blackhole", "reject", "local"},
		[]topology.NextHop{topology.NextHopPort, topology.NextHopBlackhole, topology.NextHopReject, topology.NextHopLocal}}
	zoneTypes = enum[topology.TunnelZoneType]{"tunnel zone type",
		[]string{"vxlan", "gre", "vtep"},
		[]topology.TunnelZoneType{topology.TunnelZoneVXLAN, topology.TunnelZoneGRE, topology.TunnelZoneVTEP}}
	fragmentPolicies = enum[topology.FragmentPolicy]{"fragment policy",
		[]string{"any", "header", "nonheader", "unfragmented"},
		[]topology.FragmentPolicy{topology.FragmentAny, topology.FragmentHeader, topology.FragmentNonHeader, topology.FragmentUnfragmented}}
	persistences = enum[topology.SessionPersistence]{"session persistence",
		[]string{"none", "source-ip"},
		[]topology.SessionPersistence{topology.PersistenceNone, topology.PersistenceSourceIP}}
	memberStatuses = enum[topology.MemberStatus]{"member status",
		[]string{"active", "inactive", "monitored"},
		[]topology.MemberStatus{topology.MemberActive, topology.MemberInactive, topology.MemberMonitored}}
	lbMethods = enum[topology.LBMethod]{"balancing method",
		[]string{"round-robin"},
		[]topology.LBMethod{topology.LBRoundRobin}}
)
