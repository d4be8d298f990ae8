package topology

import (
	"fmt"
	"net/netip"
	"strconv"
)

func (c *Chain) Validate() error { return validateObject(c) }
func (c *Chain) validate(ps *problems) {
	requireID(ps, c)
	seen := make(map[ID]bool, len(c.Rules))
	for i := range c.Rules {
		r := &c.Rules[i]
		p := "rules[" + strconv.Itoa(i) + "]"
		if r.ID.IsZero() {
			ps.add(c, p+".id", ErrInvalidField, "missing")
		} else if seen[r.ID] {
			ps.add(c, p+".id", ErrDuplicateID, "two rules of the chain share it")
		}
		seen[r.ID] = true
		r.validate(ps, c, p)
	}
}

func (r *Rule) validate(ps *problems, c *Chain, p string) {
	switch r.Type {
	case RuleLiteral:
		switch r.Action {
		case ActionAccept, ActionDrop, ActionReject, ActionReturn:
		default:
			ps.add(c, p+".action", ErrInvalidRule, "a literal rule's action is accept, drop, reject or return, not "+r.Action.String())
		}
	case RuleNAT:
		switch r.Action {
		case ActionAccept, ActionContinue, ActionReturn:
		default:
			ps.add(c, p+".action", ErrInvalidRule, "a NAT rule's action is accept, continue or return, not "+r.Action.String())
		}
		r.validateNAT(ps, c, p)
	case RuleJump:
		if r.Action != ActionJump {
			ps.add(c, p+".action", ErrInvalidRule, "a jump rule's action is jump, not "+r.Action.String())
		}
		if r.JumpChain.IsZero() {
			ps.add(c, p+".jump-chain", ErrInvalidRule, "a jump rule needs a target chain")
		}
	default:
		ps.add(c, p+".type", ErrInvalidRule, "unknown rule type "+strconv.Itoa(int(r.Type)))
	}
	if r.Type != RuleJump && !r.JumpChain.IsZero() {
		ps.add(c, p+".jump-chain", ErrInvalidRule, "only jump rules name a chain")
	}
	if r.Type != RuleNAT && (len(r.NAT.Targets) > 0 || r.NAT.DNAT || r.NAT.Reverse || r.NAT.Masquerade) {
		ps.add(c, p+".nat", ErrInvalidRule, "only NAT rules carry NAT settings")
	}
	r.Condition.validate(ps, c, p+".condition")
	if r.NATKind() == NATDynamic {
		if fp := r.Condition.FragmentPolicy; fp != FragmentDefault && fp != FragmentUnfragmented {
			ps.add(c, p+".condition.fragment-policy", ErrInvalidRule, "dynamic NAT only applies to unfragmented packets, not "+fp.String())
		}
	}
}

func (r *Rule) validateNAT(ps *problems, c *Chain, p string) {
	kind := r.NATKind()
	if kind == NATReverse {
		if len(r.NAT.Targets) > 0 {
			ps.add(c, p+".nat.targets", ErrInvalidNAT, "reverse NAT takes no targets")
		}
		if r.NAT.Masquerade {
			ps.add(c, p+".nat.masquerade", ErrInvalidNAT, "reverse NAT does not masquerade")
		}
		return
	}
	if r.NAT.Masquerade {
		r.validateMasquerade(ps, c, p)
		return
	}
	if len(r.NAT.Targets) == 0 {
		ps.add(c, p+".nat.targets", ErrInvalidNAT, "forward NAT needs at least one target")
	}
	if kind == NATStatic && len(r.NAT.Targets) > 1 {
		ps.add(c, p+".nat.targets", ErrInvalidNAT, "static NAT (no port range) takes exactly one target")
	}
	for i, t := range r.NAT.Targets {
		tp := p + ".nat.targets[" + strconv.Itoa(i) + "]"
		for _, a := range []struct {
			f string
			v netip.Addr
		}{{".addr-start", t.AddrStart}, {".addr-end", t.AddrEnd}} {
			if !a.v.IsValid() || !a.v.Is4() {
				ps.add(c, tp+a.f, ErrInvalidNAT, "needs an IPv4 address")
			}
		}
		if t.AddrStart.Is4() && t.AddrEnd.Is4() && t.AddrEnd.Less(t.AddrStart) {
			ps.add(c, tp+".addr-end", ErrInvalidNAT, fmt.Sprintf("range %s-%s is empty", t.AddrStart, t.AddrEnd))
		}
		if kind == NATStatic && t.AddrStart != t.AddrEnd {
			ps.add(c, tp+".addr-end", ErrInvalidNAT, "static NAT maps to one address")
		}
		if kind == NATDynamic {
			switch {
			case t.PortStart == 0 || t.PortEnd == 0:
				ps.add(c, tp+".port-start", ErrInvalidNAT, fmt.Sprintf("port range %d-%d: dynamic NAT needs ports 1-65535", t.PortStart, t.PortEnd))
			case t.PortEnd < t.PortStart:
				ps.add(c, tp+".port-end", ErrInvalidNAT, fmt.Sprintf("port range %d-%d is empty", t.PortStart, t.PortEnd))
			}
		}
	}
}

// validateMasquerade checks a masquerade rule: source NAT, at most one
// target, which gives only a port range.
func (r *Rule) validateMasquerade(ps *problems, c *Chain, p string) {
	if r.NAT.DNAT {
		ps.add(c, p+".nat.masquerade", ErrInvalidNAT, "masquerade is source NAT, not destination NAT")
	}
	if len(r.NAT.Targets) > 1 {
		ps.add(c, p+".nat.targets", ErrInvalidNAT, "masquerade takes at most one target, a port range")
	}
	for i, t := range r.NAT.Targets {
		tp := p + ".nat.targets[" + strconv.Itoa(i) + "]"
		if t.AddrStart.IsValid() || t.AddrEnd.IsValid() {
			ps.add(c, tp+".addr-start", ErrInvalidNAT, "masquerade takes the egress port's address, not "+t.AddrStart.String())
		}
		switch {
		case t.PortStart == 0 || t.PortEnd == 0:
			ps.add(c, tp+".port-start", ErrInvalidNAT, fmt.Sprintf("port range %d-%d: dynamic NAT needs ports 1-65535", t.PortStart, t.PortEnd))
		case t.PortEnd < t.PortStart:
			ps.add(c, tp+".port-end", ErrInvalidNAT, fmt.Sprintf("port range %d-%d is empty", t.PortStart, t.PortEnd))
		}
	}
}

func (cd *Condition) validate(ps *problems, c *Chain, p string) {
	for _, x := range []struct {
		f string
		v Cond[netip.Prefix]
	}{{".nw-src", cd.NwSrc}, {".nw-dst", cd.NwDst}, {".icmp-data-src", cd.ICMPDataSrc}, {".icmp-data-dst", cd.ICMPDataDst}} {
		if x.v.Set {
			checkPrefix(ps, c, p+x.f, x.v.Value, true)
		}
	}
	for _, x := range []struct {
		f string
		v Cond[PortRange]
	}{{".tp-src", cd.TpSrc}, {".tp-dst", cd.TpDst}} {
		if x.v.Set && x.v.Value.End < x.v.Value.Start {
			ps.add(c, p+x.f, ErrInvalidField, fmt.Sprintf("range %d-%d is empty", x.v.Value.Start, x.v.Value.End))
		}
	}
	if cd.VLAN.Set {
		checkVLAN(ps, c, p+".vlan", cd.VLAN.Value)
	}
	if cd.MatchForwardFlow && cd.MatchReturnFlow {
		ps.add(c, p+".match-return-flow", ErrInvalidField, "a packet is either a forward or a return flow; both can never match")
	}
	if cd.FragmentPolicy > FragmentUnfragmented {
		ps.add(c, p+".fragment-policy", ErrInvalidField, "unknown fragment policy")
	}
}
