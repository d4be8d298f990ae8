package simulation

import (
	"strings"
	"testing"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

const (
	rmac1  = "02:aa:00:00:00:01" // r-p1, 10.0.1.1/24 (br1)
	rmac2  = "02:aa:00:00:00:02" // r-p2, 10.0.2.1/24 (br2)
	rmacUp = "02:aa:00:00:00:ff" // r-up, 192.168.0.2/24 (exterior)
	gwMAC  = "02:99:00:00:00:01" // upstream gateway 192.168.0.1
)

// l3net: vm1 (10.0.1.11) on br1 and vm2 (10.0.2.12) on br2, both linked to
// router rtr, which has an exterior uplink r-up with a default route via
// 192.168.0.1. MACs and ARP entries are resolved.
func l3net(t testing.TB) *tnet {
	n := newNet(t)
	n.bridge("br1")
	n.bridge("br2")
	n.vm("br1", "vm1")
	n.vm("br2", "vm2")
	n.router("rtr")
	n.link(n.rport("rtr", "r-p1", "10.0.1.1/24", rmac1), n.bport("br1", "br1-r"))
	n.link(n.rport("rtr", "r-p2", "10.0.2.1/24", rmac2), n.bport("br2", "br2-r"))
	n.bind(n.rport("rtr", "r-up", "192.168.0.2/24", rmacUp))
	n.route("rtr", "default", "0.0.0.0/0", "r-up", "192.168.0.1")
	st := n.state()
	st.LearnMAC(bid("br1"), 0, mac(mac1), pid("vm1"))
	st.LearnMAC(bid("br2"), 0, mac(mac2), pid("vm2"))
	st.SetARP(rid("rtr"), ip("192.168.0.1"), mac(gwMAC))
	st.SetARP(rid("rtr"), ip("10.0.2.12"), mac(mac2))
	st.SetARP(rid("rtr"), ip("10.0.1.11"), mac(mac1))
	return n
}

func fromVM1(t testing.TB, dst string) []byte { return udp(t, mac1, rmac1, "10.0.1.11", dst) }

// Forwarding via the default route rewrites the Ethernet addresses and
// decrements the TTL, and only that.
func TestRouterDefaultRoute(t *testing.T) {
	n := l3net(t)
	r := n.sim("vm1", fromVM1(t, "45.44.33.22"))
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "r-up")
	want := packet.FieldsOf(packet.FieldEthSrc, packet.FieldEthDst, packet.FieldIPTTL)
	if c := changed(r, 0); c != want {
		t.Errorf("rewrites %v, want %v", c, want)
	}
	v := r.Outputs[0].Match.Peek()
	if v.EthSrc() != mac(rmacUp) || v.EthDst() != mac(gwMAC) || v.IPTTL() != 63 {
		t.Errorf("output %s", describe(v))
	}
	wantTags(t, r, TagDevice(rid("rtr")), TagRoute(id(topology.KindRoute, "default")),
		TagRouterDst(rid("rtr"), ip("45.44.33.22")), TagARPEntry(rid("rtr"), ip("192.168.0.1")),
		TagPortTx(pid("r-up")))
	for _, f := range []packet.Field{packet.FieldIPDst, packet.FieldIPSrc, packet.FieldIPTTL, packet.FieldEtherType} {
		if !r.Seen.Has(f) {
			t.Errorf("seen %v lacks %v", r.Seen, f)
		}
	}
	if r.Seen.Has(packet.FieldSrcPort) || r.Seen.Has(packet.FieldIPTOS) {
		t.Errorf("single route examined L4/TOS: %v", r.Seen)
	}
}

// Downlink to downlink: the Ethernet addresses are rewritten and the TTL
// decremented; without the default route an external destination is
// unreachable (ICMP net unreachable from the ingress port).
func TestRouterDownlinkToDownlink(t *testing.T) {
	n := l3net(t)
	r := n.sim("vm1", fromVM1(t, "10.0.2.12"))
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "vm2")
	v := r.Outputs[0].Match.Peek()
	if v.EthSrc() != mac(rmac2) || v.EthDst() != mac(mac2) || v.IPTTL() != 63 {
		t.Errorf("output %s", describe(v))
	}
	wantTags(t, r, TagBridgeMAC(bid("br2"), mac(mac2), 0, pid("vm2")), TagRouterDst(rid("rtr"), ip("10.0.2.12")))

	// Without the default route, an external destination is unreachable.
	n.routes = nil
	n.dirty()
	r = n.sim("vm1", fromVM1(t, "45.44.33.22"))
	wantVerdict(t, r, ShortDrop, ReasonNoRoute)
	wantGenerated(t, r, 1)
	g := wantICMP(t, r.Generated[0], "r-p1", packet.ICMPDestUnreach, packet.CodeNetUnreach, "10.0.1.1", "10.0.1.11")
	if g.EthSrc() != mac(rmac1) || g.EthDst() != mac(mac1) {
		t.Errorf("ICMP eth %s -> %s", g.EthSrc(), g.EthDst())
	}
	if in := g.ICMPData(); in.Src != ip("10.0.1.11") || in.Dst != ip("45.44.33.22") || in.Proto != packet.ProtoUDP {
		t.Errorf("quoted header %+v", in)
	}
	if len(r.Tags) != 0 || r.Flow != FlowShort {
		t.Errorf("tags %v flow %v", r.Tags, r.Flow)
	}
}

// ECMP picks one of several equal routes by connection hash: always the same
// one for a connection, spread over connections.
func TestRouterECMPStable(t *testing.T) {
	n := l3net(t)
	gws := []string{"192.168.0.11", "192.168.0.12", "192.168.0.13"}
	for i, gw := range gws {
		n.route("rtr", "ecmp"+gw, "10.9.9.9/32", "r-up", gw)
		n.state().SetARP(rid("rtr"), ip(gw), topology.MAC{0x02, 0x77, 0, 0, 0, byte(i)})
	}
	used := map[topology.MAC]bool{}
	for sport := uint16(1000); sport < 1064; sport++ {
		f := build(t, fr{src: mac1, dst: rmac1, ipSrc: "10.0.1.11", ipDst: "10.9.9.9", sport: sport, dport: 80, proto: packet.ProtoTCP})
		first := n.sim("vm1", f)
		wantVerdict(t, first, Forward, ReasonNone)
		gw := first.Outputs[0].Match.Peek().EthDst()
		for range 3 {
			again := n.sim("vm1", f)
			if d := again.Outputs[0].Match.Peek().EthDst(); d != gw {
				t.Fatalf("sport %d: next hop %v then %v", sport, gw, d)
			}
		}
		used[gw] = true
		if !first.Seen.Has(packet.FieldSrcPort) || !first.Seen.Has(packet.FieldDstPort) {
			t.Fatalf("ECMP hash did not mark ports seen: %v", first.Seen)
		}
		// /32 routes do not record the destination in the router trie.
		wantNoTag(t, first, TagRouterDst(rid("rtr"), ip("10.9.9.9")))
	}
	if len(used) != len(gws) {
		t.Errorf("64 connections used %d of %d routes", len(used), len(gws))
	}
}

// IPv6 into a router port is dropped without a flow.
func TestRouterIPv6(t *testing.T) {
	n := l3net(t)
	f := build(t, fr{src: gwMAC, dst: rmacUp, et: packet.EtherTypeIPv6, ipSrc: "2001:db8::1", ipDst: "2001:db8::2", sport: 1, dport: 2})
	r := n.sim("r-up", f)
	wantVerdict(t, r, Drop, ReasonEtherType)
	if r.Flow != FlowNone {
		t.Errorf("flow %v, want none", r.Flow)
	}
}

// Packets from or to a service-container port keep their TTL.
func TestRouterServiceContainerTTL(t *testing.T) {
	n := l3net(t)
	n.port("r-p1").ServiceContainer = true
	f := build(t, fr{src: mac1, dst: rmac1, ipSrc: "10.0.1.11", ipDst: "45.44.33.22", ttl: 1, sport: 1, dport: 2})
	r := n.sim("vm1", f)
	wantVerdict(t, r, Forward, ReasonNone)
	if c := changed(r, 0); c != packet.FieldsOf(packet.FieldEthSrc, packet.FieldEthDst) {
		t.Errorf("rewrites %v", c)
	}
}

// TTL 1 elsewhere: ICMP time exceeded and an error drop.
func TestRouterTTLExpired(t *testing.T) {
	n := l3net(t)
	f := build(t, fr{src: mac1, dst: rmac1, ipSrc: "10.0.1.11", ipDst: "45.44.33.22", ttl: 1, sport: 1, dport: 2})
	r := n.sim("vm1", f)
	wantVerdict(t, r, ErrorDrop, ReasonTTL)
	wantGenerated(t, r, 1)
	wantICMP(t, r.Generated[0], "r-p1", packet.ICMPTimeExceeded, packet.CodeTTLExceeded, "10.0.1.1", "10.0.1.11")
}

// Blackhole routes drop silently; reject routes answer 3/13.
func TestRouterBlackholeAndReject(t *testing.T) {
	n := l3net(t)
	n.routes = append(n.routes,
		&topology.Route{ID: id(topology.KindRoute, "bh"), Router: rid("rtr"), Dst: prefix("10.66.0.0/16"), NextHop: topology.NextHopBlackhole},
		&topology.Route{ID: id(topology.KindRoute, "rej"), Router: rid("rtr"), Dst: prefix("10.77.0.0/16"), NextHop: topology.NextHopReject})
	n.dirty()
	r := n.sim("vm1", fromVM1(t, "10.66.1.1"))
	wantVerdict(t, r, ErrorDrop, ReasonBlackhole)
	wantGenerated(t, r, 0)
	// Blackhole flows are not recorded in the router trie.
	wantNoTag(t, r, TagRouterDst(rid("rtr"), ip("10.66.1.1")))

	r = n.sim("r-up", udp(t, gwMAC, rmacUp, "192.168.0.1", "10.77.1.1"))
	wantVerdict(t, r, ShortDrop, ReasonRejectRoute)
	wantGenerated(t, r, 1)
	g := wantICMP(t, r.Generated[0], "r-up", packet.ICMPDestUnreach, packet.CodeAdminProhibited, "192.168.0.2", "192.168.0.1")
	if g.EthDst() != mac(gwMAC) {
		t.Errorf("ICMP to %v", g.EthDst())
	}
}

// Echo requests to the ingress port's address or another port's address are
// answered by the router.
func TestRouterEchoReply(t *testing.T) {
	n := l3net(t)
	for _, dst := range []string{"10.0.1.1", "10.0.2.1", "192.168.0.2"} {
		r := n.sim("vm1", echo(t, mac1, rmac1, "10.0.1.11", dst))
		wantVerdict(t, r, Consumed, ReasonNone)
		wantGenerated(t, r, 1)
		g := r.Generated[0]
		if g.Port != pid("r-p1") {
			t.Errorf("reply out of %v", g.Port)
		}
		v := parse(t, g.Frame)
		if v.ICMPType() != packet.ICMPEchoReply || v.IPSrc() != ip(dst) || v.IPDst() != ip("10.0.1.11") ||
			v.EthSrc() != mac(rmac1) || v.EthDst() != mac(mac1) || v.ICMPID() != 77 {
			t.Errorf("reply %s", describe(v))
		}
		if r.Flow != FlowNone {
			t.Errorf("flow %v", r.Flow)
		}
		// The reply is a valid frame: checksums verify.
		checkIPv4Checksums(t, g.Frame)
	}
	// A UDP packet to the router itself is an error drop.
	r := n.sim("vm1", fromVM1(t, "10.0.1.1"))
	wantVerdict(t, r, ErrorDrop, ReasonLocal)
}

func checkIPv4Checksums(t testing.TB, frame []byte) {
	t.Helper()
	v := parse(t, frame)
	l := v.Layout()
	ihl := v.IPv4HeaderLen()
	if c := packet.Checksum(frame[l.L3 : int(l.L3)+ihl]); c != 0 {
		t.Errorf("IPv4 header checksum does not verify (%#x)", c)
	}
	if v.IPProto() == packet.ProtoICMP {
		if c := packet.Checksum(frame[l.L4:l.End]); c != 0 {
			t.Errorf("ICMP checksum does not verify (%#x)", c)
		}
	}
}

// A gateway outside the exterior port's subnets cannot be resolved.
func TestRouterGatewayOutsideSubnet(t *testing.T) {
	n := l3net(t)
	n.route("rtr", "far", "10.50.0.0/16", "r-up", "172.16.0.1")
	r := n.sim("vm1", fromVM1(t, "10.50.0.1"))
	wantVerdict(t, r, ErrorDrop, ReasonUnresolved)
	wantGenerated(t, r, 1)
	wantICMP(t, r.Generated[0], "r-p1", packet.ICMPDestUnreach, packet.CodeNetUnreach, "10.0.1.1", "10.0.1.11")
}

// Unknown next hop: ARP request out of the port, NotYet, waiting for it.
func TestRouterARPMiss(t *testing.T) {
	n := l3net(t)
	n.state().DeleteARP(rid("rtr"), ip("192.168.0.1"))
	r := n.sim("vm1", fromVM1(t, "45.44.33.22"))
	wantVerdict(t, r, NotYet, ReasonARPPending)
	if r.Waiting != (ARPTarget{Router: rid("rtr"), Port: pid("r-up"), IP: ip("192.168.0.1")}) {
		t.Errorf("waiting %+v", r.Waiting)
	}
	wantGenerated(t, r, 1)
	v := parse(t, r.Generated[0].Frame)
	if r.Generated[0].Port != pid("r-up") || v.ARPOp() != packet.ARPRequest || v.ARPTPA() != ip("192.168.0.1") ||
		v.ARPSPA() != ip("192.168.0.2") || v.ARPSHA() != mac(rmacUp) || !v.EthDst().IsBroadcast() {
		t.Errorf("ARP request %s", describe(v))
	}
	if len(r.Outputs) != 0 || r.Flow != FlowNone {
		t.Errorf("outputs %d flow %v", len(r.Outputs), r.Flow)
	}

	// An expired entry is a miss too; a stale one is used and reported.
	now := n.snapshot() // keep the snapshot
	_ = now
	base := timeAt(1000)
	n.state().SetARPEntry(rid("rtr"), ip("192.168.0.1"), ARPEntry{MAC: mac(gwMAC), Stale: timeAt(900), Expiry: timeAt(1000)})
	r = n.simInput(&Input{InPort: pid("vm1"), Frame: fromVM1(t, "45.44.33.22"), Now: base})
	wantVerdict(t, r, NotYet, ReasonARPPending)
	n.state().SetARPEntry(rid("rtr"), ip("192.168.0.1"), ARPEntry{MAC: mac(gwMAC), Stale: timeAt(900), Expiry: timeAt(2000)})
	r = n.simInput(&Input{InPort: pid("vm1"), Frame: fromVM1(t, "45.44.33.22"), Now: base})
	wantVerdict(t, r, Forward, ReasonNone)
	if len(r.ARPRefresh) != 1 || r.ARPRefresh[0].IP != ip("192.168.0.1") {
		t.Errorf("refresh %+v", r.ARPRefresh)
	}
}

// Routes through ports that do not publish are ignored.
func TestRouterNonPublishingPort(t *testing.T) {
	n := l3net(t)
	n.routes = nil
	n.rport("rtr", "r-dead", "10.60.0.1/24", "02:aa:00:00:00:60")
	n.route("rtr", "via-dead", "10.61.0.0/16", "r-dead", "10.60.0.2")
	up := n.bind(n.rport("rtr", "r-idle", "10.70.0.1/24", "02:aa:00:00:00:70"))
	n.state().SetActive(up.ID, false)
	for _, dst := range []string{"10.60.0.5", "10.61.0.5", "10.70.0.5"} {
		r := n.sim("vm1", fromVM1(t, dst))
		wantVerdict(t, r, ShortDrop, ReasonNoRoute)
		wantGenerated(t, r, 1)
		wantICMP(t, r.Generated[0], "r-p1", packet.ICMPDestUnreach, packet.CodeNetUnreach, "10.0.1.1", "10.0.1.11")
	}
	n.state().SetActive(up.ID, true)
	n.state().SetARP(rid("rtr"), ip("10.70.0.5"), mac(mac4))
	r := n.sim("vm1", fromVM1(t, "10.70.0.5"))
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "r-idle")
}

// Non-IP frames and VLAN-tagged frames are dropped; a VLAN-0 priority tag is
// popped.
func TestRouterEtherTypesAndVLAN(t *testing.T) {
	n := l3net(t)
	r := n.sim("r-up", garbageTo(rmacUp, 0x88b6))
	wantVerdict(t, r, Drop, ReasonEtherType)

	tagged := build(t, fr{src: gwMAC, dst: rmacUp, vlans: []uint16{10}, ipSrc: "8.8.8.8", ipDst: "10.0.1.11", sport: 1, dport: 2})
	r = n.sim("r-up", tagged)
	wantVerdict(t, r, Drop, ReasonVLAN)

	prio := build(t, fr{src: gwMAC, dst: rmacUp, vlans: []uint16{0}, ipSrc: "8.8.8.8", ipDst: "10.0.1.11", sport: 1, dport: 2})
	r = n.sim("r-up", prio)
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "vm1")
	want := packet.FieldsOf(packet.FieldVLAN, packet.FieldEthSrc, packet.FieldEthDst, packet.FieldIPTTL)
	if c := changed(r, 0); c != want {
		t.Errorf("rewrites %v, want %v", c, want)
	}
	if r.Outputs[0].Match.Peek().VLANs().Len() != 0 {
		t.Errorf("VLAN 0 not popped")
	}

	// A frame not addressed to the port's MAC.
	r = n.sim("r-up", udp(t, gwMAC, mac4, "8.8.8.8", "10.0.1.11"))
	wantVerdict(t, r, Drop, ReasonNotForRouter)
}

func garbageTo(dst string, et uint16) []byte {
	d := mac(dst)
	b := append(d[:], 0x02, 0x99, 0, 0, 0, 1, byte(et>>8), byte(et))
	return append(b, 1, 2, 3, 4)
}

// An outbound chain accepting only forward flows still lets the router answer
// pings (the reply is a return flow evaluated on a throw-away context and
// falls through to the chain's default accept).
func TestRouterEchoWithForwardFlowChain(t *testing.T) {
	n := l3net(t)
	n.chain("out", topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionAccept,
		Condition: topology.Condition{MatchForwardFlow: true}})
	n.routers[0].OutboundFilter = cid("out")
	r := n.sim("vm1", echo(t, mac1, rmac1, "10.0.1.11", "10.0.1.1"))
	wantVerdict(t, r, Consumed, ReasonNone)
	wantGenerated(t, r, 1)

	// An outbound chain that drops the reply suppresses it.
	n.chain("out", topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionDrop,
		Condition: topology.Condition{MatchReturnFlow: true}})
	n.chains = n.chains[1:]
	r = n.sim("vm1", echo(t, mac1, rmac1, "10.0.1.11", "10.0.1.1"))
	wantVerdict(t, r, Consumed, ReasonNone)
	wantGenerated(t, r, 0)
}

// A deleted downlink is unreachable; re-created, it works.
func TestRouterPortDeletedAndRecreated(t *testing.T) {
	n := l3net(t)
	n.routes = nil // no default route
	snap := n.snapshot()
	gone := snap.Apply(topology.Delete(topology.KindPort, pid("r-p2")))
	var r Result
	e := New(Config{})
	in := &Input{Snapshot: gone, State: n.state(), InPort: pid("vm1"), Frame: fromVM1(t, "10.0.2.12")}
	if err := e.Simulate(in, &r); err != nil {
		t.Fatal(err)
	}
	wantVerdict(t, &r, ShortDrop, ReasonNoRoute)
	wantGenerated(t, &r, 1)
	back := gone.Apply(topology.Put(n.port("r-p2")))
	in.Snapshot = back
	if err := e.Simulate(in, &r); err != nil {
		t.Fatal(err)
	}
	wantVerdict(t, &r, Forward, ReasonNone)
	wantOut(t, &r, "vm2")
}

// Two routers on a bridge; a connected route resolves the destination router
// through the bridge's router-IP map, a gateway route reaches the gateway
// router.
func TestRouterPeersOnBridge(t *testing.T) {
	n := newNet(t)
	n.bridge("lan")
	for i, name := range []string{"r1", "r2", "r3"} {
		n.router(name)
		m := topology.MAC{0x02, 0xbb, 0, 0, 0, byte(i + 1)}
		p := n.rport(name, name+"-lan", "1.1.1."+string(rune('1'+i))+"/24", m.String())
		n.link(p, n.bport("lan", "lan-"+name))
	}
	n.vm("lan", "host")
	// r1 also has a downlink where the packets come from.
	n.bind(n.rport("r1", "r1-in", "10.0.0.1/24", rmac1))
	n.route("r1", "via-r2", "5.5.5.0/24", "r1-lan", "1.1.1.2")
	n.route("r3", "back", "10.0.0.0/24", "r3-lan", "1.1.1.1")

	// To 1.1.1.3 (connected): reaches r3, which answers the ping.
	r := n.sim("r1-in", echo(t, mac1, rmac1, "10.0.0.5", "1.1.1.3"))
	wantVerdict(t, r, Consumed, ReasonNone)
	wantTags(t, r, TagPortRx(pid("r3-lan")))
	wantNoTag(t, r, TagARPEntry(rid("r1"), ip("1.1.1.3")))
	wantGenerated(t, r, 1)
	if r.Generated[0].Port != pid("r3-lan") {
		t.Errorf("reply from %v", r.Generated[0].Port)
	}

	// To 5.5.5.5 via gateway 1.1.1.2: reaches r2, which has no route.
	r = n.sim("r1-in", echo(t, mac1, rmac1, "10.0.0.5", "5.5.5.5"))
	wantVerdict(t, r, ShortDrop, ReasonNoRoute)
	wantGenerated(t, r, 1)
	wantICMP(t, r.Generated[0], "r2-lan", packet.ICMPDestUnreach, packet.CodeNetUnreach, "1.1.1.2", "10.0.0.5")
	if !strings.Contains(r.Trace.String(), "ingress port r2-lan") {
		t.Errorf("packet did not reach r2:\n%s", r.Trace)
	}
}

// An ARP entry mapping the next hop to the out-port's own MAC makes the
// packet hairpin into that port; it never enters a bridge, and the loop guard
// ends it.
func TestRouterHairpin(t *testing.T) {
	n := l3net(t)
	n.state().SetARP(rid("rtr"), ip("192.168.0.1"), mac(rmacUp))
	r := n.sim("vm1", fromVM1(t, "45.44.33.22"))
	if r.Verdict != ErrorDrop || (r.Reason != ReasonLoop && r.Reason != ReasonTTL) {
		t.Fatalf("verdict %v (%v)", r.Verdict, r.Reason)
	}
	s := r.Trace.String()
	if !strings.Contains(s, "hairpin port r-up") {
		t.Errorf("no hairpin in trace:\n%s", s)
	}
	if strings.Contains(s, "ingress port br2-r") || len(r.Outputs) != 0 {
		t.Errorf("hairpinned packet left the router:\n%s", s)
	}
}

// In/out port group conditions see the real ports; the nw-dst-rewritten
// condition matches only DNATed packets.
func TestRouterPortGroupsAndRewritten(t *testing.T) {
	n := l3net(t)
	g := &topology.PortGroup{ID: id(topology.KindPortGroup, "uplinks"), Name: "uplinks"}
	n.groups = append(n.groups, g)
	n.port("r-up").PortGroups = []topology.ID{g.ID}
	n.chain("post", topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionDrop,
		Condition: topology.Condition{OutPortGroup: topology.Is(g.ID)}})
	n.routers[0].OutboundFilter = cid("post")
	r := n.sim("vm1", fromVM1(t, "45.44.33.22"))
	wantVerdict(t, r, Drop, ReasonFilter)
	r = n.sim("vm1", fromVM1(t, "10.0.2.12"))
	wantVerdict(t, r, Forward, ReasonNone)

	n.chains[0].Rules[0].Condition = topology.Condition{InPortGroup: topology.Is(g.ID)}
	n.dirty()
	r = n.sim("vm1", fromVM1(t, "45.44.33.22"))
	wantVerdict(t, r, Forward, ReasonNone)
	r = n.sim("r-up", udp(t, gwMAC, rmacUp, "8.8.8.8", "10.0.2.12"))
	wantVerdict(t, r, Drop, ReasonFilter)

	// nw-dst-rewritten, with a static DNAT in the inbound chain.
	n = l3net(t)
	n.stf = &fakeNAT{}
	n.chain("pre", topology.Rule{Type: topology.RuleNAT, Action: topology.ActionAccept,
		Condition: topology.Condition{NwDst: topology.Is(prefix("200.0.0.5/32"))},
		NAT:       topology.NATSpec{DNAT: true, Targets: []topology.NATTarget{{AddrStart: ip("10.0.2.12"), AddrEnd: ip("10.0.2.12")}}}})
	n.chain("post", topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionDrop,
		Condition: topology.Condition{NwDstRewritten: topology.Is(true)}})
	n.routers[0].InboundFilter = cid("pre")
	n.routers[0].OutboundFilter = cid("post")
	r = n.sim("r-up", udp(t, gwMAC, rmacUp, "8.8.8.8", "200.0.0.5"))
	wantVerdict(t, r, Drop, ReasonFilter)
	r = n.sim("r-up", udp(t, gwMAC, rmacUp, "8.8.8.8", "10.0.2.12"))
	wantVerdict(t, r, Forward, ReasonNone)
	n.chains[1].Rules[0].Action = topology.ActionAccept
	n.dirty()
	r = n.sim("r-up", udp(t, gwMAC, rmacUp, "8.8.8.8", "200.0.0.5"))
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "vm2")
	if v := r.Outputs[0].Match.Peek(); v.IPDst() != ip("10.0.2.12") || !changed(r, 0).Has(packet.FieldIPDst) {
		t.Errorf("DNAT not applied: %s", describe(v))
	}
}

// A router-generated echo reply goes through the outbound filter on a
// throw-away context, so a floating-IP SNAT rewrites its source.
func TestRouterEchoReplyFloatingIP(t *testing.T) {
	n := l3net(t)
	n.stf = &fakeNAT{}
	n.chain("pre", topology.Rule{Type: topology.RuleNAT, Action: topology.ActionAccept,
		Condition: topology.Condition{NwDst: topology.Is(prefix("200.0.0.5/32"))},
		NAT:       topology.NATSpec{DNAT: true, Targets: []topology.NATTarget{{AddrStart: ip("10.0.2.1"), AddrEnd: ip("10.0.2.1")}}}})
	n.chain("post", topology.Rule{Type: topology.RuleNAT, Action: topology.ActionAccept,
		Condition: topology.Condition{NwSrc: topology.Is(prefix("10.0.2.1/32"))},
		NAT:       topology.NATSpec{Targets: []topology.NATTarget{{AddrStart: ip("200.0.0.5"), AddrEnd: ip("200.0.0.5")}}}})
	n.routers[0].InboundFilter = cid("pre")
	n.routers[0].OutboundFilter = cid("post")
	r := n.sim("r-up", echo(t, gwMAC, rmacUp, "8.8.8.8", "200.0.0.5"))
	wantVerdict(t, r, Consumed, ReasonNone)
	wantGenerated(t, r, 1)
	v := parse(t, r.Generated[0].Frame)
	if v.IPSrc() != ip("200.0.0.5") || v.IPDst() != ip("8.8.8.8") || v.EthDst() != mac(gwMAC) {
		t.Errorf("reply %s", describe(v))
	}
	checkIPv4Checksums(t, r.Generated[0].Frame)
	if n.stf.(*fakeNAT).throwAway != 1 {
		t.Errorf("SNAT saw %d throw-away evaluations, want 1", n.stf.(*fakeNAT).throwAway)
	}
}

// Two routers routing to each other loop until the device limit.
func TestRouterLoop(t *testing.T) {
	n := newNet(t)
	n.router("a")
	n.router("b")
	n.link(n.rport("a", "a-b", "10.255.0.1/30", "02:cc:00:00:00:01"), n.rport("b", "b-a", "10.255.0.2/30", "02:cc:00:00:00:02"))
	n.bind(n.rport("a", "a-in", "10.0.0.1/24", rmac1))
	n.route("a", "a-def", "0.0.0.0/0", "a-b", "10.255.0.2")
	n.route("b", "b-def", "0.0.0.0/0", "b-a", "10.255.0.1")
	f := build(t, fr{src: mac1, dst: rmac1, ipSrc: "10.0.0.5", ipDst: "8.8.8.8", ttl: 255, sport: 1, dport: 2})
	r := n.sim("a-in", f)
	wantVerdict(t, r, ErrorDrop, ReasonLoop)
	if r.Devices != DefaultMaxDevices {
		t.Errorf("devices %d, want %d", r.Devices, DefaultMaxDevices)
	}
	n.cfg.MaxDevices = 5
	r = n.sim("a-in", f)
	if r.Devices != 5 || r.Reason != ReasonLoop {
		t.Errorf("devices %d reason %v", r.Devices, r.Reason)
	}
}

// An interior next hop that is a router port, or seeded in the bridge's
// IPv4-MAC table, needs no ARP.
func TestRouterInteriorNextHop(t *testing.T) {
	n := newNet(t)
	n.router("a")
	n.router("b")
	n.link(n.rport("a", "a-b", "10.255.0.1/30", "02:cc:00:00:00:01"), n.rport("b", "b-a", "10.255.0.2/30", "02:cc:00:00:00:02"))
	n.bind(n.rport("a", "a-in", "10.0.0.1/24", rmac1))
	n.bind(n.rport("b", "b-out", "10.9.0.1/24", "02:cc:00:00:00:09"))
	n.route("a", "to-b", "10.9.0.0/16", "a-b", "10.255.0.2")
	n.state().SetARP(rid("b"), ip("10.9.0.7"), mac(mac4))
	r := n.sim("a-in", build(t, fr{src: mac1, dst: rmac1, ipSrc: "10.0.0.5", ipDst: "10.9.0.7", sport: 1, dport: 2}))
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "b-out")
	wantNoTag(t, r, TagARPEntry(rid("a"), ip("10.255.0.2")))
	if v := r.Outputs[0].Match.Peek(); v.IPTTL() != 62 || v.EthDst() != mac(mac4) {
		t.Errorf("output %s", describe(v))
	}

	// Through a bridge whose IPv4-MAC table knows the next hop.
	n2 := l3net(t)
	n2.state().DeleteARP(rid("rtr"), ip("10.0.2.12"))
	n2.state().SetIP4MAC(bid("br2"), ip("10.0.2.12"), mac(mac2))
	r = n2.sim("vm1", fromVM1(t, "10.0.2.12"))
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "vm2")
	wantNoTag(t, r, TagARPEntry(rid("rtr"), ip("10.0.2.12")))
}

// Admin-down routers and router ports drop and answer 3/13 from the port the
// packet entered.
func TestRouterAdminDown(t *testing.T) {
	cases := []struct {
		name     string
		down     func(n *tnet)
		in       string
		frame    func(t testing.TB) []byte
		icmpPort string
		icmpSrc  string
		icmpDst  string
	}{
		{"router", func(n *tnet) { n.routers[0].AdminDown = true }, "vm1",
			func(t testing.TB) []byte { return fromVM1(t, "10.0.2.12") }, "r-p1", "10.0.1.1", "10.0.1.11"},
		{"interior in-port", func(n *tnet) { n.port("r-p1").AdminDown = true }, "vm1",
			func(t testing.TB) []byte { return fromVM1(t, "10.0.2.12") }, "r-p1", "10.0.1.1", "10.0.1.11"},
		{"exterior in-port", func(n *tnet) { n.port("r-up").AdminDown = true }, "r-up",
			func(t testing.TB) []byte { return udp(t, gwMAC, rmacUp, "8.8.8.8", "10.0.2.12") }, "r-up", "192.168.0.2", "8.8.8.8"},
		{"out-port (routes withdrawn)", func(n *tnet) { n.port("r-p2").AdminDown = true }, "vm1",
			func(t testing.TB) []byte { return fromVM1(t, "10.0.2.12") }, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := l3net(t)
			n.routes = nil
			tc.down(n)
			n.dirty()
			r := n.sim(tc.in, tc.frame(t))
			if tc.icmpPort == "" {
				// A down port does not publish its routes: no route.
				wantVerdict(t, r, ShortDrop, ReasonNoRoute)
				return
			}
			if r.Verdict != Drop || (r.Reason != ReasonPortDown && r.Reason != ReasonDeviceDown) {
				t.Fatalf("verdict %v (%v)\n%s", r.Verdict, r.Reason, r.Trace)
			}
			wantGenerated(t, r, 1)
			wantICMP(t, r.Generated[0], tc.icmpPort, packet.ICMPDestUnreach, packet.CodeAdminProhibited, tc.icmpSrc, tc.icmpDst)
		})
	}
}

// An inbound drop of a first fragment answers "fragmentation needed"; later
// fragments are dropped silently; a bridge drop never answers.
func TestRouterFragments(t *testing.T) {
	n := l3net(t)
	n.chain("pre", topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionDrop,
		Condition: topology.Condition{FragmentPolicy: topology.FragmentAny, NwDst: topology.Is(prefix("10.0.2.0/24"))}})
	n.routers[0].InboundFilter = cid("pre")
	first := build(t, fr{src: mac1, dst: rmac1, ipSrc: "10.0.1.11", ipDst: "10.0.2.12", frag: packet.FragFirst, sport: 1, dport: 2})
	r := n.sim("vm1", first)
	wantVerdict(t, r, ErrorDrop, ReasonFragment)
	wantGenerated(t, r, 1)
	g := wantICMP(t, r.Generated[0], "r-p1", packet.ICMPDestUnreach, packet.CodeFragNeeded, "10.0.1.1", "10.0.1.11")
	l := g.Layout()
	if mtu := uint16(r.Generated[0].Frame[l.L4+6])<<8 | uint16(r.Generated[0].Frame[l.L4+7]); mtu != DefaultFragNeededMTU {
		t.Errorf("MTU %d", mtu)
	}
	later := build(t, fr{src: mac1, dst: rmac1, ipSrc: "10.0.1.11", ipDst: "10.0.2.12", frag: packet.FragLater})
	r = n.sim("vm1", later)
	wantVerdict(t, r, Drop, ReasonFilter)
	wantGenerated(t, r, 0)
	whole := fromVM1(t, "10.0.2.12")
	r = n.sim("vm1", whole)
	wantVerdict(t, r, Drop, ReasonFilter)
	wantGenerated(t, r, 0)

	// On a bridge: no ICMP.
	b := l2net(t)
	b.chain("drop", topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionDrop,
		Condition: topology.Condition{FragmentPolicy: topology.FragmentAny}})
	b.bridges[0].InboundFilter = cid("drop")
	r = b.sim("vm1", build(t, fr{src: mac1, dst: mac2, ipSrc: "10.0.0.1", ipDst: "10.0.0.2", frag: packet.FragFirst, sport: 1, dport: 2}))
	wantVerdict(t, r, Drop, ReasonFilter)
	wantGenerated(t, r, 0)
}

// ARP addressed to a router port: requests for its address are answered
// and learned, gratuitous ARPs and replies are learned, the rest ignored.
func TestRouterARP(t *testing.T) {
	n := l3net(t)
	r := n.sim("r-up", arpReq(t, gwMAC, "192.168.0.1", "192.168.0.2"))
	wantVerdict(t, r, Consumed, ReasonNone)
	if len(r.ARPWrites) != 1 || r.ARPWrites[0] != (ARPWrite{Router: rid("rtr"), IP: ip("192.168.0.1"), MAC: mac(gwMAC)}) {
		t.Errorf("writes %+v", r.ARPWrites)
	}
	wantGenerated(t, r, 1)
	v := parse(t, r.Generated[0].Frame)
	if r.Generated[0].Port != pid("r-up") || v.ARPOp() != packet.ARPReply || v.ARPSHA() != mac(rmacUp) ||
		v.ARPSPA() != ip("192.168.0.2") || v.ARPTPA() != ip("192.168.0.1") || v.EthDst() != mac(gwMAC) {
		t.Errorf("reply %s", describe(v))
	}
	// Gratuitous request.
	r = n.sim("r-up", arpReq(t, gwMAC, "192.168.0.7", "192.168.0.7"))
	if len(r.ARPWrites) != 1 || r.ARPWrites[0].IP != ip("192.168.0.7") {
		t.Errorf("gratuitous writes %+v", r.ARPWrites)
	}
	wantGenerated(t, r, 0)
	// Request from outside the port's subnet: ignored.
	r = n.sim("r-up", arpReq(t, gwMAC, "10.1.1.1", "192.168.0.2"))
	wantVerdict(t, r, Consumed, ReasonNone)
	if len(r.ARPWrites) != 0 || len(r.Generated) != 0 {
		t.Errorf("foreign request answered")
	}
	// Request for another address: not answered.
	r = n.sim("r-up", arpReq(t, gwMAC, "192.168.0.1", "192.168.0.99"))
	if len(r.ARPWrites) != 0 || len(r.Generated) != 0 {
		t.Errorf("request for another address answered")
	}
	// Reply addressed to the port.
	rep, err := packet.AppendARPReply(nil, packet.VLAN{}, mac(mac4), ip("192.168.0.44"), mac(rmacUp), ip("192.168.0.2"))
	if err != nil {
		t.Fatal(err)
	}
	r = n.sim("r-up", rep)
	wantVerdict(t, r, Consumed, ReasonNone)
	if len(r.ARPWrites) != 1 || r.ARPWrites[0].MAC != mac(mac4) {
		t.Errorf("reply writes %+v", r.ARPWrites)
	}
	// ARP request for the router arriving through a bridge.
	r = n.sim("vm1", arpReq(t, mac1, "10.0.1.11", "10.0.1.1"))
	wantVerdict(t, r, Consumed, ReasonNone)
	wantGenerated(t, r, 1)
}

// A down router port reached at egress (its routes not withdrawn yet) drops
// and answers 3/13 from the router's ingress port. Routing never picks a down
// port, so this drives the egress directly.
func TestRouterPortDownAtEgress(t *testing.T) {
	n := l3net(t)
	n.port("r-p2").AdminDown = true
	snap := n.snapshot()
	e := New(Config{})
	var r Result
	frame := fromVM1(t, "10.0.2.12")
	in := &Input{Snapshot: snap, State: n.state(), InPort: pid("r-p1"), Frame: frame}
	e.idx.use(snap)
	p1, p2 := pid("r-p1"), pid("r-p2")
	rp1, _ := e.idx.port(&p1)
	rp2, _ := e.idx.port(&p2)
	e.begin(in, &r, rp1)
	if err := e.orig.Parse(frame); err != nil {
		t.Fatal(err)
	}
	e.m, e.pre = *e.orig, *e.orig
	e.curIn = rp1
	v := e.egress(rp2)
	e.finish(v)
	wantVerdict(t, &r, Drop, ReasonPortDown)
	wantGenerated(t, &r, 1)
	wantICMP(t, r.Generated[0], "r-p1", packet.ICMPDestUnreach, packet.CodeAdminProhibited, "10.0.1.1", "10.0.1.11")
	wantTags(t, &r, TagDevice(pid("r-p2")))
}

// The engine's route cache never returns a route through a port that
// stopped publishing, and follows snapshot changes.
func TestRouteCacheFollowsState(t *testing.T) {
	n := l3net(t)
	up2 := n.bind(n.rport("rtr", "r-up2", "192.168.1.2/24", "02:aa:00:00:00:fe"))
	n.route("rtr", "specific", "45.44.0.0/16", "r-up2", "192.168.1.1")
	n.state().SetARP(rid("rtr"), ip("192.168.1.1"), mac(mac4))
	e := New(Config{})
	var r Result
	in := &Input{Snapshot: n.snapshot(), State: n.state(), InPort: pid("vm1"), Frame: fromVM1(t, "45.44.33.22")}
	sim := func() {
		t.Helper()
		if err := e.Simulate(in, &r); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		sim()
		wantOut(t, &r, "r-up2")
	}
	n.state().SetActive(up2.ID, false)
	for range 2 {
		sim()
		wantOut(t, &r, "r-up")
	}
	n.state().SetActive(up2.ID, true)
	sim()
	wantOut(t, &r, "r-up2")
	// A new snapshot without the specific route.
	in.Snapshot = in.Snapshot.Apply(topology.Delete(topology.KindRoute, id(topology.KindRoute, "specific")))
	sim()
	wantOut(t, &r, "r-up")
	// A more specific route through a port that does not exist is never
	// used, from the table or from the cache: the rebuilt snapshot has
	// "specific" again, the next best.
	n.route("rtr", "ghost", "45.44.33.0/24", "no-such-port", "192.168.9.1")
	in.Snapshot = n.snapshot()
	for range 2 {
		sim()
		wantOut(t, &r, "r-up2")
	}
	// The cached next-hop port follows the port: administratively down,
	// it stops publishing the route.
	up2.AdminDown = true
	in.Snapshot = n.dirty().snapshot()
	for range 2 {
		sim()
		wantOut(t, &r, "r-up")
	}
}
