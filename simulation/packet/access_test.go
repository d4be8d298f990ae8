package packet

import (
	"errors"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// TestAccessorsMarkOneField checks every getter marks exactly its field seen
// (and nothing modified), every setter marks exactly its field modified (and
// nothing seen), the setter's value is what the getter and the View return.
func TestAccessorsMarkOneField(t *testing.T) {
	type acc struct {
		f    Field
		set  func(*Match)
		get  func(*Match) any
		peek func(*View) any
		want any
	}
	in := Inner{Src: ipA, Dst: ipB, Proto: ProtoUDP, SrcPort: 1, DstPort: 2}
	var st VLANStack
	st.Push(VLAN{TPID: EtherTypeVLAN, ID: 4})
	accs := []acc{
		{FieldInPort, func(m *Match) { m.SetInPort(9) }, func(m *Match) any { return m.InPort() }, func(v *View) any { return v.InPort() }, uint32(9)},
		{FieldEthSrc, func(m *Match) { m.SetEthSrc(macA) }, func(m *Match) any { return m.EthSrc() }, func(v *View) any { return v.EthSrc() }, macA},
		{FieldEthDst, func(m *Match) { m.SetEthDst(macB) }, func(m *Match) any { return m.EthDst() }, func(v *View) any { return v.EthDst() }, macB},
		{FieldVLAN, func(m *Match) { m.SetVLANs(st) }, func(m *Match) any { return m.VLANs() }, func(v *View) any { return v.VLANs() }, st},
		{FieldEtherType, func(m *Match) { m.SetEtherType(0x88cc) }, func(m *Match) any { return m.EtherType() }, func(v *View) any { return v.EtherType() }, uint16(0x88cc)},
		{FieldARPOp, func(m *Match) { m.SetARPOp(2) }, func(m *Match) any { return m.ARPOp() }, func(v *View) any { return v.ARPOp() }, uint16(2)},
		{FieldARPSHA, func(m *Match) { m.SetARPSHA(macA) }, func(m *Match) any { return m.ARPSHA() }, func(v *View) any { return v.ARPSHA() }, macA},
		{FieldARPSPA, func(m *Match) { m.SetARPSPA(ipA) }, func(m *Match) any { return m.ARPSPA() }, func(v *View) any { return v.ARPSPA() }, ipA},
		{FieldARPTHA, func(m *Match) { m.SetARPTHA(macB) }, func(m *Match) any { return m.ARPTHA() }, func(v *View) any { return v.ARPTHA() }, macB},
		{FieldARPTPA, func(m *Match) { m.SetARPTPA(ipB) }, func(m *Match) any { return m.ARPTPA() }, func(v *View) any { return v.ARPTPA() }, ipB},
		{FieldIPSrc, func(m *Match) { m.SetIPSrc(ip6A) }, func(m *Match) any { return m.IPSrc() }, func(v *View) any { return v.IPSrc() }, ip6A},
		{FieldIPDst, func(m *Match) { m.SetIPDst(ip6B) }, func(m *Match) any { return m.IPDst() }, func(v *View) any { return v.IPDst() }, ip6B},
		{FieldIPProto, func(m *Match) { m.SetIPProto(47) }, func(m *Match) any { return m.IPProto() }, func(v *View) any { return v.IPProto() }, uint8(47)},
		{FieldIPTOS, func(m *Match) { m.SetIPTOS(0xb8) }, func(m *Match) any { return m.IPTOS() }, func(v *View) any { return v.IPTOS() }, uint8(0xb8)},
		{FieldIPTTL, func(m *Match) { m.SetIPTTL(3) }, func(m *Match) any { return m.IPTTL() }, func(v *View) any { return v.IPTTL() }, uint8(3)},
		{FieldIPFrag, func(m *Match) { m.SetIPFrag(FragLater) }, func(m *Match) any { return m.IPFrag() }, func(v *View) any { return v.IPFrag() }, FragLater},
		{FieldIPv6FlowLabel, func(m *Match) { m.SetIPv6FlowLabel(5) }, func(m *Match) any { return m.IPv6FlowLabel() }, func(v *View) any { return v.IPv6FlowLabel() }, uint32(5)},
		{FieldSrcPort, func(m *Match) { m.SetSrcPort(7) }, func(m *Match) any { return m.SrcPort() }, func(v *View) any { return v.SrcPort() }, uint16(7)},
		{FieldDstPort, func(m *Match) { m.SetDstPort(8) }, func(m *Match) any { return m.DstPort() }, func(v *View) any { return v.DstPort() }, uint16(8)},
		{FieldTCPFlags, func(m *Match) { m.SetTCPFlags(TCPRst) }, func(m *Match) any { return m.TCPFlags() }, func(v *View) any { return v.TCPFlags() }, TCPRst},
		{FieldICMPType, func(m *Match) { m.SetICMPType(11) }, func(m *Match) any { return m.ICMPType() }, func(v *View) any { return v.ICMPType() }, uint8(11)},
		{FieldICMPCode, func(m *Match) { m.SetICMPCode(4) }, func(m *Match) any { return m.ICMPCode() }, func(v *View) any { return v.ICMPCode() }, uint8(4)},
		{FieldICMPID, func(m *Match) { m.SetICMPID(77) }, func(m *Match) any { return m.ICMPID() }, func(v *View) any { return v.ICMPID() }, uint16(77)},
		{FieldICMPData, func(m *Match) { m.SetICMPData(in) }, func(m *Match) any { return m.ICMPData() }, func(v *View) any { return v.ICMPData() }, in},
	}
	if len(accs) != int(numFields) {
		t.Fatalf("table covers %d fields, want %d", len(accs), numFields)
	}
	// NumVLANs and OuterVLAN read the VLAN stack in place.
	vlan := accs[FieldVLAN]
	if vlan.f != FieldVLAN {
		t.Fatalf("accs[FieldVLAN] is %v", vlan.f)
	}
	accs = append(accs,
		acc{FieldVLAN, vlan.set, func(m *Match) any { return m.NumVLANs() }, func(v *View) any { return v.VLANs().Len() }, 1},
		acc{FieldVLAN, vlan.set, func(m *Match) any { o, ok := m.OuterVLAN(); return [2]any{o, ok} },
			func(v *View) any { o, ok := v.VLANs().Outer(); return [2]any{o, ok} }, [2]any{st.At(0), true}})
	for _, a := range accs {
		t.Run(a.f.String(), func(t *testing.T) {
			var m Match
			a.set(&m)
			if m.Modified() != FieldsOf(a.f) || m.Seen() != 0 {
				t.Fatalf("setter: modified %v seen %v", m.Modified(), m.Seen())
			}
			if got := a.peek(m.Peek()); got != a.want || m.Seen() != 0 {
				t.Fatalf("peek = %v (seen %v), want %v", got, m.Seen(), a.want)
			}
			if got := a.get(&m); got != a.want {
				t.Fatalf("getter = %v, want %v", got, a.want)
			}
			if m.Seen() != FieldsOf(a.f) || m.Peek().Seen() != m.Seen() || m.Peek().Modified() != m.Modified() {
				t.Fatalf("getter: seen %v", m.Seen())
			}
			m.ClearModified()
			if m.Modified() != 0 {
				t.Fatal("ClearModified")
			}
		})
	}
}

func TestErrorType(t *testing.T) {
	var m Match
	err := m.Parse([]byte{1, 2, 3})
	var pe *Error
	if !errors.As(err, &pe) || pe.Layer != "ethernet" || !errors.Is(err, ErrTruncated) || errors.Is(err, ErrMalformed) {
		t.Fatalf("unexpected error %#v", err)
	}
	if s := err.Error(); !strings.Contains(s, "truncated") || !strings.Contains(s, "ethernet") {
		t.Errorf("Error() = %q", s)
	}
}

// CopyFrom makes the same copy as an assignment, Seen and Modified
// included, over a match that held another packet.
func TestCopyFrom(t *testing.T) {
	var m Match
	m.SetInPort(3)
	tcp := ip4L(layers.IPProtocolTCP)
	if err := m.Parse(serialize(t, ethL(layers.EthernetTypeIPv4), tcp, tcpL(tcp))); err != nil {
		t.Fatal(err)
	}
	m.EthDst()
	m.IPSrc()
	m.SetIPTTL(9)
	m.SetEthSrc(macB)
	var o Match
	udp := ip4L(layers.IPProtocolUDP)
	if err := o.Parse(serialize(t, ethL(layers.EthernetTypeIPv4), udp, udpL(udp))); err != nil {
		t.Fatal(err)
	}
	o.DstPort()
	o.SetIPTOS(4)
	o.CopyFrom(&m)
	if o != m {
		t.Fatalf("CopyFrom:\n got %+v\nwant %+v", o, m)
	}
	if o.Seen() == 0 || o.Modified() == 0 {
		t.Fatalf("seen %v, modified %v: the test copies nothing", o.Seen(), o.Modified())
	}
}
