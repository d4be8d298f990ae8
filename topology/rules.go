package topology

import "net/netip"

// Chain is an ordered list of rules. Rules live inside their chain: editing a
// rule is an update of the chain, so a chain is always read and written
// atomically and rule order needs no separate bookkeeping.
type Chain struct {
	ID    ID
	Name  string
	Scope string // the declarative scope: see Bridge.Scope
	Rules []Rule
}

// RuleType is the kind of a rule.
type RuleType uint8

// Rule types.
const (
	// RuleLiteral rules apply their action when their condition matches.
	RuleLiteral RuleType = iota
	// RuleNAT rules rewrite addresses and ports (see NATSpec).
	RuleNAT
	// RuleJump rules evaluate another chain.
	RuleJump
)

func (t RuleType) String() string {
	switch t {
	case RuleNAT:
		return "nat"
	case RuleJump:
		return "jump"
	}
	return "literal"
}

// Action is what a rule does when it matches.
type Action uint8

// Rule actions.
const (
	ActionInvalid Action = iota
	// ActionAccept ends the filter and lets the packet through.
	ActionAccept
	// ActionContinue goes on with the next rule.
	ActionContinue
	// ActionDrop drops the packet.
	ActionDrop
	// ActionJump evaluates JumpChain.
	ActionJump
	// ActionReject drops the packet and, on routers, answers ICMP
	// administratively prohibited.
	ActionReject
	// ActionReturn leaves the current chain (ACCEPT at top level).
	ActionReturn
)

func (a Action) String() string {
	switch a {
	case ActionAccept:
		return "accept"
	case ActionContinue:
		return "continue"
	case ActionDrop:
		return "drop"
	case ActionJump:
		return "jump"
	case ActionReject:
		return "reject"
	case ActionReturn:
		return "return"
	}
	return "invalid"
}

// Rule is one entry of a chain.
type Rule struct {
	// ID identifies the rule in traces and flow tags.
	ID        ID
	Type      RuleType
	Action    Action
	Condition Condition
	// JumpChain is the chain a jump rule evaluates.
	JumpChain ID
	// NAT configures a NAT rule.
	NAT NATSpec
}

// NATSpec configures a NAT rule.
type NATSpec struct {
	// Targets are the address and port ranges to translate to (forward NAT).
	Targets []NATTarget
	// DNAT selects destination NAT; otherwise source NAT.
	DNAT bool
	// Reverse makes the rule undo an earlier translation of the connection
	// (reverse SNAT or reverse DNAT) instead of creating one.
	Reverse bool
	// Masquerade makes a dynamic source NAT to the address of the router
	// port the packet leaves by, so one rule serves every uplink whatever
	// its address (iptables' MASQUERADE). It belongs in a router's
	// outbound filter, where the egress port is known. Targets is then
	// empty (ports MasqueradePorts) or one target without addresses giving
	// the port range.
	Masquerade bool
}

// MasqueradePorts is the port range of a masquerade rule without one.
var MasqueradePorts = PortRange{Start: 1024, End: 65535}

// MasqueradeTarget returns the target of a masquerade rule leaving by a
// port with address addr.
func (n *NATSpec) MasqueradeTarget(addr netip.Addr) NATTarget {
	t := NATTarget{AddrStart: addr, AddrEnd: addr, PortStart: MasqueradePorts.Start, PortEnd: MasqueradePorts.End}
	if len(n.Targets) > 0 {
		t.PortStart, t.PortEnd = n.Targets[0].PortStart, n.Targets[0].PortEnd
	}
	return t
}

// NATTarget is an inclusive IPv4 range and an inclusive L4 port range. A
// zero port range (0, 0) leaves ports untouched.
type NATTarget struct {
	AddrStart netip.Addr
	AddrEnd   netip.Addr
	PortStart uint16
	PortEnd   uint16
}

// NATKind classifies a NAT rule as the reference does.
type NATKind uint8

// NAT rule kinds.
const (
	// NATNone: the rule is not a NAT rule.
	NATNone NATKind = iota
	// NATStatic is a stateless one-to-one address rewrite (a floating IP):
	// exactly one target with a zero port range.
	NATStatic
	// NATDynamic is stateful NAT: some target has a port range.
	NATDynamic
	// NATReverse undoes an earlier translation.
	NATReverse
)

func (k NATKind) String() string {
	switch k {
	case NATStatic:
		return "static"
	case NATDynamic:
		return "dynamic"
	case NATReverse:
		return "reverse"
	}
	return "none"
}

// NATKind derives the NAT subtype as the reference does: reverse when
// Reverse is set; dynamic when any target has a non-zero port bound (and
// for masquerade); static otherwise.
func (r *Rule) NATKind() NATKind {
	if r.Type != RuleNAT {
		return NATNone
	}
	if r.NAT.Reverse {
		return NATReverse
	}
	if r.NAT.Masquerade {
		return NATDynamic
	}
	for _, t := range r.NAT.Targets {
		if t.PortStart != 0 || t.PortEnd != 0 {
			return NATDynamic
		}
	}
	return NATStatic
}

// FragmentPolicy says which IPv4 fragments a condition matches.
type FragmentPolicy uint8

// Fragment policies. The zero value, FragmentDefault, resolves as the
// reference's API does: FragmentHeader when the condition looks at L4 fields,
// FragmentAny otherwise; dynamic forward NAT rules always use
// FragmentUnfragmented.
const (
	FragmentDefault FragmentPolicy = iota
	// FragmentAny matches unfragmented packets, first and later fragments.
	FragmentAny
	// FragmentHeader matches unfragmented packets and first fragments.
	FragmentHeader
	// FragmentNonHeader matches later fragments only.
	FragmentNonHeader
	// FragmentUnfragmented matches unfragmented packets only.
	FragmentUnfragmented
)

func (p FragmentPolicy) String() string {
	switch p {
	case FragmentAny:
		return "any"
	case FragmentHeader:
		return "header"
	case FragmentNonHeader:
		return "nonheader"
	case FragmentUnfragmented:
		return "unfragmented"
	}
	return "default"
}

// Cond is one optional sub-condition with its invert flag. The zero Cond is
// unset and matches everything.
type Cond[T any] struct {
	Value  T
	Set    bool
	Invert bool
}

// Is returns a set, non-inverted condition on v.
func Is[T any](v T) Cond[T] { return Cond[T]{Value: v, Set: true} }

// Not returns a set, inverted condition on v.
func Not[T any](v T) Cond[T] { return Cond[T]{Value: v, Set: true, Invert: true} }

// PortRange is an inclusive range of L4 ports. For ICMP, conditions compare
// the type (source slot) and code (destination slot) against it.
type PortRange struct {
	Start, End uint16
}

// Contains reports whether p is within the range.
func (r PortRange) Contains(p uint16) bool { return r.Start <= p && p <= r.End }

// MACMatch is a hardware address with a mask; a zero Mask means all 48 bits
// are compared.
type MACMatch struct {
	MAC  MAC
	Mask MAC
}

// Matches reports whether m matches under the mask.
func (mm MACMatch) Matches(m MAC) bool {
	mask := mm.Mask
	if mask.IsZero() {
		mask = BroadcastMAC
	}
	for i := range m {
		if m[i]&mask[i] != mm.MAC[i]&mask[i] {
			return false
		}
	}
	return true
}

// Condition selects the packets a rule applies to: the conjunction of every
// set sub-condition, each XOR its invert flag, negated as a whole when
// ConjunctionInvert is set. The fragment policy is checked first and is not
// affected by ConjunctionInvert. The zero Condition matches every packet.
type Condition struct {
	// MatchForwardFlow and MatchReturnFlow select packets by connection
	// tracking state (forward: the first direction seen).
	MatchForwardFlow bool
	MatchReturnFlow  bool

	// InPorts and OutPorts match the ingress and egress port.
	InPorts  Cond[[]ID]
	OutPorts Cond[[]ID]
	// PortGroup matches packets that entered through an exterior port of
	// the group; InPortGroup and OutPortGroup match the current ports.
	PortGroup    Cond[ID]
	InPortGroup  Cond[ID]
	OutPortGroup Cond[ID]
	// IPAddrGroupSrc and IPAddrGroupDst match addresses in the group.
	IPAddrGroupSrc Cond[ID]
	IPAddrGroupDst Cond[ID]

	EtherType Cond[uint16]
	EthSrc    Cond[MACMatch]
	EthDst    Cond[MACMatch]
	// NoVLAN matches untagged frames; VLAN matches the outermost tag's id.
	NoVLAN Cond[bool]
	VLAN   Cond[uint16]

	NwTOS   Cond[uint8]
	NwProto Cond[uint8]
	NwSrc   Cond[netip.Prefix]
	NwDst   Cond[netip.Prefix]
	// TpSrc and TpDst match L4 ports (ICMP: type and code).
	TpSrc Cond[PortRange]
	TpDst Cond[PortRange]

	// ICMPDataSrc and ICMPDataDst match the addresses inside the embedded
	// header of an ICMP error.
	ICMPDataSrc Cond[netip.Prefix]
	ICMPDataDst Cond[netip.Prefix]

	// TraversedDevice matches packets that already went through the device.
	TraversedDevice Cond[ID]
	// NwDstRewritten matches packets whose destination address was changed
	// by DNAT earlier in the simulation.
	NwDstRewritten Cond[bool]

	FragmentPolicy    FragmentPolicy
	ConjunctionInvert bool
}

// HasL4 reports whether the condition examines L4 fields.
func (c *Condition) HasL4() bool { return c.TpSrc.Set || c.TpDst.Set }

// EffectiveFragmentPolicy resolves FragmentDefault for a rule of the given
// NAT kind.
func (c *Condition) EffectiveFragmentPolicy(nat NATKind) FragmentPolicy {
	if nat == NATDynamic {
		return FragmentUnfragmented
	}
	if c.FragmentPolicy != FragmentDefault {
		return c.FragmentPolicy
	}
	if c.HasL4() {
		return FragmentHeader
	}
	return FragmentAny
}

// FragmentKind is the fragmentation state of an IPv4 packet.
type FragmentKind uint8

// Fragment kinds.
const (
	FragmentNone FragmentKind = iota
	FragmentFirst
	FragmentLater
)

// Accepts reports whether the policy matches a packet with fragment kind f.
func (p FragmentPolicy) Accepts(f FragmentKind) bool {
	switch p {
	case FragmentHeader:
		return f != FragmentLater
	case FragmentNonHeader:
		return f == FragmentLater
	case FragmentUnfragmented:
		return f == FragmentNone
	}
	return true
}
