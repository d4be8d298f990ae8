package packet

import (
	"bytes"
	"testing"
)

func TestZeroAllocs(t *testing.T) {
	p := baseParams()
	tcp := buildTCP(t, p)
	echo := buildEcho(t, p)
	errFrame := buildErr(0x11, 28)(t, p)
	tagged := append([]byte(nil), tcp...)
	var m Match
	if err := m.Parse(tcp); err != nil {
		t.Fatal(err)
	}
	l := m.Layout()
	work := bytes.Clone(tcp)
	buf := make([]byte, 0, 2048)
	var em Match
	if err := em.Parse(errFrame); err != nil {
		t.Fatal(err)
	}
	errWork := bytes.Clone(errFrame)
	vbuf := make([]byte, len(tagged), len(tagged)+4)
	bad := tcp[:30]

	tests := []struct {
		name string
		f    func()
	}{
		{"Parse tcp", func() { _ = m.Parse(tcp) }},
		{"Parse icmp error", func() { _ = m.Parse(errFrame) }},
		{"Parse truncated", func() { _ = m.Parse(bad) }},
		{"getters", func() {
			_, _, _, _ = m.EthSrc(), m.IPSrc(), m.DstPort(), m.ICMPData()
			_, _ = m.VLANs(), m.Peek().IPDst()
			_ = m.Seen()
		}},
		{"setters", func() {
			m.SetIPSrc(ipB)
			m.SetSrcPort(9)
			m.SetICMPData(Inner{})
			m.PushVLAN(VLAN{ID: 1})
			m.PopVLAN()
			m.ClearSeen()
		}},
		{"copy and Changed", func() {
			c := m
			c.SetIPTTL(3)
			_ = Changed(&m, &c)
		}},
		{"SetIPv4Src", func() { _ = SetIPv4Src(work, l, ipB) }},
		{"SetL4Dst", func() { _ = SetL4Dst(work, l, 99) }},
		{"SetIPv4TTL", func() { _ = SetIPv4TTL(work, l, 7) }},
		{"SetInnerSrc", func() { _ = SetInnerSrc(errWork, em.Layout(), ipA) }},
		{"SetInnerSrcPort", func() { _ = SetInnerSrcPort(errWork, em.Layout(), 7) }},
		{"Apply snat", func() {
			to := m
			to.SetIPSrc(v4("1.2.3.4"))
			to.SetSrcPort(1)
			_, _ = Apply(work, &m, &to)
		}},
		{"Push+PopVLAN with capacity", func() {
			lv := l
			f := vbuf[:len(tagged)]
			f, _ = PushVLAN(f, &lv, VLAN{TPID: EtherTypeVLAN, ID: 3})
			_, _ = PopVLAN(f, &lv)
		}},
		{"AppendARPRequest", func() { _, _ = AppendARPRequest(buf[:0], VLAN{TPID: EtherTypeVLAN, ID: 2}, macA, ipA, ipB) }},
		{"AppendARPReply", func() { _, _ = AppendARPReply(buf[:0], VLAN{}, macA, ipA, macB, ipB) }},
		{"AppendEchoReply", func() { _, _ = AppendEchoReply(buf[:0], echo) }},
		{"AppendICMPError", func() {
			_, _ = AppendICMPError(buf[:0], ICMPError{Type: ICMPDestUnreach, Code: CodeFragNeeded, MTU: 1400, Src: ipA, Dst: ipB}, tcp)
		}},
		{"AppendFrame", func() { _, _ = AppendFrame(buf[:0], &m, tcp[54:]) }},
		{"Checksum", func() { _ = Checksum(tcp) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.f); n != 0 {
			t.Errorf("%s: %v allocs/op, want 0", tt.name, n)
		}
	}
}
