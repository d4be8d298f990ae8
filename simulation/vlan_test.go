package simulation

import (
	"testing"

	"github.com/hivenet/hivenet/simulation/packet"
)

const (
	macA = "02:0a:00:00:00:0a" // vmA, behind VLAN 10
	macT = "02:00:00:00:00:71"
)

// vlanNet is an L2 gateway: the VLAN-aware bridge "vab" has trunks t1 and t2
// and interior ports v10 (VLAN 10) and v20 (VLAN 20), linked to the
// VLAN-unaware bridges b10 (with vmA) and b20 (with vmB).
func vlanNet(t testing.TB) *tnet {
	n := newNet(t)
	n.bridge("vab")
	n.bridge("b10")
	n.bridge("b20")
	n.vm("vab", "t1")
	n.vm("vab", "t2")
	v10 := n.bport("vab", "v10")
	v10.VLAN = 10
	v20 := n.bport("vab", "v20")
	v20.VLAN = 20
	n.link(v10, n.bport("b10", "b10-up"))
	n.link(v20, n.bport("b20", "b20-up"))
	n.vm("b10", "vmA")
	n.vm("b20", "vmB")
	return n
}

func vlanOf(r *Result, i int) (packet.VLANStack, bool) {
	s := r.Outputs[i].Match.Peek().VLANs()
	return s, changed(r, i).Has(packet.FieldVLAN)
}

func outIndex(t testing.TB, r *Result, port string) int {
	t.Helper()
	for i, o := range r.Outputs {
		if o.Port == pid(port) {
			return i
		}
	}
	t.Fatalf("no output to %s\n%s", port, r.Trace)
	return -1
}

// A broadcast from behind VLAN 10 reaches the trunks tagged with VLAN 10.
func TestVLANFloodFromAccessSide(t *testing.T) {
	n := vlanNet(t)
	r := n.sim("vmA", udp(t, "02:0a:00:00:00:0a", bcast, "10.0.10.5", "10.0.10.255"))
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "t1", "t2")
	for i := range r.Outputs {
		s, ch := vlanOf(r, i)
		if o, ok := s.Outer(); !ok || o.ID != 10 || s.Len() != 1 || !ch {
			t.Errorf("output %d: VLANs %v (changed %v), want pushed 10", i, vlanText(s), ch)
		}
	}
	learned := map[MACLearning]bool{}
	for _, l := range r.Learned {
		learned[l] = true
	}
	if !learned[MACLearning{Bridge: bid("b10"), VLAN: 0, MAC: mac(macA), Port: pid("vmA")}] ||
		!learned[MACLearning{Bridge: bid("vab"), VLAN: 10, MAC: mac(macA), Port: pid("v10")}] {
		t.Errorf("learned %+v", r.Learned)
	}
}

// A broadcast on a trunk tagged 10 goes to the other trunk (tagged) and,
// popped, to the VLAN 10 side only.
func TestVLANFloodFromTrunk(t *testing.T) {
	n := vlanNet(t)
	f := build(t, fr{src: macT, dst: bcast, vlans: []uint16{10}, ipSrc: "10.0.10.7", ipDst: "10.0.10.255", sport: 1, dport: 2})
	r := n.sim("t1", f)
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "t2", "vmA")
	if s, ch := vlanOf(r, outIndex(t, r, "t2")); s.Len() != 1 || ch {
		t.Errorf("t2: VLANs %s changed %v, want the tag untouched", vlanText(s), ch)
	}
	if s, ch := vlanOf(r, outIndex(t, r, "vmA")); s.Len() != 0 || !ch {
		t.Errorf("vmA: VLANs %s changed %v, want popped", vlanText(s), ch)
	}
	if len(r.Learned) == 0 || r.Learned[0] != (MACLearning{Bridge: bid("vab"), VLAN: 10, MAC: mac(macT), Port: pid("t1")}) {
		t.Errorf("learned %+v", r.Learned)
	}
	// A trunk VLAN without an interior port: plain flood.
	f = build(t, fr{src: macT, dst: bcast, vlans: []uint16{30}, ipSrc: "10.0.10.7", ipDst: "10.0.10.255", sport: 1, dport: 2})
	r = n.sim("t1", f)
	wantOut(t, r, "t2")
}

// Unicast across the gateway: tag popped toward the access side, pushed
// toward the trunk; a frame whose tag does not fit the port is dropped.
func TestVLANUnicast(t *testing.T) {
	n := vlanNet(t)
	st := n.state()
	st.LearnMAC(bid("vab"), 10, mac(macA), pid("v10"))
	st.LearnMAC(bid("b10"), 0, mac(macA), pid("vmA"))
	st.LearnMAC(bid("vab"), 10, mac(macT), pid("t1"))
	st.LearnMAC(bid("b10"), 0, mac(macT), pid("b10-up"))

	f := build(t, fr{src: macT, dst: macA, vlans: []uint16{10}, ipSrc: "10.0.10.7", ipDst: "10.0.10.5", sport: 1, dport: 2})
	r := n.sim("t1", f)
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "vmA")
	if s, ch := vlanOf(r, 0); s.Len() != 0 || !ch {
		t.Errorf("VLANs %s changed %v, want popped", vlanText(s), ch)
	}
	wantTags(t, r, TagBridgeMAC(bid("vab"), mac(macA), 10, pid("v10")))

	r = n.sim("vmA", udp(t, macA, macT, "10.0.10.5", "10.0.10.7"))
	wantVerdict(t, r, Forward, ReasonNone)
	wantOut(t, r, "t1")
	if s, ch := vlanOf(r, 0); s.Len() != 1 || s.At(0).ID != 10 || !ch {
		t.Errorf("VLANs %s changed %v, want pushed 10", vlanText(s), ch)
	}

	// Tag 20 on a MAC that (wrongly) maps to the VLAN 10 port, and an
	// untagged frame toward a VLAN port: both dropped.
	st.LearnMAC(bid("vab"), 20, mac(macA), pid("v10"))
	f = build(t, fr{src: macT, dst: macA, vlans: []uint16{20}, ipSrc: "10.0.10.7", ipDst: "10.0.10.5", sport: 1, dport: 2})
	r = n.sim("t1", f)
	wantVerdict(t, r, Drop, ReasonVLAN)
	st.LearnMAC(bid("vab"), 0, mac(macA), pid("v10"))
	r = n.sim("t1", udp(t, macT, macA, "10.0.10.7", "10.0.10.5"))
	wantVerdict(t, r, Drop, ReasonVLAN)
}
