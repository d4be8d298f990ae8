package simulation

import (
	"errors"
	"testing"
	"time"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

func timeAt(sec int64) time.Time { return time.Unix(sec, 0) }

// fakeNAT is a Stateful with static NAT only: DNAT rewrites the destination
// to the first target address, SNAT the source. It stands in for the real
// stateful services to exercise the extension point.
type fakeNAT struct {
	ret       bool // ReturnFlow's answer
	asked     int
	emitted   []topology.ID
	throwAway int
	err       error
}

func (s *fakeNAT) ReturnFlow(f *Flow) bool {
	s.asked++
	f.Original().IPSrc() // a real implementation reads the 5-tuple
	return s.ret
}

func (s *fakeNAT) NAT(f *Flow, device topology.ID, r *topology.Rule) (bool, error) {
	if s.err != nil {
		return false, s.err
	}
	if f.ThrowAway() {
		s.throwAway++
	}
	if r.NATKind() != topology.NATStatic || len(r.NAT.Targets) == 0 {
		return false, nil
	}
	m := f.Match()
	if r.NAT.DNAT {
		m.SetIPDst(r.NAT.Targets[0].AddrStart)
		f.SetNwDstRewritten()
	} else {
		m.SetIPSrc(r.NAT.Targets[0].AddrStart)
	}
	return true, nil
}

func (s *fakeNAT) Emit(f *Flow, p *topology.Port) error {
	s.emitted = append(s.emitted, p.ID)
	return s.err
}

// Forward/return-flow conditions use the Stateful's answer, asked once,
// lazily; without a Stateful every packet is a forward flow.
func TestStatefulForwardReturn(t *testing.T) {
	n := l2net(t)
	n.state().LearnMAC(bid("br"), 0, mac(mac2), pid("vm2"))
	n.state().LearnMAC(bid("br"), 0, mac(mac1), pid("vm1"))
	n.chain("in",
		topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionAccept,
			Condition: topology.Condition{MatchForwardFlow: true, InPorts: topology.Is([]topology.ID{pid("vm1")})}},
		topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionAccept,
			Condition: topology.Condition{MatchReturnFlow: true, InPorts: topology.Is([]topology.ID{pid("vm2")})}},
		topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionDrop})
	n.bridges[0].InboundFilter = cid("in")
	// No Stateful: forward from the left passes, the reply is a forward
	// flow too and is dropped.
	r := n.sim("vm1", echo(t, mac1, mac2, "10.0.0.1", "10.0.0.2"))
	wantVerdict(t, r, Forward, ReasonNone)
	reply := build(t, fr{src: mac2, dst: mac1, ipSrc: "10.0.0.2", ipDst: "10.0.0.1", proto: packet.ProtoICMP, icmpType: packet.ICMPEchoReply, icmpID: 77})
	r = n.sim("vm2", reply)
	wantVerdict(t, r, Drop, ReasonFilter)

	// With conntrack saying "return", the reply passes.
	f := &fakeNAT{ret: true}
	n.stf = f
	r = n.sim("vm2", reply)
	wantVerdict(t, r, Forward, ReasonNone)
	if f.asked != 1 {
		t.Errorf("ReturnFlow asked %d times, want 1", f.asked)
	}
	if !r.Seen.Has(packet.FieldIPSrc) {
		t.Errorf("fields read by ReturnFlow not in the megaflow: %v", r.Seen)
	}
	if len(f.emitted) != 1 || f.emitted[0] != pid("vm1") {
		t.Errorf("Emit calls %v", f.emitted)
	}
	// A rule that does not ask does not trigger a lookup.
	f.asked = 0
	n.chains[0].Rules = n.chains[0].Rules[2:]
	n.chains[0].Rules[0].Action = topology.ActionAccept
	n.dirty()
	n.sim("vm2", reply)
	if f.asked != 0 {
		t.Errorf("ReturnFlow asked without a conntrack condition")
	}
}

// Stateful errors become NotYet or ErrorDrop.
func TestStatefulErrors(t *testing.T) {
	for _, tc := range []struct {
		err    error
		want   Verdict
		reason DropReason
	}{
		{ErrNotYet, NotYet, ReasonStateful},
		{errors.New("boom"), ErrorDrop, ReasonStateful},
	} {
		n := l3net(t)
		n.stf = &fakeNAT{err: tc.err}
		n.chain("pre", topology.Rule{Type: topology.RuleNAT, Action: topology.ActionAccept,
			NAT: topology.NATSpec{DNAT: true, Targets: []topology.NATTarget{{AddrStart: ip("10.0.2.12"), AddrEnd: ip("10.0.2.12")}}}})
		n.routers[0].InboundFilter = cid("pre")
		r := n.sim("vm1", fromVM1(t, "10.0.2.12"))
		wantVerdict(t, r, tc.want, tc.reason)
	}
}

// Without a Stateful, NAT rules are not applied and say so in the trace.
func TestNATWithoutStateful(t *testing.T) {
	n := l3net(t)
	n.chain("pre", topology.Rule{Type: topology.RuleNAT, Action: topology.ActionAccept,
		NAT: topology.NATSpec{DNAT: true, Targets: []topology.NATTarget{{AddrStart: ip("10.0.2.12"), AddrEnd: ip("10.0.2.12")}}}},
		topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionDrop})
	n.routers[0].InboundFilter = cid("pre")
	r := n.sim("vm1", fromVM1(t, "200.0.0.5"))
	wantVerdict(t, r, Drop, ReasonFilter)
	if s := r.Trace.String(); !containsAll(s, "NAT not applied", "stateful services are not configured") {
		t.Errorf("trace lacks the NAT note:\n%s", s)
	}
}
