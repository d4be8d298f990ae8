package simulation

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// condNet is l2net with mac2 learned on vm2, vm1 in port group "g" and an
// IP address group "ips" holding 10.0.0.1.
func condNet(t testing.TB) *tnet {
	n := l2net(t)
	n.state().LearnMAC(bid("br"), 0, mac(mac2), pid("vm2"))
	g := &topology.PortGroup{ID: id(topology.KindPortGroup, "g"), Name: "g"}
	n.groups = append(n.groups, g)
	n.port("vm1").PortGroups = []topology.ID{g.ID}
	n.ipgs = append(n.ipgs, &topology.IPAddrGroup{ID: id(topology.KindIPAddrGroup, "ips"), Name: "ips", Addrs: []netip.Addr{ip("10.0.0.1")}})
	return n
}

var (
	fUDP     = fr{src: mac1, dst: mac2, ipSrc: "10.0.0.1", ipDst: "10.0.0.2", sport: 5000, dport: 53}
	fTCP     = fr{src: mac1, dst: mac2, ipSrc: "10.0.0.1", ipDst: "10.0.0.2", proto: packet.ProtoTCP, sport: 40000, dport: 443}
	fEcho    = fr{src: mac1, dst: mac2, ipSrc: "10.0.0.1", ipDst: "10.0.0.2", proto: packet.ProtoICMP, icmpType: packet.ICMPEchoRequest, icmpID: 9}
	fTagged  = fr{src: mac1, dst: mac2, vlans: []uint16{7}, ipSrc: "10.0.0.1", ipDst: "10.0.0.2", sport: 5000, dport: 53}
	fARP     = fr{src: mac1, dst: mac2, et: packet.EtherTypeARP, arpOp: packet.ARPRequest, sha: mac1, spa: "10.0.0.1", tpa: "10.0.0.2"}
	fFirst   = fr{src: mac1, dst: mac2, ipSrc: "10.0.0.1", ipDst: "10.0.0.2", frag: packet.FragFirst, sport: 5000, dport: 53}
	fLater   = fr{src: mac1, dst: mac2, ipSrc: "10.0.0.1", ipDst: "10.0.0.2", frag: packet.FragLater}
	fICMPErr = fr{src: mac1, dst: mac2, ipSrc: "10.0.0.1", ipDst: "10.0.0.2", proto: packet.ProtoICMP, icmpType: packet.ICMPDestUnreach, icmpCode: 1,
		inner: packet.Inner{Src: ip("10.0.0.2"), Dst: ip("10.0.0.9"), Proto: packet.ProtoUDP, SrcPort: 53, DstPort: 5000}}
	baseSeen  = packet.FieldsOf(packet.FieldInPort, packet.FieldEthSrc, packet.FieldEthDst)
	l3        = packet.FieldsOf(packet.FieldEtherType)
	withProto = packet.FieldsOf(packet.FieldEtherType, packet.FieldIPProto)
)

// Every sub-condition, with and without its invert flag, matches exactly
// when it should and examines exactly the fields it needs.
func TestConditions(t *testing.T) {
	gid := id(topology.KindPortGroup, "g")
	ipg := id(topology.KindIPAddrGroup, "ips")
	cases := []struct {
		name  string
		c     topology.Condition
		f     fr
		match bool
		seen  packet.FieldSet // beyond baseSeen
	}{
		{"empty", topology.Condition{}, fUDP, true, 0},
		{"ethertype", topology.Condition{EtherType: topology.Is(packet.EtherTypeIPv4)}, fUDP, true, l3},
		{"ethertype inverted", topology.Condition{EtherType: topology.Not(packet.EtherTypeIPv4)}, fUDP, false, l3},
		{"eth src", topology.Condition{EthSrc: topology.Is(topology.MACMatch{MAC: mac(mac1)})}, fUDP, true, packet.FieldsOf(packet.FieldEthSrc)},
		{"eth src masked", topology.Condition{EthSrc: topology.Is(topology.MACMatch{MAC: mac("02:00:00:ff:ff:ff"), Mask: mac("ff:ff:ff:00:00:00")})}, fUDP, true, packet.FieldsOf(packet.FieldEthSrc)},
		{"eth src other", topology.Condition{EthSrc: topology.Is(topology.MACMatch{MAC: mac(mac3)})}, fUDP, false, 0},
		{"eth dst inverted", topology.Condition{EthDst: topology.Not(topology.MACMatch{MAC: mac(mac3)})}, fUDP, true, packet.FieldsOf(packet.FieldEthDst)},
		{"no vlan", topology.Condition{NoVLAN: topology.Is(true)}, fUDP, true, packet.FieldsOf(packet.FieldVLAN)},
		{"no vlan on tagged", topology.Condition{NoVLAN: topology.Is(true)}, fTagged, false, packet.FieldsOf(packet.FieldVLAN)},
		{"vlan", topology.Condition{VLAN: topology.Is(uint16(7))}, fTagged, true, packet.FieldsOf(packet.FieldVLAN)},
		{"vlan inverted", topology.Condition{VLAN: topology.Not(uint16(7))}, fUDP, true, packet.FieldsOf(packet.FieldVLAN)},
		{"nw proto", topology.Condition{NwProto: topology.Is(packet.ProtoUDP)}, fUDP, true, withProto},
		{"nw proto other", topology.Condition{NwProto: topology.Is(packet.ProtoTCP)}, fUDP, false, withProto},
		{"nw proto of ARP is the op", topology.Condition{NwProto: topology.Is(uint8(packet.ARPRequest))}, fARP, true, packet.FieldsOf(packet.FieldEtherType, packet.FieldARPOp)},
		{"nw tos", topology.Condition{NwTOS: topology.Is(uint8(0))}, fUDP, true, packet.FieldsOf(packet.FieldEtherType, packet.FieldIPTOS)},
		{"nw src", topology.Condition{NwSrc: topology.Is(prefix("10.0.0.0/24"))}, fUDP, true, packet.FieldsOf(packet.FieldEtherType, packet.FieldIPSrc)},
		{"nw src outside", topology.Condition{NwSrc: topology.Is(prefix("10.9.0.0/16"))}, fUDP, false, packet.FieldsOf(packet.FieldEtherType, packet.FieldIPSrc)},
		{"nw src inverted", topology.Condition{NwSrc: topology.Not(prefix("10.9.0.0/16"))}, fUDP, true, packet.FieldsOf(packet.FieldEtherType, packet.FieldIPSrc)},
		{"nw src /0", topology.Condition{NwSrc: topology.Is(prefix("0.0.0.0/0"))}, fUDP, true, packet.FieldsOf(packet.FieldEtherType, packet.FieldIPSrc)},
		{"nw dst", topology.Condition{NwDst: topology.Is(prefix("10.0.0.2/32"))}, fUDP, true, packet.FieldsOf(packet.FieldEtherType, packet.FieldIPDst)},
		{"nw dst of ARP is the target", topology.Condition{NwDst: topology.Is(prefix("10.0.0.2/32"))}, fARP, true, packet.FieldsOf(packet.FieldEtherType, packet.FieldARPTPA)},
		{"nw src of non-IP", topology.Condition{NwSrc: topology.Is(prefix("0.0.0.0/0"))}, fr{src: mac1, dst: mac2, et: 0x88b6}, false, l3},
		{"tp src", topology.Condition{TpSrc: topology.Is(topology.PortRange{Start: 4000, End: 6000})}, fUDP, true,
			packet.FieldsOf(packet.FieldEtherType, packet.FieldIPFrag, packet.FieldIPProto, packet.FieldSrcPort)},
		{"tp dst", topology.Condition{TpDst: topology.Is(topology.PortRange{Start: 443, End: 443})}, fTCP, true,
			packet.FieldsOf(packet.FieldEtherType, packet.FieldIPFrag, packet.FieldIPProto, packet.FieldDstPort)},
		{"tp dst inverted", topology.Condition{TpDst: topology.Not(topology.PortRange{Start: 443, End: 443})}, fTCP, false,
			packet.FieldsOf(packet.FieldEtherType, packet.FieldIPFrag, packet.FieldIPProto, packet.FieldDstPort)},
		{"icmp type in tp src", topology.Condition{TpSrc: topology.Is(topology.PortRange{Start: 8, End: 8})}, fEcho, true,
			packet.FieldsOf(packet.FieldEtherType, packet.FieldIPFrag, packet.FieldIPProto, packet.FieldICMPType)},
		{"icmp code in tp dst", topology.Condition{TpDst: topology.Is(topology.PortRange{Start: 0, End: 0})}, fEcho, true,
			packet.FieldsOf(packet.FieldEtherType, packet.FieldIPFrag, packet.FieldIPProto, packet.FieldICMPCode)},
		{"in ports", topology.Condition{InPorts: topology.Is([]topology.ID{pid("vm1"), pid("vm3")})}, fUDP, true, 0},
		{"in ports other", topology.Condition{InPorts: topology.Is([]topology.ID{pid("vm3")})}, fUDP, false, 0},
		{"in ports empty", topology.Condition{InPorts: topology.Is([]topology.ID(nil))}, fUDP, true, 0},
		{"out ports unset at ingress", topology.Condition{OutPorts: topology.Is([]topology.ID{pid("vm2")})}, fUDP, false, 0},
		{"port group", topology.Condition{PortGroup: topology.Is(gid)}, fUDP, true, 0},
		{"in port group", topology.Condition{InPortGroup: topology.Is(gid)}, fUDP, true, 0},
		{"out port group", topology.Condition{OutPortGroup: topology.Is(gid)}, fUDP, false, 0},
		{"ip group src", topology.Condition{IPAddrGroupSrc: topology.Is(ipg)}, fUDP, true, packet.FieldsOf(packet.FieldEtherType, packet.FieldIPSrc)},
		{"ip group dst", topology.Condition{IPAddrGroupDst: topology.Is(ipg)}, fUDP, false, packet.FieldsOf(packet.FieldEtherType, packet.FieldIPDst)},
		{"traversed (not yet)", topology.Condition{TraversedDevice: topology.Is(bid("br"))}, fUDP, false, 0},
		{"traversed port", topology.Condition{TraversedDevice: topology.Is(pid("vm1"))}, fUDP, true, 0},
		{"nw dst not rewritten", topology.Condition{NwDstRewritten: topology.Is(false)}, fUDP, true, 0},
		{"forward flow", topology.Condition{MatchForwardFlow: true}, fUDP, true, 0},
		{"return flow", topology.Condition{MatchReturnFlow: true}, fUDP, false, 0},
		{"icmp data src", topology.Condition{ICMPDataSrc: topology.Is(prefix("10.0.0.2/32"))}, fICMPErr, true,
			packet.FieldsOf(packet.FieldEtherType, packet.FieldIPProto, packet.FieldICMPType, packet.FieldICMPData)},
		{"conjunction", topology.Condition{NwProto: topology.Is(packet.ProtoUDP), NwDst: topology.Is(prefix("10.0.0.2/32"))}, fUDP, true,
			packet.FieldsOf(packet.FieldEtherType, packet.FieldIPProto, packet.FieldIPDst)},
		{"conjunction stops at first failure", topology.Condition{NwProto: topology.Is(packet.ProtoTCP), NwDst: topology.Is(prefix("10.0.0.2/32"))}, fUDP, false,
			withProto},
		{"conjunction inverted", topology.Condition{NwProto: topology.Is(packet.ProtoUDP), ConjunctionInvert: true}, fUDP, false, withProto},
		{"conjunction inverted on other", topology.Condition{NwProto: topology.Is(packet.ProtoUDP), ConjunctionInvert: true}, fTCP, true, withProto},
		{"fragment check is not inverted", topology.Condition{FragmentPolicy: topology.FragmentUnfragmented, ConjunctionInvert: true}, fLater, false,
			packet.FieldsOf(packet.FieldEtherType, packet.FieldIPFrag)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := condNet(t)
			n.chain("c", topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionDrop, Condition: tc.c})
			n.port("vm1").InboundFilter = cid("c")
			r := n.sim("vm1", build(t, tc.f))
			if matched := r.Verdict == Drop; matched != tc.match {
				t.Fatalf("matched = %v, want %v (%v %v)\n%s", matched, tc.match, r.Verdict, r.Reason, r.Trace)
			}
			// A matching rule drops at the port, before the bridge looks
			// at the MACs.
			want := tc.seen | packet.FieldsOf(packet.FieldInPort)
			if !tc.match {
				want |= baseSeen
			}
			if r.Seen != want {
				t.Errorf("seen %v, want %v", r.Seen, want)
			}
		})
	}
}

// Conditions on the egress side: out-ports, out-port groups and the
// traversed-device test after the bridge.
func TestConditionsAtEgress(t *testing.T) {
	gid := id(topology.KindPortGroup, "g")
	for _, tc := range []struct {
		name  string
		c     topology.Condition
		match bool
	}{
		{"out ports", topology.Condition{OutPorts: topology.Is([]topology.ID{pid("vm2")})}, true},
		{"in ports", topology.Condition{InPorts: topology.Is([]topology.ID{pid("vm1")})}, true},
		{"out port group", topology.Condition{OutPortGroup: topology.Is(gid)}, true},
		{"in port group", topology.Condition{InPortGroup: topology.Not(gid)}, false},
		{"traversed bridge", topology.Condition{TraversedDevice: topology.Is(bid("br"))}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := condNet(t)
			n.port("vm2").PortGroups = []topology.ID{gid}
			n.chain("c", topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionDrop, Condition: tc.c})
			n.port("vm2").OutboundFilter = cid("c")
			r := n.sim("vm1", build(t, fUDP))
			if matched := r.Verdict == Drop; matched != tc.match {
				t.Fatalf("matched = %v, want %v\n%s", matched, tc.match, r.Trace)
			}
		})
	}
}

// Each fragment policy accepts exactly its fragment kinds; the default is
// "header" with L4 fields, "any" without.
func TestFragmentPolicies(t *testing.T) {
	frames := map[string]fr{"none": fUDP, "first": fFirst, "later": fLater}
	tp := topology.Is(topology.PortRange{Start: 0, End: 65535})
	for _, tc := range []struct {
		name string
		c    topology.Condition
		want map[string]bool
	}{
		{"any", topology.Condition{FragmentPolicy: topology.FragmentAny}, map[string]bool{"none": true, "first": true, "later": true}},
		{"header", topology.Condition{FragmentPolicy: topology.FragmentHeader}, map[string]bool{"none": true, "first": true}},
		{"nonheader", topology.Condition{FragmentPolicy: topology.FragmentNonHeader}, map[string]bool{"later": true}},
		{"unfragmented", topology.Condition{FragmentPolicy: topology.FragmentUnfragmented}, map[string]bool{"none": true}},
		{"default without L4", topology.Condition{}, map[string]bool{"none": true, "first": true, "later": true}},
		{"default with L4", topology.Condition{TpDst: tp}, map[string]bool{"none": true, "first": true}},
	} {
		for kind, f := range frames {
			n := condNet(t)
			n.chain("c", topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionDrop, Condition: tc.c})
			n.port("vm1").InboundFilter = cid("c")
			r := n.sim("vm1", build(t, f))
			if matched := r.Verdict == Drop; matched != tc.want[kind] {
				t.Errorf("%s on %s fragment: matched %v, want %v", tc.name, kind, matched, tc.want[kind])
			}
		}
	}
	// Dynamic NAT rules only ever match unfragmented packets.
	nat := topology.Rule{Type: topology.RuleNAT, NAT: topology.NATSpec{Targets: []topology.NATTarget{{PortStart: 1, PortEnd: 2}}}}
	if k := compileCond(&nat.Condition, nat.NATKind()); k.frags != 1<<topology.FragmentNone {
		t.Errorf("dynamic NAT accepts fragments %b", k.frags)
	}
}

// firstMatch's shortcut for a lone IPv4 prefix finds the rule the general
// loop finds and marks the fields it marks: chains of random lone-prefix
// rules (source or destination, /0 to /32, inverted or not, some with a
// fragment policy or an inverted conjunction), evaluated with and without
// the shortcut on IPv4, fragment, ARP and IPv6 packets.
func TestLonePrefixShortcut(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	addr := func() netip.Addr {
		return netip.AddrFrom4([4]byte{10, 0, byte(rng.IntN(2)), byte(rng.IntN(4))})
	}
	frames := [][]byte{
		build(t, fUDP), build(t, fTCP), build(t, fFirst), build(t, fLater), build(t, fARP), build(t, fTagged),
		build(t, fr{src: mac1, dst: mac2, ipSrc: "10.0.1.3", ipDst: "10.0.0.0", sport: 1, dport: 2}),
		build(t, fr{src: mac1, dst: mac2, et: packet.EtherTypeIPv6, ipSrc: "2001:db8::1", ipDst: "2001:db8::2", sport: 1, dport: 2}),
	}
	shortcuts := 0
	for round := range 300 {
		var rules []topology.Rule
		for range 1 + rng.IntN(6) {
			var c topology.Condition
			p := netip.PrefixFrom(addr(), rng.IntN(33)).Masked()
			if rng.IntN(2) == 0 {
				c.NwSrc = topology.Is(p)
				c.NwSrc.Invert = rng.IntN(4) == 0
			} else {
				c.NwDst = topology.Is(p)
				c.NwDst.Invert = rng.IntN(4) == 0
			}
			c.ConjunctionInvert = rng.IntN(8) == 0
			if rng.IntN(8) == 0 {
				c.FragmentPolicy = topology.FragmentHeader
			}
			rules = append(rules, topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionAccept, Condition: c})
		}
		ch := &topology.Chain{ID: id(topology.KindChain, "c"), Rules: rules}
		fast := chainInfo{chain: ch}
		for i := range rules {
			fast.conds = append(fast.conds, compileCond(&rules[i].Condition, rules[i].NATKind()))
			if fast.conds[i].one != 0 {
				shortcuts++
			}
		}
		slow := chainInfo{chain: ch, conds: slices.Clone(fast.conds)}
		for i := range slow.conds {
			slow.conds[i].one = 0
		}
		for fi, frame := range frames {
			e := New(Config{})
			var got [2]int
			var seen [2]packet.FieldSet
			for j, ci := range []*chainInfo{&fast, &slow} {
				if err := e.m.Parse(frame); err != nil {
					t.Fatal(err)
				}
				e.cur = &e.m
				e.loadFields()
				got[j] = 0
				for i := e.firstMatch(ci, 0); i < len(rules); i = e.firstMatch(ci, i+1) {
					got[j] = got[j]*8 + i + 1 // every matching rule, in order
				}
				seen[j] = e.m.Seen()
			}
			if got[0] != got[1] || seen[0] != seen[1] {
				t.Fatalf("round %d frame %d: shortcut matched %o seen %v; loop matched %o seen %v (rules %+v)",
					round, fi, got[0], seen[0], got[1], seen[1], rules)
			}
		}
	}
	if shortcuts < 300 {
		t.Fatalf("only %d rules took the shortcut", shortcuts)
	}
}
