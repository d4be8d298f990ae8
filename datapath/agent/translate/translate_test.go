package translate

import (
	"bytes"
	"context"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

var (
	portA = topology.NameID(topology.KindPort, "a")
	portB = topology.NameID(topology.KindPort, "b")
	portC = topology.NameID(topology.KindPort, "c")
	macA  = topology.MustParseMAC("02:00:00:00:00:0a")
	macB  = topology.MustParseMAC("02:00:00:00:00:0b")
	macR  = topology.MustParseMAC("02:00:00:00:00:01")
	ipA   = netip.MustParseAddr("10.0.0.10")
	ipB   = netip.MustParseAddr("10.0.1.11")
	src   = netip.MustParseAddr("192.168.0.1")
	dst   = netip.MustParseAddr("192.168.0.2")
)

// locs is a Locator over a map.
type locs map[topology.ID]Location

func (l locs) Locate(p topology.ID) (Location, bool) {
	x, ok := l[p]
	return x, ok
}

var testLocs = locs{
	portA: {Local: true, DPPort: 3},
	portB: {Local: true, DPPort: 4},
	portC: {Tunnel: Tunnel{Key: 0x1abcde, Src: src, Dst: dst, Port: 1}},
}

func udpFrame(t testing.TB, sport, dport uint16) []byte {
	t.Helper()
	var m packet.Match
	m.SetEthSrc(macA)
	m.SetEthDst(macR)
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(ipA)
	m.SetIPDst(ipB)
	m.SetIPProto(packet.ProtoUDP)
	m.SetIPTTL(64)
	m.SetSrcPort(sport)
	m.SetDstPort(dport)
	f, err := packet.AppendFrame(nil, &m, []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// result builds a Forward result for frame with one output per port; edit
// rewrites output i's match.
func result(t testing.TB, frame []byte, seen packet.FieldSet, ports []topology.ID, edit func(i int, m *packet.Match)) *simulation.Result {
	t.Helper()
	r := &simulation.Result{Verdict: simulation.Forward, Flow: simulation.FlowNormal}
	if err := r.Original.Parse(frame); err != nil {
		t.Fatal(err)
	}
	r.Seen = seen.With(packet.FieldInPort)
	for i, p := range ports {
		o := simulation.Output{Port: p, Match: r.Original}
		if edit != nil {
			edit(i, &o.Match)
		}
		r.Outputs = append(r.Outputs, o)
	}
	return r
}

func keyOf(t testing.TB, frame []byte, inPort datapath.PortNumber) datapath.FlowKey {
	t.Helper()
	var m packet.Match
	if err := m.Parse(frame); err != nil {
		t.Fatal(err)
	}
	v := m.Peek()
	return datapath.FlowKey{
		Fields:    datapath.KeyInPort | datapath.KeyEthernet | datapath.KeyEtherType | datapath.KeyIPv4 | datapath.KeyUDP,
		InPort:    inPort,
		Ethernet:  datapath.EthernetKey{Src: v.EthSrc(), Dst: v.EthDst()},
		EtherType: v.EtherType(),
		IPv4:      datapath.IPv4Key{Src: v.IPSrc(), Dst: v.IPDst(), Proto: v.IPProto(), TTL: v.IPTTL()},
		UDP:       datapath.UDPKey{Src: v.SrcPort(), Dst: v.DstPort()},
	}
}

func TestTranslateLocalAndRemote(t *testing.T) {
	f := udpFrame(t, 1000, 2000)
	r := result(t, f, packet.FieldsOf(packet.FieldEthDst), []topology.ID{portB, portC}, nil)
	k := keyOf(t, f, 3)
	var tr Translator
	var out Translation
	tr.Translate(r, &k, testLocs, &out)
	want := datapath.Actions{
		datapath.Output{Port: 4},
		datapath.Set[datapath.TunnelKey]{Value: TunnelKeyFor(0x1abcde, src, dst)},
		datapath.Output{Port: 1},
	}
	if !slices.EqualFunc(out.Actions, want, func(a, b datapath.Action) bool { return a == b }) {
		t.Errorf("actions %v, want %v", out.Actions, want)
	}
	if out.Userspace || out.Unreachable != 0 {
		t.Errorf("userspace %v, unreachable %d", out.Userspace, out.Unreachable)
	}
	wantTags := []simulation.Tag{simulation.TagDPPort(4), simulation.TagTunnelRoute(src, dst)}
	if !slices.Equal(out.Tags, wantTags) {
		t.Errorf("tags %v, want %v", out.Tags, wantTags)
	}
	if tk := want[1].(datapath.Set[datapath.TunnelKey]).Value; tk.TTL != 255 || tk.Flags&datapath.TunnelKeyPresent == 0 {
		t.Errorf("tunnel key %+v: want TTL 255 and the key present", tk)
	}
	// Only eth_dst and the in-port were examined.
	if out.Mask.Fields != datapath.KeyInPort|datapath.KeyEthernet || out.Mask.Ethernet.Src != (topology.MAC{}) {
		t.Errorf("mask %v", out.Mask.String())
	}
}

func TestTranslateRewritesAndPrerequisites(t *testing.T) {
	f := udpFrame(t, 1000, 2000)
	seen := packet.FieldsOf(packet.FieldEthDst, packet.FieldIPDst)
	r := result(t, f, seen, []topology.ID{portB}, func(_ int, m *packet.Match) {
		m.SetEthSrc(macR)
		m.SetEthDst(macB)
		m.SetIPTTL(63)
		m.SetSrcPort(4000)
	})
	k := keyOf(t, f, 3)
	var tr Translator
	var out Translation
	tr.Translate(r, &k, testLocs, &out)
	if out.Userspace {
		t.Fatal("a routed UDP packet needs userspace")
	}
	if len(out.Actions) != 4 {
		t.Fatalf("actions %v", out.Actions)
	}
	eth := out.Actions[0].(datapath.SetMasked[datapath.EthernetKey])
	if eth.Value.Src != macR || eth.Value.Dst != macB || eth.Mask.Src != onesM || eth.Mask.Dst != onesM {
		t.Errorf("eth rewrite %+v", eth)
	}
	ip := out.Actions[1].(datapath.SetMasked[datapath.IPv4Key])
	if ip.Value.TTL != 63 || ip.Mask.TTL != 0xff || ip.Mask.Src != zero4 || ip.Mask.Dst != zero4 {
		t.Errorf("ipv4 rewrite %+v", ip)
	}
	udp := out.Actions[2].(datapath.SetMasked[datapath.UDPKey])
	if udp.Value.Src != 4000 || udp.Mask.Src != 0xffff || udp.Mask.Dst != 0 {
		t.Errorf("udp rewrite %+v", udp)
	}
	// Set actions need their prerequisites matched exactly.
	m := out.Mask
	if m.EtherType != 0xffff || m.IPv4.Proto != 0xff || m.IPv4.Frag != 0xff || m.IPv4.Dst != ones4 {
		t.Errorf("mask lacks prerequisites: %v", m.String())
	}
	if m.IPv4.TTL != 0 || m.UDP.Src != 0 {
		t.Errorf("mask matches rewritten fields nobody examined: %v", m.String())
	}
}

// A flood whose outputs carry different rewrites: each output gets the
// headers of its own match, and a field one output rewrote is restored
// for the next.
func TestTranslateFloodRestores(t *testing.T) {
	f := udpFrame(t, 1000, 2000)
	r := result(t, f, 0, []topology.ID{portA, portB, portC}, func(i int, m *packet.Match) {
		if i == 0 {
			m.SetEthDst(macB)
			m.SetIPSrc(src)
		}
		if i == 1 {
			m.SetIPSrc(dst)
		}
	})
	k := keyOf(t, f, 5)
	var tr Translator
	var out Translation
	tr.Translate(r, &k, testLocs, &out)
	want := []string{"eth", "ipv4", "out", "eth", "ipv4", "out", "ipv4", "tun", "out"}
	var got []string
	for _, a := range out.Actions {
		switch a := a.(type) {
		case datapath.SetMasked[datapath.EthernetKey]:
			got = append(got, "eth")
		case datapath.SetMasked[datapath.IPv4Key]:
			got = append(got, "ipv4")
			_ = a
		case datapath.Set[datapath.TunnelKey]:
			got = append(got, "tun")
		case datapath.Output:
			got = append(got, "out")
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("actions %v (%v), want %v", got, out.Actions, want)
	}
	if ip := out.Actions[6].(datapath.SetMasked[datapath.IPv4Key]); ip.Value.Src != ipA {
		t.Errorf("third output's source %v, want restored %v", ip.Value.Src, ipA)
	}
	if e := out.Actions[3].(datapath.SetMasked[datapath.EthernetKey]); e.Value.Dst != macR || e.Mask.Src != (topology.MAC{}) {
		t.Errorf("second output's eth %+v, want dst restored to %v only", e, macR)
	}
}

func TestTranslateUserspaceAndUnreachable(t *testing.T) {
	f := udpFrame(t, 1000, 2000)
	k := keyOf(t, f, 3)
	var tr Translator
	var out Translation

	r := result(t, f, 0, []topology.ID{portB, topology.NameID(topology.KindPort, "nowhere")}, nil)
	tr.Translate(r, &k, testLocs, &out)
	if out.Unreachable != 1 || len(out.Actions) != 1 {
		t.Errorf("unreachable %d, actions %v", out.Unreachable, out.Actions)
	}

	// The datapath has no action for the ICMP echo identifier.
	var m packet.Match
	m.SetEthSrc(macA)
	m.SetEthDst(macB)
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(ipA)
	m.SetIPDst(ipB)
	m.SetIPProto(packet.ProtoICMP)
	m.SetIPTTL(64)
	m.SetICMPType(packet.ICMPEchoRequest)
	m.SetICMPID(7)
	icmp, _ := packet.AppendFrame(nil, &m, nil)
	r = result(t, icmp, 0, []topology.ID{portB}, func(_ int, m *packet.Match) { m.SetICMPID(9) })
	tr.Translate(r, &k, testLocs, &out)
	if !out.Userspace || len(out.Actions) != 0 || len(out.Tags) != 0 {
		t.Errorf("ICMP id rewrite: userspace %v, actions %v, tags %v", out.Userspace, out.Actions, out.Tags)
	}
	acts, tags := tr.OutputActions(testLocs[portC], nil)
	if len(acts) != 2 || len(tags) != 1 || tags[0].Kind() != simulation.TagKindTunnelRoute {
		t.Errorf("OutputActions: %v %v", acts, tags)
	}

	// Drops translate to no actions, with a mask.
	r.Verdict = simulation.Drop
	tr.Translate(r, &k, testLocs, &out)
	if len(out.Actions) != 0 || out.Mask.Fields&datapath.KeyInPort == 0 {
		t.Errorf("drop: actions %v mask %v", out.Actions, out.Mask.String())
	}
}

// The translated actions, executed by the in-process datapath, produce
// exactly the frames packet.Apply builds from each output's match.
func TestTranslateExecutesLikeApply(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dp := inproc.New(inproc.Config{})
	defer dp.Close()
	var eps [3]*inproc.Endpoint
	for i := range eps {
		p, err := dp.CreatePort(ctx, datapath.PortSpec{Name: "p" + string(rune('0'+i)), Type: datapath.PortNetdev})
		if err != nil {
			t.Fatal(err)
		}
		if eps[i], err = dp.Endpoint(p.Number); err != nil {
			t.Fatal(err)
		}
	}
	l := locs{portA: {Local: true, DPPort: eps[1].Port()}, portB: {Local: true, DPPort: eps[2].Port()}}
	f := udpFrame(t, 1000, 2000)
	r := result(t, f, 0, []topology.ID{portA, portB}, func(i int, m *packet.Match) {
		m.SetEthSrc(macR)
		m.SetIPTTL(uint8(60 + i))
		if i == 0 {
			m.SetIPDst(dst)
			m.SetDstPort(53)
		} else {
			m.PushVLAN(packet.VLAN{TPID: packet.EtherTypeVLAN, ID: 42})
		}
	})
	k := keyOf(t, f, eps[0].Port())
	var tr Translator
	var out Translation
	tr.Translate(r, &k, l, &out)
	if out.Userspace {
		t.Fatal("userspace")
	}
	if err := dp.Execute(ctx, f, &k, out.Actions); err != nil {
		t.Fatal(err)
	}
	for i, ep := range eps[1:] {
		got, err := ep.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, err := packet.Apply(slices.Clone(f), &r.Original, &r.Outputs[i].Match)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("output %d:\n got %x\nwant %x", i, got, want)
		}
	}
}

func TestMegaflow(t *testing.T) {
	f := udpFrame(t, 1000, 2000)
	k := keyOf(t, f, 3)
	k.Fields |= datapath.KeyRecircID
	m := Megaflow(&k, 0)
	if m.Fields != datapath.KeyInPort|datapath.KeyRecircID || m.InPort != ^datapath.PortNumber(0) {
		t.Errorf("empty seen set: %v", m.String())
	}
	m = Megaflow(&k, packet.FieldsOf(packet.FieldDstPort))
	if m.Fields&datapath.KeyUDP == 0 || m.UDP.Dst != 0xffff || m.UDP.Src != 0 || m.EtherType != 0xffff || m.IPv4.Proto != 0xff || m.IPv4.Frag != 0xff {
		t.Errorf("tp_dst: %v", m.String())
	}
	// Groups the key does not carry are never masked.
	m = Megaflow(&k, packet.FieldsOf(packet.FieldARPTPA, packet.FieldICMPType, packet.FieldVLAN))
	if m.Fields&(datapath.KeyARP|datapath.KeyICMP|datapath.KeyVLAN) != 0 {
		t.Errorf("absent groups masked: %v", m.String())
	}
	if extra := m.Fields &^ k.Fields; extra != 0 {
		t.Errorf("mask has groups %#x absent from the key", extra)
	}
	// An exact mask of every field covers every group of the key.
	m = Megaflow(&k, packet.AllFields)
	if m.Fields != k.Fields || m.IPv4 != (datapath.IPv4Key{Src: ones4, Dst: ones4, Proto: 0xff, TOS: 0xff, TTL: 0xff, Frag: 0xff}) {
		t.Errorf("all fields: %v", m.String())
	}
}

// MegaflowTo writes what Megaflow returns, whatever its destination held:
// a mask reused from an earlier, wider one keeps none of it.
func TestMegaflowTo(t *testing.T) {
	f := udpFrame(t, 1000, 2000)
	k := keyOf(t, f, 3)
	for _, seen := range []packet.FieldSet{0, packet.FieldsOf(packet.FieldDstPort), packet.FieldsOf(packet.FieldEthDst, packet.FieldIPSrc), packet.AllFields} {
		m := Megaflow(&k, packet.AllFields)
		m.Unknown, m.Tunnel.ID = "junk", 7 // fields Megaflow never sets
		MegaflowTo(&m, &k, seen)
		if want := Megaflow(&k, seen); !reflect.DeepEqual(m, want) {
			t.Errorf("seen %v: MegaflowTo wrote %v, Megaflow returns %v", seen, m.String(), want.String())
		}
	}
	var d datapath.FlowKey
	if n := testing.AllocsPerRun(100, func() { MegaflowTo(&d, &k, 0) }); n != 0 {
		t.Errorf("MegaflowTo: %v allocs", n)
	}
}

// A flow from a VTEP matches the VNI and the VTEP's address besides what
// the simulation examined: the tunnel port is shared by every VTEP and
// bridge.
func TestVTEPMask(t *testing.T) {
	f := udpFrame(t, 1000, 2000)
	k := keyOf(t, f, 3)
	k.Fields |= datapath.KeyTunnel
	k.Tunnel = datapath.TunnelKey{ID: 10000, Src: netip.MustParseAddr("192.0.2.10"), Dst: netip.MustParseAddr("192.0.2.1"),
		TTL: 64, Flags: datapath.TunnelKeyPresent}
	m := VTEPMask(&k, packet.FieldsOf(packet.FieldEthDst))
	want := Megaflow(&k, packet.FieldsOf(packet.FieldEthDst))
	if m.Fields != want.Fields|datapath.KeyTunnel || m.Ethernet != want.Ethernet || m.InPort != want.InPort {
		t.Errorf("VTEPMask loses the megaflow: %v, want %v plus the tunnel", m.String(), want.String())
	}
	if m.Tunnel.ID != ^uint64(0) || m.Tunnel.Src != ones4 || m.Tunnel.Dst.IsValid() || m.Tunnel.TTL != 0 || m.Tunnel.Flags != datapath.TunnelKeyPresent {
		t.Errorf("tunnel mask %+v: want the VNI, the source and the key flag only", m.Tunnel)
	}
}

func TestFrameFromKeyRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dp := inproc.New(inproc.Config{})
	defer dp.Close()
	sock, err := dp.OpenUpcalls()
	if err != nil {
		t.Fatal(err)
	}
	p, err := dp.CreatePort(ctx, datapath.PortSpec{Name: "p", Type: datapath.PortNetdev, UpcallPIDs: []uint32{sock.PID()}})
	if err != nil {
		t.Fatal(err)
	}
	ep, _ := dp.Endpoint(p.Number)
	arp, _ := packet.AppendARPRequest(nil, packet.VLAN{}, macA, ipA, ipB)
	var tcp packet.Match
	tcp.SetEthSrc(macA)
	tcp.SetEthDst(macB)
	tcp.SetVLANs(func() packet.VLANStack {
		var s packet.VLANStack
		s.Push(packet.VLAN{TPID: packet.EtherTypeVLAN, ID: 7, PCP: 3})
		return s
	}())
	tcp.SetEtherType(packet.EtherTypeIPv4)
	tcp.SetIPSrc(ipA)
	tcp.SetIPDst(ipB)
	tcp.SetIPProto(packet.ProtoTCP)
	tcp.SetIPTTL(9)
	tcp.SetIPTOS(0x10)
	tcp.SetSrcPort(5)
	tcp.SetDstPort(6)
	tcp.SetTCPFlags(0x12)
	tcpf, _ := packet.AppendFrame(nil, &tcp, nil)
	for _, f := range [][]byte{udpFrame(t, 1, 2), arp, tcpf} {
		if err := ep.Send(f); err != nil {
			t.Fatal(err)
		}
		var u1, u2 datapath.Upcall
		if err := sock.Receive(ctx, &u1); err != nil {
			t.Fatal(err)
		}
		g, err := FrameFromKey(nil, &u1.Key)
		if err != nil {
			t.Fatal(err)
		}
		if err := ep.Send(g); err != nil {
			t.Fatal(err)
		}
		if err := sock.Receive(ctx, &u2); err != nil {
			t.Fatal(err)
		}
		if u1.Key != u2.Key {
			t.Errorf("key changed through FrameFromKey:\n %v\n %v", u1.Key.String(), u2.Key.String())
		}
	}
}

// The megaflow mask is on the per-packet path: it does not allocate.
func TestMegaflowAllocs(t *testing.T) {
	f := udpFrame(t, 1000, 2000)
	k := keyOf(t, f, 3)
	seen := packet.FieldsOf(packet.FieldEthSrc, packet.FieldEthDst, packet.FieldIPDst, packet.FieldDstPort)
	if n := testing.AllocsPerRun(100, func() { _ = Megaflow(&k, seen) }); n != 0 {
		t.Errorf("Megaflow: %v allocs", n)
	}
}

// A result that holds only up to a path MTU becomes check_pkt_len: frames
// up to MTU plus the Ethernet header take the flow's actions, longer ones
// go to the upcall socket; the in-process datapath does as the action
// says. Without an upcall socket the result is not expressible.
func TestTranslatePathMTU(t *testing.T) {
	f := udpFrame(t, 1000, 2000)
	r := result(t, f, packet.FieldsOf(packet.FieldEthDst), []topology.ID{portB}, nil)
	r.MTU = 1400
	k := keyOf(t, f, 3)
	tr := Translator{UpcallPID: 77}
	var out Translation
	tr.Translate(r, &k, testLocs, &out)
	want := "check_pkt_len(size=1414,gt(userspace(pid=77)),le(4))"
	if out.Userspace || out.Actions.String() != want {
		t.Fatalf("actions %v (userspace %v), want %s", out.Actions, out.Userspace, want)
	}
	kept := out.Actions
	tr.Translate(result(t, f, packet.FieldsOf(packet.FieldEthDst), []topology.ID{portC}, nil), &k, testLocs, &out)
	if kept.String() != want {
		t.Errorf("the next translation changed the previous check_pkt_len: %v", kept)
	}
	marked := MarkUpcall(nil, kept)
	if kept.String() != want || marked[0].(datapath.CheckPktLen).PktLen != 1414 {
		t.Errorf("MarkUpcall changed its input or lost the length: %v / %v", kept, marked)
	}

	// Drops that passed an MTU check hold only for packets that fit too.
	r.Verdict, r.Outputs = simulation.Drop, nil
	tr.Translate(r, &k, testLocs, &out)
	if got := out.Actions.String(); got != "check_pkt_len(size=1414,gt(userspace(pid=77)),le(drop))" {
		t.Errorf("drop under an MTU: %s", got)
	}

	var none Translator
	r = result(t, f, packet.FieldsOf(packet.FieldEthDst), []topology.ID{portB}, nil)
	r.MTU = 1400
	none.Translate(r, &k, testLocs, &out)
	if !out.Userspace || len(out.Actions) != 0 {
		t.Errorf("without an upcall PID: userspace %v, actions %v; want userspace and none", out.Userspace, out.Actions)
	}

	// In the in-process datapath, with the frame at the limit and over it.
	d := inproc.New(inproc.Config{})
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sock, err := d.OpenUpcalls()
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	var eps []*inproc.Endpoint
	for _, name := range []string{"p1", "p2", "p3", "p4"} {
		p, err := d.CreatePort(ctx, datapath.PortSpec{Name: name, Type: datapath.PortInternal})
		if err != nil {
			t.Fatal(err)
		}
		ep, err := d.Endpoint(p.Number)
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
	}
	acts := datapath.Actions{datapath.CheckPktLen{PktLen: uint16(len(f)), Greater: datapath.Actions{datapath.Userspace{PID: sock.PID()}},
		LessEqual: datapath.Actions{datapath.Output{Port: 4}}}}
	if err := d.Execute(ctx, f, &k, acts); err != nil {
		t.Fatal(err)
	}
	if got, err := eps[3].Receive(ctx); err != nil || !bytes.Equal(got, f) {
		t.Fatalf("frame at the limit: %v", err)
	}
	long := append(append([]byte(nil), f...), 0)
	if err := d.Execute(ctx, long, &k, acts); err != nil {
		t.Fatal(err)
	}
	var u datapath.Upcall
	if err := sock.Receive(ctx, &u); err != nil || u.Kind != datapath.UpcallAction {
		t.Fatalf("frame over the limit: upcall %v, %v", u.Kind, err)
	}
}

// BenchmarkTranslate turns a simulation's result, a packet forwarded to
// one local port having examined the Ethernet and IPv4 destinations and
// the UDP destination port, into datapath actions, tags and its megaflow
// mask: the translation every new flow goes through.
func BenchmarkTranslate(b *testing.B) {
	f := udpFrame(b, 1000, 2000)
	seen := packet.FieldsOf(packet.FieldEthDst, packet.FieldIPDst, packet.FieldDstPort)
	r := result(b, f, seen, []topology.ID{portB}, nil)
	k := keyOf(b, f, 3)
	var tr Translator
	var out Translation
	b.ReportAllocs()
	for b.Loop() {
		tr.Translate(r, &k, testLocs, &out)
	}
	if len(out.Actions) != 1 || out.Mask.Fields&datapath.KeyUDP == 0 {
		b.Fatalf("actions %v, mask %v", out.Actions, out.Mask.String())
	}
}
