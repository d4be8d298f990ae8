package simulation

import (
	"testing"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

const (
	mac1  = "02:00:00:00:00:01"
	mac2  = "02:00:00:00:00:02"
	mac3  = "02:00:00:00:00:03"
	mac4  = "02:00:00:00:00:04"
	bcast = "ff:ff:ff:ff:ff:ff"
)

// l2Fields is what a pure L2 decision may examine.
var l2Fields = packet.FieldsOf(packet.FieldInPort, packet.FieldEthSrc, packet.FieldEthDst)

// l2net is a bridge with three VM ports.
func l2net(t testing.TB) *tnet {
	n := newNet(t)
	n.bridge("br")
	n.vm("br", "vm1")
	n.vm("br", "vm2")
	n.vm("br", "vm3")
	return n
}

func wantL2Only(t testing.TB, r *Result) {
	t.Helper()
	if r.Seen&^l2Fields != 0 {
		t.Errorf("pure L2 decision examined %v", r.Seen)
	}
	if !r.Seen.Has(packet.FieldInPort) || !r.Seen.Has(packet.FieldEthDst) {
		t.Errorf("seen = %v, want in_port and eth_dst", r.Seen)
	}
}

// Unknown destination floods to every exterior port but the ingress one,
// learns the source, and carries the flood tags.
func TestBridgeFloodUnknown(t *testing.T) {
	n := l2net(t)
	r := n.sim("vm1", udp(t, mac1, mac4, "10.0.0.1", "10.0.0.4"))
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "vm2", "vm3")
	if len(r.Learned) != 1 || r.Learned[0] != (MACLearning{Bridge: bid("br"), VLAN: 0, MAC: mac(mac1), Port: pid("vm1")}) {
		t.Errorf("learned = %+v", r.Learned)
	}
	wantTags(t, r, TagDevice(bid("br")), TagBridgeMAC(bid("br"), mac(mac1), 0, pid("vm1")),
		TagFloodedTo(bid("br"), 0, mac(mac4)), TagBroadcast(bid("br")), TagPortRx(pid("vm1")),
		TagPortTx(pid("vm2")), TagPortTx(pid("vm3")))
	wantNoTag(t, r, TagPortTx(pid("vm1")))
	for i := range r.Outputs {
		if c := changed(r, i); c != 0 {
			t.Errorf("flood output %d rewrites %v", i, c)
		}
	}
	if r.Flow != FlowNormal {
		t.Errorf("flow = %v", r.Flow)
	}
	wantL2Only(t, r)
}

// A frame whose L3 payload is garbage is still bridged.
func TestBridgeGarbageL3(t *testing.T) {
	n := l2net(t)
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"ipv4 garbage", garbage(0x0800)},
		{"unknown ethertype", garbage(0x88b6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := n.sim("vm1", tc.frame)
			wantVerdict(t, r, Forward, ReasonNone)
			wantOut(t, r, "vm2", "vm3")
			wantL2Only(t, r)
		})
	}
}

func garbage(et uint16) []byte {
	b := []byte{0x02, 0, 0, 0, 0, 4, 0x02, 0, 0, 0, 0, 1, byte(et >> 8), byte(et)}
	return append(b, 0x45, 0xff, 0x01, 0x02, 0x03)
}

func dropUDP(name string) *topology.Rule {
	return &topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionDrop,
		Condition: topology.Condition{NwProto: topology.Is(packet.ProtoUDP)}}
}

// Bridge chains drop untagged UDP; VLAN-tagged frames skip them.
func TestBridgeChainsSkipTagged(t *testing.T) {
	for _, slot := range []string{"inbound", "outbound"} {
		t.Run(slot, func(t *testing.T) {
			n := l2net(t)
			n.chain("drop-udp", *dropUDP("r"))
			if slot == "inbound" {
				n.bridges[0].InboundFilter = cid("drop-udp")
			} else {
				n.bridges[0].OutboundFilter = cid("drop-udp")
			}
			r := n.sim("vm1", udp(t, mac1, mac4, "10.0.0.1", "10.0.0.4"))
			wantVerdict(t, r, Drop, ReasonFilter)
			if len(r.Learned) != 1 {
				t.Errorf("MAC not learned when the filter drops: %+v", r.Learned)
			}
			wantTags(t, r, TagDevice(cid("drop-udp")))
			for _, f := range []packet.Field{packet.FieldEtherType, packet.FieldIPProto, packet.FieldVLAN} {
				if !r.Seen.Has(f) {
					t.Errorf("seen %v lacks %v", r.Seen, f)
				}
			}
			tagged := build(t, fr{src: mac1, dst: mac4, vlans: []uint16{10}, ipSrc: "10.0.0.1", ipDst: "10.0.0.4", sport: 1, dport: 2})
			r = n.sim("vm1", tagged)
			wantVerdict(t, r, Forward, ReasonNone)
			wantOut(t, r, "vm2", "vm3")
			if r.Seen.Has(packet.FieldIPProto) {
				t.Errorf("tagged frame: chain evaluated (seen %v)", r.Seen)
			}
		})
	}
}

// Broadcast and multicast destinations flood and learn; a multicast source is
// dropped.
func TestBridgeGroupAddresses(t *testing.T) {
	n := l2net(t)
	for _, dst := range []string{bcast, "01:00:5e:00:00:01"} {
		r := n.sim("vm2", udp(t, mac2, dst, "10.0.0.2", "224.0.0.1"))
		wantVerdict(t, r, Forward, ReasonNone)
		wantOut(t, r, "vm1", "vm3")
		if len(r.Learned) != 1 || r.Learned[0].MAC != mac(mac2) {
			t.Errorf("learned %+v", r.Learned)
		}
		wantTags(t, r, TagBroadcast(bid("br")))
		wantNoTag(t, r, TagFloodedTo(bid("br"), 0, mac(dst)))
	}
	r := n.sim("vm2", udp(t, "01:00:5e:00:00:07", mac1, "10.0.0.2", "10.0.0.1"))
	wantVerdict(t, r, Drop, ReasonMulticastSrc)
	if len(r.Learned) != 0 {
		t.Errorf("learned a multicast source")
	}
	wantTags(t, r, TagDevice(bid("br")))
}

// routerOnBridge links router port rp (10.0.0.1/24) to bridge br.
func routerOnBridge(n *tnet) {
	n.router("rtr")
	rp := n.rport("rtr", "rp", "10.0.0.1/24", "02:aa:00:00:00:01")
	bp := n.bport("br", "br-rp")
	n.link(rp, bp)
}

// An ARP request for a linked router port's address is answered by the
// bridge, out of the in-port.
func TestBridgeARPForRouter(t *testing.T) {
	n := l2net(t)
	routerOnBridge(n)
	r := n.sim("vm1", arpReq(t, mac1, "10.0.0.11", "10.0.0.1"))
	wantVerdict(t, r, Consumed, ReasonNone)
	wantGenerated(t, r, 1)
	g := r.Generated[0]
	if g.Port != pid("vm1") {
		t.Errorf("reply out of %v", g.Port)
	}
	v := parse(t, g.Frame)
	if v.EtherType() != packet.EtherTypeARP || v.ARPOp() != packet.ARPReply ||
		v.ARPSHA() != mac("02:aa:00:00:00:01") || v.ARPSPA() != ip("10.0.0.1") ||
		v.ARPTHA() != mac(mac1) || v.ARPTPA() != ip("10.0.0.11") || v.EthDst() != mac(mac1) {
		t.Errorf("reply = %s", describe(v))
	}
	if r.Flow != FlowNone {
		t.Errorf("flow = %v", r.Flow)
	}
}

// The IPv4-MAC table answers ARP; a tagged request floods.
func TestBridgeARPFromIP4MACTable(t *testing.T) {
	n := l2net(t)
	n.state().SetIP4MAC(bid("br"), ip("10.0.0.3"), mac(mac3))
	r := n.sim("vm1", arpReq(t, mac1, "10.0.0.11", "10.0.0.3"))
	wantVerdict(t, r, Consumed, ReasonNone)
	wantGenerated(t, r, 1)
	v := parse(t, r.Generated[0].Frame)
	if v.ARPOp() != packet.ARPReply || v.ARPSHA() != mac(mac3) || v.ARPSPA() != ip("10.0.0.3") {
		t.Errorf("reply = %s", describe(v))
	}
	tagged := build(t, fr{src: mac1, dst: bcast, vlans: []uint16{5}, et: packet.EtherTypeARP,
		arpOp: packet.ARPRequest, sha: mac1, spa: "10.0.0.11", tpa: "10.0.0.3"})
	r = n.sim("vm1", tagged)
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "vm2", "vm3")
	wantGenerated(t, r, 0)

	n.cfg.DisableBridgeARP = true
	r = n.sim("vm1", arpReq(t, mac1, "10.0.0.11", "10.0.0.3"))
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "vm2", "vm3")
}

// An ARP request for an unknown address floods and learns.
func TestBridgeARPUnknownFloods(t *testing.T) {
	n := l2net(t)
	r := n.sim("vm1", arpReq(t, mac1, "10.0.0.11", "10.0.0.99"))
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "vm2", "vm3")
	wantTags(t, r, TagARPRequests(bid("br")), TagBroadcast(bid("br")))
	if len(r.Learned) != 1 {
		t.Errorf("learned %+v", r.Learned)
	}
	if r.Flow != FlowNormal {
		t.Errorf("flow %v", r.Flow)
	}
}

// Gratuitous ARP is written to the IPv4-MAC table and flooded from
// userspace only.
func TestBridgeGratuitousARP(t *testing.T) {
	n := l2net(t)
	r := n.sim("vm1", arpReq(t, mac1, "10.0.0.11", "10.0.0.11"))
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "vm2", "vm3")
	if len(r.IP4MACWrites) != 1 || r.IP4MACWrites[0] != (IP4MACWrite{Bridge: bid("br"), IP: ip("10.0.0.11"), MAC: mac(mac1)}) {
		t.Errorf("writes %+v", r.IP4MACWrites)
	}
	if r.Flow != FlowNone {
		t.Errorf("flow = %v, want none", r.Flow)
	}
}

// Known destinations get exactly one output; a MAC moving to another port is
// re-learned there.
func TestBridgeUnicastAndMove(t *testing.T) {
	n := l2net(t)
	st := n.state()
	st.LearnMAC(bid("br"), 0, mac(mac1), pid("vm1"))
	st.LearnMAC(bid("br"), 0, mac(mac2), pid("vm2"))
	r := n.sim("vm1", udp(t, mac1, mac2, "10.0.0.1", "10.0.0.2"))
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "vm2")
	wantTags(t, r, TagDevice(bid("br")), TagBridgeMAC(bid("br"), mac(mac1), 0, pid("vm1")),
		TagBridgeMAC(bid("br"), mac(mac2), 0, pid("vm2")))
	wantNoTag(t, r, TagBroadcast(bid("br")), TagFloodedTo(bid("br"), 0, mac(mac2)))
	wantL2Only(t, r)
	if changed(r, 0) != 0 {
		t.Errorf("unicast rewrites %v", changed(r, 0))
	}

	// mac1 now shows up on vm3.
	r = n.sim("vm3", udp(t, mac1, mac2, "10.0.0.1", "10.0.0.2"))
	wantOut(t, r, "vm2")
	if len(r.Learned) != 1 || r.Learned[0].Port != pid("vm3") {
		t.Errorf("learned %+v, want mac1 on vm3", r.Learned)
	}
	wantTags(t, r, TagBridgeMAC(bid("br"), mac(mac1), 0, pid("vm3")))
	st.Apply(r)
	// Traffic to mac1 now goes to vm3.
	r = n.sim("vm2", udp(t, mac2, mac1, "10.0.0.2", "10.0.0.1"))
	wantOut(t, r, "vm3")
	wantTags(t, r, TagBridgeMAC(bid("br"), mac(mac1), 0, pid("vm3")))
}

// A flood carries flooded-to(MAC); once the MAC is learned the next packet is
// unicast.
func TestBridgeLearnThenUnicast(t *testing.T) {
	n := l2net(t)
	r := n.sim("vm1", udp(t, mac1, mac2, "10.0.0.1", "10.0.0.2"))
	wantTags(t, r, TagFloodedTo(bid("br"), 0, mac(mac2)))
	n.state().Apply(r)
	r = n.sim("vm2", udp(t, mac2, mac1, "10.0.0.2", "10.0.0.1"))
	wantOut(t, r, "vm1")
}

// A destination mapped to the ingress port is an error drop and the tags are
// cleared.
func TestBridgeDstOnInPort(t *testing.T) {
	n := l2net(t)
	n.state().LearnMAC(bid("br"), 0, mac(mac2), pid("vm1"))
	r := n.sim("vm1", udp(t, mac1, mac2, "10.0.0.1", "10.0.0.2"))
	wantVerdict(t, r, ErrorDrop, ReasonDstIsInPort)
	if len(r.Tags) != 0 || r.Flow != FlowShort {
		t.Errorf("tags %v flow %v", r.Tags, r.Flow)
	}
	// Source == destination resolves to the in-port too.
	r = n.sim("vm1", udp(t, mac1, mac1, "10.0.0.1", "10.0.0.2"))
	wantVerdict(t, r, ErrorDrop, ReasonDstIsInPort)
}

// A bridge forwarding to a router port by its MAC tags (bridge, port) so that
// unlinking invalidates it; router MACs are never learned.
func TestBridgeRouterPortTags(t *testing.T) {
	n := l2net(t)
	routerOnBridge(n)
	r := n.sim("vm1", echo(t, mac1, "02:aa:00:00:00:01", "10.0.0.11", "10.0.0.1"))
	wantVerdict(t, r, Consumed, ReasonNone)
	wantTags(t, r, TagBridgePort(bid("br"), pid("br-rp")), TagPortRx(pid("rp")))
	// A frame from the router's MAC is not learned.
	r = n.sim("br-rp", udp(t, "02:aa:00:00:00:01", mac1, "10.0.0.1", "10.0.0.11"))
	if len(r.Learned) != 0 {
		t.Errorf("learned the router's MAC: %+v", r.Learned)
	}
	wantOut(t, r, "vm1", "vm2", "vm3")
}

// Admin-down bridges and bridge ports drop silently, tagged.
func TestBridgeAdminDown(t *testing.T) {
	t.Run("bridge", func(t *testing.T) {
		n := l2net(t)
		n.bridges[0].AdminDown = true
		r := n.sim("vm1", udp(t, mac1, mac2, "10.0.0.1", "10.0.0.2"))
		wantVerdict(t, r, Drop, ReasonDeviceDown)
		wantTags(t, r, TagDevice(bid("br")))
		wantGenerated(t, r, 0)
	})
	t.Run("in-port", func(t *testing.T) {
		n := l2net(t)
		n.port("vm1").AdminDown = true
		r := n.sim("vm1", udp(t, mac1, mac2, "10.0.0.1", "10.0.0.2"))
		wantVerdict(t, r, Drop, ReasonPortDown)
		wantTags(t, r, TagDevice(pid("vm1")))
		wantGenerated(t, r, 0)
	})
	t.Run("out-port", func(t *testing.T) {
		n := l2net(t)
		n.port("vm2").AdminDown = true
		n.state().LearnMAC(bid("br"), 0, mac(mac2), pid("vm2"))
		r := n.sim("vm1", udp(t, mac1, mac2, "10.0.0.1", "10.0.0.2"))
		wantVerdict(t, r, Drop, ReasonPortDown)
		wantTags(t, r, TagDevice(pid("vm2")))
	})
	t.Run("broadcast", func(t *testing.T) {
		n := l2net(t)
		n.port("vm2").AdminDown = true
		r := n.sim("vm1", udp(t, mac1, bcast, "10.0.0.1", "10.0.0.255"))
		wantVerdict(t, r, Forward, ReasonNone)
		wantOut(t, r, "vm3")
		wantTags(t, r, TagDevice(pid("vm2")))
	})
}
