//go:build linux

package inproc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/kernel"
	"github.com/hivenet/hivenet/internal/vmtest"
)

// conformanceFrames are the frames both datapaths must key identically,
// including every truncation of a few of them (truncated headers are where
// flow extractors differ).
func conformanceFrames(t testing.TB) []struct {
	name  string
	frame []byte
} {
	vlan := func(tpid layers.EthernetType, inner ...*layers.Dot1Q) []byte {
		ip := ip4L(layers.IPProtocolTCP)
		ls := []gopacket.SerializableLayer{ethL(tpid)}
		for _, q := range inner {
			ls = append(ls, q)
		}
		return serialize(t, append(ls, ip, tcpL(ip), gopacket.Payload("x"))...)
	}
	frag := func(flags layers.IPv4Flag, off uint16) []byte {
		ip := ip4L(layers.IPProtocolUDP)
		ip.Flags, ip.FragOffset = flags, off
		return serialize(t, ethL(layers.EthernetTypeIPv4), ip, udpL(ip), gopacket.Payload("xy"))
	}
	icmp := func() []byte {
		ip := ip4L(layers.IPProtocolICMPv4)
		return serialize(t, ethL(layers.EthernetTypeIPv4), ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 9})
	}
	arp := serialize(t, ethL(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: 2, SourceHwAddress: hw(macA), SourceProtAddress: nip(ipA),
		DstHwAddress: hw(macB), DstProtAddress: nip(ipB)})
	ns := func(opts layers.ICMPv6Options) []byte {
		ip := ip6L(layers.IPProtocolICMPv6)
		ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(136, 0)}
		_ = ic.SetNetworkLayerForChecksum(ip)
		return serialize(t, ethL(layers.EthernetTypeIPv6), ip, ic, &layers.ICMPv6NeighborAdvertisement{TargetAddress: nip(ip6B), Options: opts})
	}
	v6frag := func(off uint16, next layers.IPProtocol) []byte {
		ip := ip6L(layers.IPProtocolIPv6Fragment)
		f := &layers.IPv6Fragment{NextHeader: next, FragmentOffset: off, MoreFragments: true, Identification: 1}
		return serialize(t, ethL(layers.EthernetTypeIPv6), ip, f, gopacket.Payload(make([]byte, 24)))
	}
	v6hop := func() []byte {
		ip := ip6L(layers.IPProtocolIPv6HopByHop)
		h := &layers.IPv6HopByHop{}
		h.NextHeader = layers.IPProtocolUDP
		h.Options = []*layers.IPv6HopByHopOption{{OptionType: 1, OptionData: make([]byte, 4)}}
		udp := &layers.UDP{SrcPort: 1, DstPort: 2}
		_ = udp.SetNetworkLayerForChecksum(ip)
		return serialize(t, ethL(layers.EthernetTypeIPv6), ip, h, udp, gopacket.Payload("abc"))
	}
	base := []struct {
		name     string
		frame    []byte
		truncate bool
	}{
		{"tcp", tcpFrame(t), true},
		{"udp", udpFrame(t), false},
		{"tcp6", tcp6Frame(t), true},
		{"vlan", vlan(layers.EthernetTypeDot1Q, &layers.Dot1Q{Priority: 5, DropEligible: true, VLANIdentifier: 42, Type: layers.EthernetTypeIPv4}), true},
		{"qinq", vlan(layers.EthernetTypeQinQ, &layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeIPv4}), false},
		{"three tags", vlan(layers.EthernetTypeQinQ, &layers.Dot1Q{VLANIdentifier: 1, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 2, Type: layers.EthernetTypeDot1Q}, &layers.Dot1Q{VLANIdentifier: 3, Type: layers.EthernetTypeIPv4}), false},
		{"first fragment", frag(layers.IPv4MoreFragments, 0), false},
		{"later fragment", frag(0, 100), false},
		{"icmp", icmp(), true},
		{"arp", arp, true},
		{"na", ns(layers.ICMPv6Options{{Type: layers.ICMPv6OptTargetAddress, Data: hw(macB)}}), true},
		{"na repeated option", ns(layers.ICMPv6Options{{Type: layers.ICMPv6OptTargetAddress, Data: hw(macB)},
			{Type: layers.ICMPv6OptTargetAddress, Data: hw(macC)}}), false},
		{"ipv6 later fragment", v6frag(10, layers.IPProtocolTCP), false},
		{"ipv6 first fragment", v6frag(0, layers.IPProtocolTCP), true},
		{"ipv6 later fragment then extension", v6frag(10, layers.IPProtocolIPv6Destination), false},
		{"ipv6 hop-by-hop", v6hop(), true},
		{"llc", unhex("02000000000b02000000000a 0026 4242030000000000000000"), false},
		{"snap", unhex("02000000000b02000000000a 0026 aaaa03000000 0800 45000014000000004006000001020304050607080000"), false},
		{"lldp", unhex("02000000000b02000000000a 88cc 020704"), false},
	}
	var out []struct {
		name  string
		frame []byte
	}
	for _, b := range base {
		out = append(out, struct {
			name  string
			frame []byte
		}{b.name, b.frame})
		if !b.truncate {
			continue
		}
		for n := ethHdrLen; n < len(b.frame); n++ {
			out = append(out, struct {
				name  string
				frame []byte
			}{fmt.Sprintf("%s[:%d]", b.name, n), b.frame[:n]})
		}
	}
	return out
}

type execUpcaller struct {
	dp   datapath.Datapath
	sock datapath.UpcallSocket
}

// run executes acts followed by a userspace action on dp and returns the
// resulting upcall.
func (e execUpcaller) run(t *testing.T, frame []byte, acts datapath.Actions) (datapath.Upcall, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key := &datapath.FlowKey{Fields: datapath.KeyInPort, InPort: datapath.LocalPort}
	all := append(append(datapath.Actions(nil), acts...), datapath.Userspace{PID: e.sock.PID(), Userdata: []byte("conf")})
	if err := e.dp.Execute(ctx, frame, key, all); err != nil {
		return datapath.Upcall{}, err
	}
	var u datapath.Upcall
	err := e.sock.Receive(ctx, &u)
	return u, err
}

// TestKernelConformance runs the same frames and actions through the
// kernel datapath and the in-process one, and compares the keys reported
// in userspace upcalls (the kernel's flow extraction) and the rewritten
// packets.
func TestKernelConformance(t *testing.T) {
	vmtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := kernel.Dial(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	kdp, _, err := c.CreateDatapath(ctx, kernel.DatapathSpec{Name: "hvconf"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.DeleteDatapath(context.Background(), "hvconf")
	ks, err := kdp.OpenUpcalls()
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	d := newDP(t, Config{})
	is, err := d.OpenUpcalls()
	if err != nil {
		t.Fatal(err)
	}
	kern, mine := execUpcaller{kdp, ks}, execUpcaller{d, is}

	t.Run("keys", func(t *testing.T) {
		frames := conformanceFrames(t)
		// Plus random corruptions of the header bytes of each frame.
		r := rand.New(rand.NewPCG(1, 2))
		n := len(frames)
		for i := 0; i < n; i++ {
			for j := 0; j < 12; j++ {
				f := append([]byte(nil), frames[i].frame...)
				for m := 0; m < 1+r.IntN(3); m++ {
					k := 12 + r.IntN(min(len(f)-12, 70))
					f[k] = byte(r.Uint32())
				}
				frames = append(frames, struct {
					name  string
					frame []byte
				}{fmt.Sprintf("%s~%d", frames[i].name, j), f})
			}
		}
		compared, refused := 0, 0
		for _, tc := range frames {
			ku, kerr := kern.run(t, tc.frame, nil)
			iu, ierr := mine.run(t, tc.frame, nil)
			if (kerr == nil) != (ierr == nil) {
				t.Errorf("%s: kernel error %v, inproc error %v", tc.name, kerr, ierr)
				continue
			}
			if kerr != nil {
				refused++
				continue
			}
			compared++
			if ku.Key != iu.Key {
				t.Errorf("%s (%x):\n kernel %+v\n inproc %+v", tc.name, tc.frame, ku.Key, iu.Key)
			}
		}
		// Most frames must reach both extractors: a harness that lost them
		// all would compare nothing and pass.
		t.Logf("compared the keys of %d frames (%d refused by both)", compared, refused)
		if compared < len(frames)/2 {
			t.Fatalf("compared the keys of only %d of %d frames", compared, len(frames))
		}
	})

	ones := ones4
	t.Run("actions", func(t *testing.T) {
		tcp, udp, tcp6 := tcpFrame(t), udpFrame(t), tcp6Frame(t)
		var vlanFrame []byte
		for _, f := range conformanceFrames(t) {
			if f.name == "vlan" {
				vlanFrame = f.frame
			}
		}
		for _, tc := range []struct {
			name  string
			frame []byte
			acts  datapath.Actions
		}{
			{"set eth", tcp, datapath.Actions{datapath.Set[datapath.EthernetKey]{Value: datapath.EthernetKey{Src: macC, Dst: macNew}}}},
			{"set ipv4", tcp, datapath.Actions{datapath.Set[datapath.IPv4Key]{Value: datapath.IPv4Key{Src: ipNew, Dst: ipC, Proto: protoTCP, TOS: 0x10, TTL: 9}}}},
			{"set_masked ipv4 src", udp, datapath.Actions{datapath.SetMasked[datapath.IPv4Key]{Value: datapath.IPv4Key{Src: ipNew}, Mask: datapath.IPv4Key{Src: ones}}}},
			{"set_masked ipv4 tos ttl", tcp, datapath.Actions{datapath.SetMasked[datapath.IPv4Key]{Value: datapath.IPv4Key{TOS: 0x04, TTL: 3}, Mask: datapath.IPv4Key{TOS: 0x0c, TTL: 0xff}}}},
			{"set tcp", tcp, datapath.Actions{datapath.Set[datapath.TCPKey]{Value: datapath.TCPKey{Src: 1, Dst: 2}}}},
			{"set_masked udp", udp, datapath.Actions{datapath.SetMasked[datapath.UDPKey]{Value: datapath.UDPKey{Dst: 0x1200}, Mask: datapath.UDPKey{Dst: 0xff00}}}},
			{"set_masked ipv6", tcp6, datapath.Actions{datapath.SetMasked[datapath.IPv6Key]{Value: datapath.IPv6Key{TClass: 0xb8, Label: 7, HLimit: 1},
				Mask: datapath.IPv6Key{TClass: 0xff, Label: 0xfffff, HLimit: 0xff}}}},
			{"push_vlan", tcp, datapath.Actions{datapath.PushVLAN{TPID: 0x8100, TCI: 0x1000 | 5<<13 | 99}}},
			{"push_vlan 802.1ad", tcp, datapath.Actions{datapath.PushVLAN{TPID: 0x88a8, TCI: 0x1000 | 7}}},
			{"pop_vlan", vlanFrame, datapath.Actions{datapath.PopVLAN{}}},
			{"trunc", tcp, datapath.Actions{datapath.Trunc{MaxLen: 30}}},
			{"set mark and priority", tcp, datapath.Actions{datapath.Set[datapath.Mark]{Value: 5}, datapath.SetMasked[datapath.Priority]{Value: 0x10, Mask: 0xf0}}},
		} {
			ku, kerr := kern.run(t, tc.frame, tc.acts)
			iu, ierr := mine.run(t, tc.frame, tc.acts)
			if kerr != nil || ierr != nil {
				t.Errorf("%s: kernel error %v, inproc error %v", tc.name, kerr, ierr)
				continue
			}
			if string(ku.Packet) != string(iu.Packet) || ku.Len != iu.Len {
				t.Errorf("%s: packets differ:\n kernel %x (len %d)\n inproc %x (len %d)", tc.name, ku.Packet, ku.Len, iu.Packet, iu.Len)
			}
			if ku.Key.SKBMark != iu.Key.SKBMark || ku.Key.Priority != iu.Key.Priority {
				t.Errorf("%s: metadata differs: kernel mark %d prio %d, inproc %d %d", tc.name, ku.Key.SKBMark, ku.Key.Priority, iu.Key.SKBMark, iu.Key.Priority)
			}
		}
	})

	// Flow table semantics: the same operations give the same outcome.
	t.Run("flows", func(t *testing.T) {
		k := keyOf(tcpFrame(t), 0)
		for _, dp := range []datapath.Datapath{kdp, d} {
			if err := dp.FlushFlows(ctx); err != nil {
				t.Fatal(err)
			}
		}
		class := func(err error) string {
			switch {
			case err == nil:
				return "ok"
			case errors.Is(err, datapath.ErrExists):
				return "EEXIST"
			case errors.Is(err, datapath.ErrNotFound):
				return "ENOENT"
			case errors.Is(err, datapath.ErrInvalid):
				return "EINVAL"
			}
			return err.Error()
		}
		base := datapath.Flow{Match: datapath.Match{Key: k, Mask: l4Mask()}, Actions: out(0)}
		inside := base
		inside.Match.Key.IPv4.Src = ipC
		other := base
		other.Match.Key.TCP.Dst = 1
		ufid := base
		ufid.UFID = datapath.UFID{7}
		ufid.Match.Key.TCP.Dst = 2
		ufidSameKey := ufid
		ufidSameKey.UFID = datapath.UFID{8}
		steps := []struct {
			name string
			run  func(dp datapath.Datapath) error
		}{
			{"modify absent", func(dp datapath.Datapath) error { return dp.PutFlow(ctx, &base, datapath.PutModify) }},
			{"create", func(dp datapath.Datapath) error { return dp.PutFlow(ctx, &base, datapath.PutCreate) }},
			{"create again", func(dp datapath.Datapath) error { return dp.PutFlow(ctx, &base, datapath.PutCreate) }},
			{"create overlapping", func(dp datapath.Datapath) error { return dp.PutFlow(ctx, &inside, datapath.PutCreate) }},
			{"create|modify new", func(dp datapath.Datapath) error {
				return dp.PutFlow(ctx, &other, datapath.PutCreate|datapath.PutModify)
			}},
			{"create|modify existing", func(dp datapath.Datapath) error {
				return dp.PutFlow(ctx, &other, datapath.PutCreate|datapath.PutModify)
			}},
			{"modify", func(dp datapath.Datapath) error {
				return dp.PutFlow(ctx, &base, datapath.PutModify|datapath.PutClearStats)
			}},
			{"create ufid", func(dp datapath.Datapath) error { return dp.PutFlow(ctx, &ufid, datapath.PutCreate) }},
			{"create same key other ufid", func(dp datapath.Datapath) error { return dp.PutFlow(ctx, &ufidSameKey, datapath.PutCreate) }},
			{"get ufid flow by key", func(dp datapath.Datapath) error {
				_, err := dp.GetFlow(ctx, &datapath.Flow{Match: datapath.Match{Key: ufid.Match.Key}})
				return err
			}},
			{"delete by key", func(dp datapath.Datapath) error {
				_, err := dp.DeleteFlow(ctx, &datapath.Flow{Match: datapath.Match{Key: base.Match.Key}})
				return err
			}},
			{"delete again", func(dp datapath.Datapath) error {
				_, err := dp.DeleteFlow(ctx, &datapath.Flow{Match: datapath.Match{Key: base.Match.Key}})
				return err
			}},
			{"delete absent ufid", func(dp datapath.Datapath) error {
				_, err := dp.DeleteFlow(ctx, &datapath.Flow{UFID: datapath.UFID{9}})
				return err
			}},
		}
		for _, st := range steps {
			ke, ie := class(st.run(kdp)), class(st.run(d))
			if ke != ie {
				t.Errorf("%s: kernel %s, inproc %s", st.name, ke, ie)
			}
		}
		kf, kerr := kdp.GetFlow(ctx, &datapath.Flow{UFID: ufid.UFID})
		inf, ierr := d.GetFlow(ctx, &datapath.Flow{UFID: ufid.UFID})
		if kerr != nil || ierr != nil || kf.Match.Key != inf.Match.Key {
			t.Errorf("UFID flow key:\n kernel %v %v\n inproc %v %v", kf.Match.Key, kerr, inf.Match.Key, ierr)
		}
		nk, ni := 0, 0
		for _, err := range kdp.Flows(ctx) {
			if err == nil {
				nk++
			}
		}
		for _, err := range d.Flows(ctx) {
			if err == nil {
				ni++
			}
		}
		if nk != ni || nk != 2 {
			t.Errorf("flows left: kernel %d, inproc %d, want 2", nk, ni)
		}
	})

	t.Run("errors", func(t *testing.T) {
		tcp := tcpFrame(t)
		for _, tc := range []struct {
			name string
			acts datapath.Actions
		}{
			{"set udp on tcp", datapath.Actions{datapath.Set[datapath.UDPKey]{}}},
			{"value outside mask", datapath.Actions{datapath.SetMasked[datapath.TCPKey]{Value: datapath.TCPKey{Dst: 0x1ff}, Mask: datapath.TCPKey{Dst: 0xff}}}},
			{"push_vlan without CFI", datapath.Actions{datapath.PushVLAN{TPID: 0x8100, TCI: 5}}},
			{"trunc too short", datapath.Actions{datapath.Trunc{MaxLen: 10}}},
			{"masked tunnel", datapath.Actions{datapath.SetMasked[datapath.TunnelKey]{Value: datapath.TunnelKey{Dst: ipB}, Mask: datapath.TunnelKey{Dst: ones}}}},
		} {
			_, kerr := kern.run(t, tcp, tc.acts)
			_, ierr := mine.run(t, tcp, tc.acts)
			if kerr == nil || ierr == nil {
				t.Errorf("%s: kernel error %v, inproc error %v (both should fail)", tc.name, kerr, ierr)
			}
		}
	})
}
