package simulation

import (
	"testing"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

func lit(a topology.Action, c topology.Condition) topology.Rule {
	return topology.Rule{Type: topology.RuleLiteral, Action: a, Condition: c}
}

func jump(to string) topology.Rule {
	return topology.Rule{Type: topology.RuleJump, Action: topology.ActionJump, JumpChain: cid(to)}
}

var (
	always = topology.Condition{}
	isUDP  = topology.Condition{NwProto: topology.Is(packet.ProtoUDP)}
)

// Chain evaluation: jumps, returns, continues, loops and missing targets.
func TestChainSemantics(t *testing.T) {
	cases := []struct {
		name   string
		chains map[string][]topology.Rule
		want   Verdict
		reason DropReason
		tagged []string // chains whose device tag the flow carries
	}{
		{"empty chain accepts", map[string][]topology.Rule{"top": nil}, Forward, ReasonNone, []string{"top"}},
		{"drop", map[string][]topology.Rule{"top": {lit(topology.ActionDrop, always)}}, Drop, ReasonFilter, []string{"top"}},
		{"reject drops (no ICMP on a bridge port)", map[string][]topology.Rule{"top": {lit(topology.ActionReject, always)}}, Drop, ReasonReject, nil},
		{"continue goes on", map[string][]topology.Rule{"top": {lit(topology.ActionContinue, always), lit(topology.ActionDrop, always)}}, Drop, ReasonFilter, nil},
		{"first match wins", map[string][]topology.Rule{"top": {lit(topology.ActionAccept, isUDP), lit(topology.ActionDrop, always)}}, Forward, ReasonNone, nil},
		{"return at top level accepts", map[string][]topology.Rule{"top": {lit(topology.ActionReturn, always), lit(topology.ActionDrop, always)}}, Forward, ReasonNone, nil},
		{"jump to a dropping chain", map[string][]topology.Rule{
			"top": {jump("sub"), lit(topology.ActionAccept, always)},
			"sub": {lit(topology.ActionDrop, isUDP)}}, Drop, ReasonFilter, []string{"top", "sub"}},
		{"return from a jump continues in the caller", map[string][]topology.Rule{
			"top": {jump("sub"), lit(topology.ActionDrop, always)},
			"sub": {lit(topology.ActionReturn, always), lit(topology.ActionAccept, always)}}, Drop, ReasonFilter, []string{"top", "sub"}},
		{"falling off a jumped chain continues", map[string][]topology.Rule{
			"top": {jump("sub"), lit(topology.ActionDrop, always)},
			"sub": {lit(topology.ActionAccept, topology.Condition{NwProto: topology.Is(packet.ProtoTCP)})}}, Drop, ReasonFilter, nil},
		{"accept in a jumped chain is decisive", map[string][]topology.Rule{
			"top": {jump("sub"), lit(topology.ActionDrop, always)},
			"sub": {lit(topology.ActionAccept, always)}}, Forward, ReasonNone, nil},
		{"missing jump target continues", map[string][]topology.Rule{
			"top": {jump("nowhere"), lit(topology.ActionDrop, always)}}, Drop, ReasonFilter, nil},
		{"jump loops are harmless", map[string][]topology.Rule{
			"top": {jump("a"), lit(topology.ActionDrop, always)},
			"a":   {jump("b")},
			"b":   {jump("a"), jump("top")}}, Drop, ReasonFilter, []string{"top", "a", "b"}},
		{"nested jumps", map[string][]topology.Rule{
			"top": {jump("a"), lit(topology.ActionAccept, always)},
			"a":   {jump("b")},
			"b":   {lit(topology.ActionReject, isUDP)}}, Drop, ReasonReject, []string{"top", "a", "b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := condNet(t)
			for name, rules := range tc.chains {
				n.chain(name, rules...)
			}
			n.port("vm1").InboundFilter = cid("top")
			r := n.sim("vm1", build(t, fUDP))
			wantVerdict(t, r, tc.want, tc.reason)
			for _, c := range tc.tagged {
				wantTags(t, r, TagDevice(cid(c)))
			}
		})
	}
}

// The engine's chain stack is clean after each filter: a jump loop in one
// filter does not leak into the next one.
func TestChainStackReset(t *testing.T) {
	n := condNet(t)
	n.chain("loop", jump("loop"))
	n.chain("drop", lit(topology.ActionDrop, always))
	n.port("vm1").InboundFilter = cid("loop")
	n.port("vm2").OutboundFilter = cid("drop")
	r := n.sim("vm1", build(t, fUDP))
	wantVerdict(t, r, Drop, ReasonFilter)
	wantTags(t, r, TagDevice(cid("loop")), TagDevice(cid("drop")))
}

// An engine keeps each filter slot's compiled chain for the snapshot it
// simulates on: a reused engine, untraced, follows the chains, the slots
// and the bridges' filters from one snapshot to the next, and a slot
// naming a chain that does not exist accepts.
func TestFilterSlotsFollowSnapshots(t *testing.T) {
	n := condNet(t)
	acl := n.chain("acl", lit(topology.ActionDrop, isUDP))
	n.port("vm1").InboundFilter = acl.ID
	e := New(Config{})
	frame := build(t, fUDP)
	sim := func(want Verdict, reason DropReason) {
		t.Helper()
		var r Result
		for range 2 { // the second run uses what the first one cached
			if err := e.Simulate(&Input{Snapshot: n.snapshot(), State: n.state(), InPort: pid("vm1"), Frame: frame}, &r); err != nil {
				t.Fatal(err)
			}
			wantVerdict(t, &r, want, reason)
		}
	}
	sim(Drop, ReasonFilter)
	acl.Rules = []topology.Rule{lit(topology.ActionAccept, isUDP)}
	n.dirty()
	sim(Forward, ReasonNone)
	n.port("vm1").InboundFilter = cid("no-such-chain")
	n.dirty()
	sim(Forward, ReasonNone)
	n.port("vm1").InboundFilter = topology.ID{}
	n.bridges[0].OutboundFilter = n.chain("bridge-out", lit(topology.ActionDrop, always)).ID
	sim(Drop, ReasonFilter)
}
