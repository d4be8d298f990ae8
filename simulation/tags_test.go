package simulation

import (
	"slices"
	"testing"
	"unsafe"

	"github.com/hivenet/hivenet/topology"
)

func TestTags(t *testing.T) {
	b, p, r := bid("br"), pid("p"), rid("r")
	m := mac(mac1)
	tags := []Tag{
		TagDevice(b), TagPortRx(p), TagPortTx(p), TagDPPort(7), TagTunnelKey(0x123456),
		TagTunnelRoute(ip("192.0.2.1"), ip("192.0.2.2")), TagBridgePort(b, p), TagBroadcast(b),
		TagARPRequests(b), TagFloodedTo(b, 5, m), TagBridgeMAC(b, m, 5, p), TagRoute(r),
		TagRouterDst(r, ip("10.0.0.1")), TagARPEntry(r, ip("10.0.0.2")),
		TagConntrack(ip("10.0.0.1"), 1000, ip("10.0.0.2"), 80, 6, r),
		TagNAT(3, ip("10.0.0.1"), 1000, ip("10.0.0.2"), 80, 6, r),
		TagFlowStateDevice(p), TagMeter(r), TagTunnelSource(ip("192.0.2.1")), TagTunnelSource(ip("2001:db8::1")),
	}
	seen := map[Tag]bool{}
	for _, tg := range tags {
		if seen[tg] {
			t.Errorf("duplicate tag %v", tg)
		}
		seen[tg] = true
		if tg.String() == "" || tg.Kind().String() == "" {
			t.Errorf("tag %#v has no text", tg)
		}
	}
	again := TagBridgeMAC(bid("br"), mac(mac1), 5, pid("p"))
	if again != TagBridgeMAC(b, m, 5, p) || again == TagBridgeMAC(b, m, 6, p) {
		t.Error("tag equality")
	}
	tg := TagBridgeMAC(b, m, 5, p)
	if tg.ID() != b || tg.Port() != p || tg.MAC() != m || tg.VLAN() != 5 {
		t.Errorf("bridge-mac accessors: %v", tg)
	}
	if TagDevice(p).Port() != (topology.ID{}) {
		t.Error("device tag has a port")
	}
	ct := TagConntrack(ip("10.0.0.1"), 1000, ip("10.0.0.2"), 80, 6, r)
	sp, dp, proto := ct.L4()
	if ct.Addr() != ip("10.0.0.1") || ct.DstAddr() != ip("10.0.0.2") || sp != 1000 || dp != 80 || proto != 6 || !ct.FlowState() {
		t.Errorf("conntrack accessors: %v", ct)
	}
	if got := ct.String(); got != "conntrack:10.0.0.1:1000->10.0.0.2:80,proto=6,"+r.String() {
		t.Errorf("String = %q", got)
	}
	if got := TagRouterDst(r, ip("10.0.0.1")).String(); got != "router-dst:"+r.String()+",10.0.0.1" {
		t.Errorf("String = %q", got)
	}
	if TagNAT(3, ip("1.1.1.1"), 1, ip("2.2.2.2"), 2, 17, r).NATType() != 3 || TagDPPort(7).Number() != 7 {
		t.Error("NAT type / number")
	}
	if TagDevice(b).FlowState() || TagRouterDst(r, ip("10.0.0.1")).Addr() != ip("10.0.0.1") {
		t.Error("flow-state / addr")
	}
	for _, a := range []string{"192.0.2.1", "2001:db8::1"} {
		if ts := TagTunnelSource(ip(a)); ts.Addr() != ip(a) || ts.String() != "tunnel-source:"+a {
			t.Errorf("tunnel-source tag of %s: %v, %v", a, ts.Addr(), ts)
		}
	}
	if TagTunnelSource(ip("192.0.2.1")) == TagTunnelSource(ip("192.0.2.2")) {
		t.Error("tunnel-source tags of different addresses are equal")
	}
	if n := unsafe.Sizeof(Tag{}); n > 48 {
		t.Errorf("Tag is %d bytes", n)
	}
}

// tagAdder is a Stateful that adds a conntrack and a NAT tag to every flow
// that leaves an exterior port.
type tagAdder struct{ fakeNAT }

func (s *tagAdder) Emit(f *Flow, p *topology.Port) error {
	f.AddConntrackTag(ip("10.0.1.11"), 40000, ip("10.0.2.12"), 443, 6, p.ID)
	f.AddNATTag(2, ip("10.0.1.11"), 40000, ip("10.0.2.12"), 443, 6, p.ID)
	return nil
}

// The engine writes every byte of each tag it appends: a Result reused
// after a simulation that left other tags in its buffer gets the same tags
// as a new one, for each way of building a tag (device, port, bridge-MAC,
// bridge-port, flooded-to, route, router-dst, ARP-entry, conntrack, NAT).
func TestTagsOverwriteReusedResult(t *testing.T) {
	routed, _ := benchL3(t)
	routed.Stateful = &tagAdder{}
	flooded, _ := benchL2(t)
	flooded.Frame = build(t, fr{src: mac1, dst: "02:00:00:00:00:99", ipSrc: "10.0.0.1", ipDst: "10.0.0.2", sport: 40000, dport: 53})
	var junk Tag
	for i := range unsafe.Sizeof(junk) {
		*(*byte)(unsafe.Add(unsafe.Pointer(&junk), i)) = 0xa5
	}
	want := [][]TagKind{
		{TagKindDevice, TagKindPortRx, TagKindPortTx, TagKindBridgeMAC, TagKindBridgePort, TagKindRoute,
			TagKindRouterDst, TagKindARPEntry, TagKindConntrack, TagKindNAT},
		{TagKindFloodedTo, TagKindBroadcast},
	}
	e := New(Config{})
	for n, in := range []*Input{routed, flooded} {
		var fresh Result
		if err := e.Simulate(in, &fresh); err != nil {
			t.Fatal(err)
		}
		kinds := map[TagKind]bool{}
		for _, tg := range fresh.Tags {
			kinds[tg.Kind()] = true
		}
		reused := Result{Tags: make([]Tag, 64)}
		for i := range reused.Tags {
			reused.Tags[i] = junk
		}
		if err := e.Simulate(in, &reused); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(fresh.Tags, reused.Tags) {
			t.Errorf("tags differ on a reused Result:\n fresh  %v\n reused %v", fresh.Tags, reused.Tags)
		}
		for _, k := range want[n] {
			if !kinds[k] {
				t.Errorf("input %d: no %v tag among %v", n, k, fresh.Tags)
			}
		}
	}
}
