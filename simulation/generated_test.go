package simulation

import (
	"testing"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// resim simulates a generated packet as the agent does: from its port's
// egress, with a Result of its own.
func resim(t *testing.T, n *tnet, g GeneratedPacket) *Result {
	t.Helper()
	frame := append([]byte(nil), g.Frame...)
	return n.simInput(&Input{InPort: g.Port, Frame: frame, Generated: true})
}

// Generated packets (ARP, ICMP errors, echo replies) start at their port's
// egress, cross devices and never install flows.
func TestGeneratedPackets(t *testing.T) {
	n := l3net(t)
	n.routes = nil
	r := n.sim("vm1", fromVM1(t, "45.44.33.22"))
	wantVerdict(t, r, ShortDrop, ReasonNoRoute)
	wantGenerated(t, r, 1)
	g := resim(t, n, r.Generated[0])
	wantVerdict(t, g, Forward, ReasonNone)
	wantOut(t, g, "vm1")
	if g.Flow != FlowNone {
		t.Errorf("generated packet flow %v", g.Flow)
	}
	if v := g.Outputs[0].Match.Peek(); v.ICMPType() != packet.ICMPDestUnreach || v.IPDst() != ip("10.0.1.11") {
		t.Errorf("delivered %s", describe(v))
	}

	// The router's ARP request leaves through its exterior port.
	n = l3net(t)
	n.state().DeleteARP(rid("rtr"), ip("192.168.0.1"))
	r = n.sim("vm1", fromVM1(t, "45.44.33.22"))
	g = resim(t, n, r.Generated[0])
	wantVerdict(t, g, Forward, ReasonNone)
	wantOut(t, g, "r-up")

	// An ARP request for a router on a bridge floods the bridge.
	n.state().DeleteARP(rid("rtr"), ip("10.0.2.12"))
	r = n.sim("vm1", fromVM1(t, "10.0.2.12"))
	wantVerdict(t, r, NotYet, ReasonARPPending)
	g = resim(t, n, r.Generated[0])
	wantVerdict(t, g, Forward, ReasonNone)
	wantOut(t, g, "vm2")
	wantTags(t, g, TagARPRequests(bid("br2")))

	// Generated packets are return flows for conntrack conditions.
	n = l2net(t)
	n.chain("c", lit(topology.ActionDrop, topology.Condition{MatchReturnFlow: true}))
	n.port("vm2").OutboundFilter = cid("c")
	n.state().LearnMAC(bid("br"), 0, mac(mac2), pid("vm2"))
	f := udp(t, mac1, mac2, "10.0.0.1", "10.0.0.2")
	wantVerdict(t, n.sim("vm1", f), Forward, ReasonNone)
	g = n.simInput(&Input{InPort: pid("vm2"), Frame: f, Generated: true})
	wantVerdict(t, g, Drop, ReasonFilter)
}

// Egress through an unplugged port, and a MAC table naming a missing port.
func TestUnplugged(t *testing.T) {
	n := l2net(t)
	n.bport("br", "loose")
	n.state().LearnMAC(bid("br"), 0, mac(mac2), pid("loose"))
	r := n.sim("vm1", udp(t, mac1, mac2, "10.0.0.1", "10.0.0.2"))
	wantVerdict(t, r, ErrorDrop, ReasonUnplugged)
	n.state().LearnMAC(bid("br"), 0, mac(mac2), pid("gone"))
	r = n.sim("vm1", udp(t, mac1, mac2, "10.0.0.1", "10.0.0.2"))
	wantVerdict(t, r, ErrorDrop, ReasonUnplugged)
}

// A router port's inbound filter rejecting answers 3/13 from that port; a
// bridge rejecting never answers.
func TestRouterPortReject(t *testing.T) {
	n := l3net(t)
	n.chain("rej", lit(topology.ActionReject, isUDP))
	n.port("r-up").InboundFilter = cid("rej")
	r := n.sim("r-up", udp(t, gwMAC, rmacUp, "8.8.8.8", "10.0.1.11"))
	wantVerdict(t, r, Drop, ReasonReject)
	wantGenerated(t, r, 1)
	wantICMP(t, r.Generated[0], "r-up", packet.ICMPDestUnreach, packet.CodeAdminProhibited, "192.168.0.2", "8.8.8.8")

	// The router's outbound filter rejecting answers from the ingress port.
	n = l3net(t)
	n.chain("rej", lit(topology.ActionReject, isUDP))
	n.routers[0].OutboundFilter = cid("rej")
	r = n.sim("vm1", fromVM1(t, "10.0.2.12"))
	wantVerdict(t, r, Drop, ReasonReject)
	wantICMP(t, r.Generated[0], "r-p1", packet.ICMPDestUnreach, packet.CodeAdminProhibited, "10.0.1.1", "10.0.1.11")

	// ICMP errors are never sent about ICMP errors or to broadcast sources.
	n = l3net(t)
	n.chain("rej", lit(topology.ActionReject, always))
	n.port("r-up").InboundFilter = cid("rej")
	for _, f := range [][]byte{
		build(t, fr{src: gwMAC, dst: rmacUp, ipSrc: "8.8.8.8", ipDst: "10.0.1.11", proto: packet.ProtoICMP, icmpType: packet.ICMPTimeExceeded}),
		udp(t, gwMAC, rmacUp, "255.255.255.255", "10.0.1.11"),
		udp(t, gwMAC, rmacUp, "8.8.8.8", "192.168.0.255"),
		udp(t, gwMAC, rmacUp, "8.8.8.8", "224.0.0.5"),
		build(t, fr{src: gwMAC, dst: rmacUp, ipSrc: "8.8.8.8", ipDst: "10.0.1.11", frag: packet.FragLater}),
	} {
		r = n.sim("r-up", f)
		wantVerdict(t, r, Drop, ReasonReject)
		wantGenerated(t, r, 0)
	}
	b := l2net(t)
	b.chain("rej", lit(topology.ActionReject, always))
	b.bridges[0].InboundFilter = cid("rej")
	r = b.sim("vm1", udp(t, mac1, mac2, "10.0.0.1", "10.0.0.2"))
	wantVerdict(t, r, Drop, ReasonReject)
	wantGenerated(t, r, 0)
}

// Bridge input validation: errors for unusable inputs, never panics.
func TestBadInput(t *testing.T) {
	n := l2net(t)
	e := New(Config{})
	var r Result
	for _, in := range []*Input{
		nil,
		{},
		{Snapshot: n.snapshot(), InPort: pid("vm1")},
		{Snapshot: n.snapshot(), InPort: pid("nope"), Frame: udp(t, mac1, mac2, "10.0.0.1", "10.0.0.2")},
		{Snapshot: n.snapshot(), InPort: pid("vm1"), Frame: []byte{1, 2, 3}},
	} {
		if err := e.Simulate(in, &r); err == nil || r.Verdict != ErrorDrop || r.Reason != ReasonBadInput {
			t.Errorf("input %+v: err %v verdict %v", in, err, r.Verdict)
		}
	}
}
