package l4

import (
	"errors"
	"fmt"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// getNAT looks k up in the transaction, then in the shared table.
func (s *Services) getNAT(k flowstate.NATKey) (flowstate.NATBinding, bool) {
	if b, found, ok := s.tx.nat(k); found {
		return b, ok
	}
	return s.nats.Get(k)
}

// putPair records a new forward key bound to b and its return key, and tags
// the flow with both.
func (s *Services) putPair(f *simulation.Flow, k flowstate.NATKey, b flowstate.NATBinding) {
	r, rb := returnKey(k, b)
	s.tx.nats = append(s.tx.nats, natOp{key: k, val: b, op: opAdd}, natOp{key: r, val: rb, op: opAdd})
	addNATTag(f, k)
	addNATTag(f, r)
}

// refPair records that the flow uses existing forward key k (bound to b)
// and its return key, and tags the flow with both.
func (s *Services) refPair(f *simulation.Flow, k flowstate.NATKey, b flowstate.NATBinding) {
	r, rb := returnKey(k, b)
	s.tx.nats = append(s.tx.nats, natOp{key: k, val: b, op: opRef}, natOp{key: r, val: rb, op: opRef})
	addNATTag(f, k)
	addNATTag(f, r)
}

// delPair records the removal of forward key k (bound to b) and its return
// key, and tags the flow with both.
func (s *Services) delPair(f *simulation.Flow, k flowstate.NATKey, b flowstate.NATBinding) {
	r, _ := returnKey(k, b)
	s.tx.nats = append(s.tx.nats, natOp{key: k, val: b, op: opDel}, natOp{key: r, op: opDel})
	addNATTag(f, k)
	addNATTag(f, r)
}

// NAT implements simulation.Stateful: it applies a matched NAT rule of a
// chain owned by device (the keys' device).
//
//   - Static rules (floating IPs) rewrite the destination (DNAT) or source
//     (SNAT) address only, and the matching address embedded in ICMP
//     errors; they keep no state and also apply to router replies
//     evaluated on a throw-away context.
//   - Dynamic rules reuse the connection's forward key when it exists, or
//     allocate a binding: a leased port for TCP/UDP SNAT (the simulation
//     ends with NotYet while a port block is claimed), a random address
//     and port in the targets for DNAT, a random address keeping the
//     identifier for ICMP. The forward key and its return key are held in
//     the transaction.
//   - Reverse rules look up the return key of the packet and, when found,
//     translate the destination back (reverse SNAT) or the source (reverse
//     DNAT), including the header embedded in ICMP errors.
//
// Dynamic and reverse rules do not apply to throw-away contexts, to
// untranslatable packets (not IPv4 TCP, UDP, ICMP echo or ICMP error), or,
// for reverse rules, when no key matches: the chain goes on.
func (s *Services) NAT(f *simulation.Flow, device topology.ID, rule *topology.Rule) (bool, error) {
	s.begin(f)
	switch rule.NATKind() {
	case topology.NATStatic:
		return staticNAT(f, rule), nil
	case topology.NATDynamic:
		if f.ThrowAway() {
			return false, nil
		}
		return s.forwardNAT(f, device, rule)
	case topology.NATReverse:
		if f.ThrowAway() {
			return false, nil
		}
		typ := flowstate.NATRevSNAT
		if rule.NAT.DNAT {
			typ = flowstate.NATRevDNAT
		}
		return s.reverse(f, f.Match(), device, typ), nil
	}
	return false, nil
}

// staticNAT applies a floating-IP rule: a stateless address rewrite.
func staticNAT(f *simulation.Flow, rule *topology.Rule) bool {
	if len(rule.NAT.Targets) == 0 {
		return false
	}
	to := rule.NAT.Targets[0].AddrStart
	if !to.Is4() {
		return false
	}
	m := f.Match()
	if rule.NAT.DNAT {
		old := m.IPDst()
		if !old.Is4() {
			return false
		}
		m.SetIPDst(to)
		f.SetNwDstRewritten()
		if isICMPError(m) {
			// An error about a packet the translated host sent: its
			// embedded source is the floating IP. A rule conditioned on
			// the embedded destination rewrites that one instead.
			in := m.ICMPData()
			if c := rule.Condition.ICMPDataDst; c.Set {
				if in.Dst == c.Value.Addr() {
					in.Dst = to
					m.SetICMPData(in)
				}
			} else if in.Src == old {
				in.Src = to
				m.SetICMPData(in)
			}
		}
		return true
	}
	old := m.IPSrc()
	if !old.Is4() {
		return false
	}
	m.SetIPSrc(to)
	if isICMPError(m) {
		// An error about a packet the translated host received.
		if in := m.ICMPData(); in.Dst == old {
			in.Dst = to
			m.SetICMPData(in)
		}
	}
	return true
}

func isICMPError(m *packet.Match) bool {
	return m.IPProto() == packet.ProtoICMP && packet.IsICMPError(m.ICMPType())
}

// forwardNAT applies a dynamic forward rule.
func (s *Services) forwardNAT(f *simulation.Flow, device topology.ID, rule *topology.Rule) (bool, error) {
	m := f.Match()
	kind := classify(m)
	if kind == kindNone {
		return false, nil
	}
	typ := flowstate.NATFwdSNAT
	if rule.NAT.DNAT {
		typ = flowstate.NATFwdDNAT
	}
	if rule.NAT.Masquerade && f.OutPort().IsZero() {
		return notMasqueraded(f), nil
	}
	k := natKey(m, kind, device, typ)
	b, ok := s.getNAT(k)
	if ok {
		s.refPair(f, k, b)
	} else {
		targets := rule.NAT.Targets
		if rule.NAT.Masquerade {
			// The egress router port's address, needed only to allocate.
			p, ok := f.Snapshot().Port(f.OutPort())
			if !ok || p.Router.IsZero() || !p.Address.Is4() {
				return notMasqueraded(f), nil
			}
			s.masq[0] = rule.NAT.MasqueradeTarget(p.Address)
			targets = s.masq[:]
		}
		var err error
		if b, err = s.allocate(f, k, kind, targets); err != nil {
			return false, err
		}
		s.putPair(f, k, b)
	}
	if f.Tracing() {
		f.Note(fmt.Sprintf("nat: %s -> %s (existing %v)", k, b, ok))
	}
	translate(f, m, kind, typ, b)
	return true, nil
}

// notMasqueraded notes that a masquerade rule did not apply: only a
// router's outbound filter knows the egress router port whose address it
// takes. It reports false (not applied).
func notMasqueraded(f *simulation.Flow) bool {
	if f.Tracing() {
		f.Note("nat: masquerade outside a router's outbound filter (no egress router port): not applied")
	}
	return false
}

// translate rewrites the packet with forward binding b.
func translate(f *simulation.Flow, m *packet.Match, kind pktKind, typ flowstate.NATKeyType, b flowstate.NATBinding) {
	if typ == flowstate.NATFwdSNAT {
		m.SetIPSrc(b.IP.Addr())
		if kind == kindL4 {
			m.SetSrcPort(b.Port)
		}
		return
	}
	m.SetIPDst(b.IP.Addr())
	if kind == kindL4 {
		m.SetDstPort(b.Port)
	}
	f.SetNwDstRewritten()
}

// allocate picks the binding of a new forward key.
func (s *Services) allocate(f *simulation.Flow, k flowstate.NATKey, kind pktKind, targets []topology.NATTarget) (flowstate.NATBinding, error) {
	if len(targets) == 0 {
		return flowstate.NATBinding{}, errors.New("l4: NAT rule without targets")
	}
	if kind != kindL4 {
		// ICMP: a random address, the identifier kept.
		t := &targets[f.Rand()%uint64(len(targets))]
		ip, ok := randomIP(f, t)
		if !ok {
			return flowstate.NATBinding{}, fmt.Errorf("l4: NAT target %v is not IPv4", t.AddrStart)
		}
		return flowstate.NATBinding{IP: ip, Port: k.DstPort}, nil
	}
	if k.Type != flowstate.NATFwdSNAT {
		t := &targets[f.Rand()%uint64(len(targets))]
		ip, ok := randomIP(f, t)
		if !ok {
			return flowstate.NATBinding{}, fmt.Errorf("l4: NAT target %v is not IPv4", t.AddrStart)
		}
		port := k.DstPort // a target without ports keeps them
		if t.PortStart != 0 || t.PortEnd != 0 {
			port = randomPort(f, t.PortStart, t.PortEnd)
		}
		return flowstate.NATBinding{IP: ip, Port: port}, nil
	}
	if s.ports == nil {
		return flowstate.NATBinding{}, ErrNoPorts
	}
	s.targets = s.targets[:0]
	for _, t := range targets {
		nt, ok := flowstate.NATTargetFrom(t)
		if !ok {
			return flowstate.NATBinding{}, fmt.Errorf("l4: NAT target %v-%v is not IPv4", t.AddrStart, t.AddrEnd)
		}
		s.targets = append(s.targets, nt)
	}
	b, err := s.ports.Allocate(k.Device, k.DstIP, k.DstPort, s.targets)
	if err != nil {
		if errors.Is(err, simulation.ErrNotYet) {
			var w Wait
			if errors.As(err, &w) {
				s.waiting = w
			}
			return b, fmt.Errorf("%w: %w", simulation.ErrNotYet, err)
		}
		return b, fmt.Errorf("l4: allocating a NAT port: %w", err)
	}
	s.tx.leases = append(s.tx.leases, lease{device: k.Device, binding: b, dst: k.DstIP, dstPort: k.DstPort})
	return b, nil
}

func randomIP(f *simulation.Flow, t *topology.NATTarget) (flowstate.IPv4, bool) {
	lo, ok1 := flowstate.IPv4From(t.AddrStart)
	hi, ok2 := flowstate.IPv4From(t.AddrEnd)
	if !ok1 {
		return lo, false
	}
	if !ok2 {
		hi = lo
	}
	a, z := be32(lo), be32(hi)
	if z < a {
		a, z = z, a
	}
	v := a + uint32(f.Rand()%(uint64(z-a)+1))
	return flowstate.IPv4{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}, true
}

func randomPort(f *simulation.Flow, lo, hi uint16) uint16 {
	if hi < lo {
		lo, hi = hi, lo
	}
	return lo + uint16(f.Rand()%(uint64(hi-lo)+1))
}

func be32(ip flowstate.IPv4) uint32 {
	return uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8 | uint32(ip[3])
}

// reverse applies a reverse translation of type typ (rev-snat, rev-dnat or
// rev-sticky-dnat) on device: it tags the flow with the return key it
// looks up and, when found, translates the packet back. It reports whether
// anything was rewritten.
func (s *Services) reverse(f *simulation.Flow, m *packet.Match, device topology.ID, typ flowstate.NATKeyType) bool {
	kind := classify(m)
	if kind == kindNone {
		return false
	}
	k := natKey(m, kind, device, typ)
	addNATTag(f, k)
	b, ok := s.getNAT(k)
	if !ok {
		return false
	}
	if f.Tracing() {
		f.Note(fmt.Sprintf("nat: %s -> %s", k, b))
	}
	to := b.IP.Addr()
	if typ == flowstate.NATRevSNAT {
		if kind == kindL4 {
			m.SetIPDst(to)
			m.SetDstPort(b.Port)
			return true
		}
		changed := false
		if m.IPDst() == k.DstIP.Addr() {
			m.SetIPDst(to)
			changed = true
		}
		if kind == kindError {
			// The embedded packet left with the NAT address as its source.
			in := m.ICMPData()
			if in.Src == k.DstIP.Addr() {
				in.Src = to
				if in.Proto != packet.ProtoICMP {
					in.SrcPort = b.Port
				}
				m.SetICMPData(in)
				changed = true
			}
		}
		return changed
	}
	if kind == kindL4 {
		m.SetIPSrc(to)
		m.SetSrcPort(b.Port)
		return true
	}
	if typ == flowstate.NATRevStickyDNAT {
		return false
	}
	changed := false
	if m.IPSrc() == k.SrcIP.Addr() {
		m.SetIPSrc(to)
		changed = true
	}
	if kind == kindError {
		// The embedded packet went to the backend.
		in := m.ICMPData()
		if in.Dst == k.SrcIP.Addr() {
			in.Dst = to
			if in.Proto != packet.ProtoICMP {
				in.DstPort = b.Port
			}
			m.SetICMPData(in)
			changed = true
		}
	}
	return changed
}
