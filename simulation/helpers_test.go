package simulation

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// tnet builds small topologies for tests. Objects are named; IDs derive
// from the names.
type tnet struct {
	t       testing.TB
	bridges []*topology.Bridge
	routers []*topology.Router
	ports   []*topology.Port
	chains  []*topology.Chain
	routes  []*topology.Route
	groups  []*topology.PortGroup
	ipgs    []*topology.IPAddrGroup
	st      *MapState
	host    topology.ID
	cfg     Config
	stf     Stateful
	snap    *topology.Snapshot
}

func newNet(t testing.TB) *tnet {
	return &tnet{t: t, st: NewMapState(), host: topology.NameID(topology.KindHost, "host1")}
}

func id(k topology.Kind, name string) topology.ID { return topology.NameID(k, name) }
func pid(name string) topology.ID                 { return id(topology.KindPort, name) }
func bid(name string) topology.ID                 { return id(topology.KindBridge, name) }
func rid(name string) topology.ID                 { return id(topology.KindRouter, name) }
func cid(name string) topology.ID                 { return id(topology.KindChain, name) }

func mac(s string) topology.MAC    { return topology.MustParseMAC(s) }
func ip(s string) netip.Addr       { return netip.MustParseAddr(s) }
func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func (n *tnet) dirty() *tnet       { n.snap = nil; return n }
func (n *tnet) state() *MapState   { return n.st }
func (n *tnet) port(name string) *topology.Port {
	for _, p := range n.ports {
		if p.Name == name {
			return p
		}
	}
	n.t.Fatalf("no port %q", name)
	return nil
}

func (n *tnet) bridge(name string) *topology.Bridge {
	b := &topology.Bridge{ID: bid(name), Name: name}
	n.bridges = append(n.bridges, b)
	n.dirty()
	return b
}

func (n *tnet) router(name string) *topology.Router {
	r := &topology.Router{ID: rid(name), Name: name}
	n.routers = append(n.routers, r)
	n.dirty()
	return r
}

// vm adds an exterior bridge port bound to an interface and active.
func (n *tnet) vm(bridge, name string) *topology.Port {
	p := &topology.Port{ID: pid(name), Name: name, Bridge: bid(bridge), Host: n.host, Interface: "tap-" + name}
	n.ports = append(n.ports, p)
	n.st.SetActive(p.ID, true)
	n.dirty()
	return p
}

// bport adds an unplugged bridge port (link it with n.link).
func (n *tnet) bport(bridge, name string) *topology.Port {
	p := &topology.Port{ID: pid(name), Name: name, Bridge: bid(bridge)}
	n.ports = append(n.ports, p)
	n.dirty()
	return p
}

// rport adds a router port with address addr ("10.0.0.1/24") and mac.
func (n *tnet) rport(router, name, addr, m string) *topology.Port {
	pf := prefix(addr)
	p := &topology.Port{ID: pid(name), Name: name, Router: rid(router), Address: pf.Addr(),
		Subnets: []netip.Prefix{pf.Masked()}, MAC: mac(m)}
	n.ports = append(n.ports, p)
	n.dirty()
	return p
}

// uplink makes a router port exterior (bound) and active.
func (n *tnet) bind(p *topology.Port) *topology.Port {
	p.Host, p.Interface = n.host, "if-"+p.Name
	n.st.SetActive(p.ID, true)
	n.dirty()
	return p
}

func (n *tnet) link(a, b *topology.Port) {
	a.Peer, b.Peer = b.ID, a.ID
	n.dirty()
}

func (n *tnet) route(router, name string, dst string, port string, gw string) *topology.Route {
	r := &topology.Route{ID: id(topology.KindRoute, name), Router: rid(router), Dst: prefix(dst),
		NextHop: topology.NextHopPort, NextHopPort: pid(port)}
	if gw != "" {
		r.Gateway = ip(gw)
	}
	n.routes = append(n.routes, r)
	n.dirty()
	return r
}

func (n *tnet) chain(name string, rules ...topology.Rule) *topology.Chain {
	c := &topology.Chain{ID: cid(name), Name: name, Rules: rules}
	n.chains = append(n.chains, c)
	n.dirty()
	return c
}

func (n *tnet) snapshot() *topology.Snapshot {
	if n.snap != nil {
		return n.snap
	}
	var t topology.Topology
	for _, b := range n.bridges {
		t.Add(b)
	}
	for _, r := range n.routers {
		t.Add(r)
	}
	for _, p := range n.ports {
		t.Add(p)
	}
	for _, c := range n.chains {
		t.Add(c)
	}
	for _, r := range n.routes {
		t.Add(r)
	}
	for _, g := range n.groups {
		t.Add(g)
	}
	for _, g := range n.ipgs {
		t.Add(g)
	}
	n.snap = topology.NewSnapshot(&t)
	return n.snap
}

// sim simulates frame entering port in.
func (n *tnet) sim(in string, frame []byte) *Result {
	n.t.Helper()
	return n.simInput(&Input{InPort: pid(in), Frame: frame})
}

func (n *tnet) simInput(in *Input) *Result {
	n.t.Helper()
	in.Snapshot = n.snapshot()
	if in.State == nil {
		in.State = n.st
	}
	if in.Stateful == nil {
		in.Stateful = n.stf
	}
	in.Trace = true
	var r Result
	if err := New(n.cfg).Simulate(in, &r); err != nil {
		n.t.Fatalf("Simulate: %v", err)
	}
	if testing.Verbose() {
		n.t.Logf("trace:\n%s", r.Trace)
	}
	return &r
}

// frame builds a frame from fields.
type fr struct {
	src, dst string
	vlans    []uint16
	et       uint16
	ipSrc    string
	ipDst    string
	proto    uint8
	ttl      uint8
	sport    uint16
	dport    uint16
	icmpType uint8
	icmpCode uint8
	icmpID   uint16
	frag     packet.Frag
	payload  []byte
	arpOp    uint16
	inner    packet.Inner
	sha, tha string
	spa, tpa string
}

func build(t testing.TB, f fr) []byte {
	t.Helper()
	var m packet.Match
	m.SetEthSrc(mac(f.src))
	m.SetEthDst(mac(f.dst))
	// Push puts each tag outermost: push innermost first.
	var st packet.VLANStack
	for i := len(f.vlans) - 1; i >= 0; i-- {
		st.Push(packet.VLAN{TPID: packet.EtherTypeVLAN, ID: f.vlans[i]})
	}
	m.SetVLANs(st)
	et := f.et
	if et == 0 {
		et = packet.EtherTypeIPv4
	}
	m.SetEtherType(et)
	switch et {
	case packet.EtherTypeIPv4:
		m.SetIPSrc(ip(f.ipSrc))
		m.SetIPDst(ip(f.ipDst))
		proto := f.proto
		if proto == 0 {
			proto = packet.ProtoUDP
		}
		m.SetIPProto(proto)
		ttl := f.ttl
		if ttl == 0 {
			ttl = 64
		}
		m.SetIPTTL(ttl)
		m.SetIPFrag(f.frag)
		m.SetSrcPort(f.sport)
		m.SetDstPort(f.dport)
		m.SetICMPType(f.icmpType)
		m.SetICMPCode(f.icmpCode)
		m.SetICMPID(f.icmpID)
		if f.inner.Valid() {
			m.SetICMPData(f.inner)
		}
	case packet.EtherTypeIPv6:
		m.SetIPSrc(ip(f.ipSrc))
		m.SetIPDst(ip(f.ipDst))
		m.SetIPProto(packet.ProtoUDP)
		m.SetIPTTL(64)
		m.SetSrcPort(f.sport)
		m.SetDstPort(f.dport)
	case packet.EtherTypeARP:
		m.SetARPOp(f.arpOp)
		m.SetARPSHA(mac(f.sha))
		if f.tha != "" {
			m.SetARPTHA(mac(f.tha))
		}
		m.SetARPSPA(ip(f.spa))
		m.SetARPTPA(ip(f.tpa))
	}
	b, err := packet.AppendFrame(nil, &m, f.payload)
	if err != nil {
		t.Fatalf("AppendFrame: %v", err)
	}
	return b
}

func udp(t testing.TB, src, dst, ipSrc, ipDst string) []byte {
	return build(t, fr{src: src, dst: dst, ipSrc: ipSrc, ipDst: ipDst, sport: 5000, dport: 53})
}

func echo(t testing.TB, src, dst, ipSrc, ipDst string) []byte {
	return build(t, fr{src: src, dst: dst, ipSrc: ipSrc, ipDst: ipDst, proto: packet.ProtoICMP,
		icmpType: packet.ICMPEchoRequest, icmpID: 77, payload: []byte("ping data")})
}

func arpReq(t testing.TB, sha, spa, tpa string) []byte {
	t.Helper()
	b, err := packet.AppendARPRequest(nil, packet.VLAN{}, mac(sha), ip(spa), ip(tpa))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t testing.TB, b []byte) *packet.View {
	t.Helper()
	var m packet.Match
	if err := m.Parse(b); err != nil {
		t.Fatalf("parse generated frame: %v", err)
	}
	return m.Peek()
}

// checks

func wantVerdict(t testing.TB, r *Result, v Verdict, reason DropReason) {
	t.Helper()
	if r.Verdict != v || r.Reason != reason {
		t.Fatalf("verdict = %v (%v), want %v (%v)\n%s", r.Verdict, r.Reason, v, reason, r.Trace)
	}
}

func wantOut(t testing.TB, r *Result, ports ...string) {
	t.Helper()
	got := r.OutPorts(nil)
	if len(got) != len(ports) {
		t.Fatalf("outputs = %v, want %v\n%s", names(got), ports, r.Trace)
	}
	for _, p := range ports {
		found := false
		for _, g := range got {
			if g == pid(p) {
				found = true
			}
		}
		if !found {
			t.Fatalf("outputs = %d ports, missing %s\n%s", len(got), p, r.Trace)
		}
	}
}

func names(ids []topology.ID) []string {
	var s []string
	for _, i := range ids {
		s = append(s, i.String())
	}
	return s
}

func wantTags(t testing.TB, r *Result, tags ...Tag) {
	t.Helper()
	for _, tg := range tags {
		if !r.HasTag(tg) {
			t.Errorf("missing tag %v\n%s", tg, r.Trace)
		}
	}
}

func wantNoTag(t testing.TB, r *Result, tags ...Tag) {
	t.Helper()
	for _, tg := range tags {
		if r.HasTag(tg) {
			t.Errorf("unexpected tag %v", tg)
		}
	}
}

// changed returns the fields output i rewrites.
func changed(r *Result, i int) packet.FieldSet {
	return packet.Changed(&r.Original, &r.Outputs[i].Match)
}

func wantGenerated(t testing.TB, r *Result, n int) {
	t.Helper()
	if len(r.Generated) != n {
		t.Fatalf("%d generated packets, want %d\n%s", len(r.Generated), n, r.Trace)
	}
}

// wantICMP checks a generated ICMP error.
func wantICMP(t testing.TB, g GeneratedPacket, port string, typ, code uint8, src, dst string) *packet.View {
	t.Helper()
	if g.Port != pid(port) {
		t.Errorf("ICMP sent out of %v, want %s", g.Port, port)
	}
	v := parse(t, g.Frame)
	if v.EtherType() != packet.EtherTypeIPv4 || v.IPProto() != packet.ProtoICMP {
		t.Fatalf("generated packet is not ICMP: %s", describe(v))
	}
	if v.ICMPType() != typ || v.ICMPCode() != code {
		t.Errorf("ICMP %d/%d, want %d/%d", v.ICMPType(), v.ICMPCode(), typ, code)
	}
	if v.IPSrc() != ip(src) || v.IPDst() != ip(dst) {
		t.Errorf("ICMP %s -> %s, want %s -> %s", v.IPSrc(), v.IPDst(), src, dst)
	}
	return v
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
