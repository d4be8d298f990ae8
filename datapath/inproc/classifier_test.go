package inproc

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/topology"
)

func TestMegaflowWildcards(t *testing.T) {
	d := newDP(t, Config{})
	ctx := ctxT(t)
	frame := tcpFrame(t)
	k := keyOf(frame, 1)
	f := datapath.Flow{Match: datapath.Match{Key: k, Mask: l4Mask()}, Actions: datapath.Actions{datapath.Output{Port: 2}}}
	if err := d.PutFlow(ctx, &f, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	hit := func(mod func(*datapath.FlowKey)) bool {
		p := k
		mod(&p)
		got, _ := d.lookup(&p, 64)
		return got != nil
	}
	for _, tc := range []struct {
		name string
		mod  func(*datapath.FlowKey)
		want bool
	}{
		{"same packet", func(*datapath.FlowKey) {}, true},
		{"other source address (wildcarded)", func(p *datapath.FlowKey) { p.IPv4.Src = ipC }, true},
		{"other source port (wildcarded)", func(p *datapath.FlowKey) { p.TCP.Src = 1 }, true},
		{"other MACs (wildcarded)", func(p *datapath.FlowKey) { p.Ethernet.Dst = macC }, true},
		{"other TTL (wildcarded)", func(p *datapath.FlowKey) { p.IPv4.TTL = 1 }, true},
		{"other destination port", func(p *datapath.FlowKey) { p.TCP.Dst = 80 }, false},
		{"other destination address", func(p *datapath.FlowKey) { p.IPv4.Dst = ipC }, false},
		{"other in_port", func(p *datapath.FlowKey) { p.InPort = 3 }, false},
		{"UDP instead of TCP", func(p *datapath.FlowKey) {
			p.Fields = p.Fields&^(datapath.KeyTCP|datapath.KeyTCPFlags) | datapath.KeyUDP
			p.UDP = datapath.UDPKey{Src: p.TCP.Src, Dst: p.TCP.Dst}
			p.TCP, p.TCPFlags, p.IPv4.Proto = datapath.TCPKey{}, 0, 17
		}, false},
		{"no IPv4 header", func(p *datapath.FlowKey) {
			p.Fields &^= datapath.KeyIPv4 | datapath.KeyTCP | datapath.KeyTCPFlags
			p.IPv4, p.TCP, p.TCPFlags = datapath.IPv4Key{}, datapath.TCPKey{}, 0
		}, false},
	} {
		if got := hit(tc.mod); got != tc.want {
			t.Errorf("%s: hit = %v, want %v", tc.name, got, tc.want)
		}
	}

	// A /24 mask on the destination address.
	k2 := k
	k2.IPv4.Dst = netip.MustParseAddr("198.51.100.0")
	m2 := l4Mask()
	m2.IPv4.Dst = netip.MustParseAddr("255.255.255.0")
	m2.Fields &^= datapath.KeyTCP
	m2.TCP = datapath.TCPKey{}
	f2 := datapath.Flow{Match: datapath.Match{Key: k2, Mask: m2}}
	if err := d.PutFlow(ctx, &f2, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	if s := d.Stats(); s.Flows != 2 || s.Masks != 2 {
		t.Errorf("stats %+v, want 2 flows in 2 masks", s)
	}
	for _, tc := range []struct {
		dst  string
		port uint16
		want *datapath.Match
	}{
		{"198.51.100.77", 9, &f2.Match},
		{"198.51.100.1", 443, &f2.Match},
		{"198.51.101.1", 443, nil},
		{ipB.String(), 443, &f.Match},
	} {
		p := k
		p.IPv4.Dst = netip.MustParseAddr(tc.dst)
		p.TCP.Dst = tc.port
		got, _ := d.lookup(&p, 64)
		switch {
		case tc.want == nil && got != nil:
			t.Errorf("%s:%d matched %v", tc.dst, tc.port, got.match().Key.IPv4.Dst)
		case tc.want != nil && (got == nil || got.match().Key != tc.want.Key.Canonical()):
			t.Errorf("%s:%d: wrong flow %v", tc.dst, tc.port, got)
		}
	}
}

// randomTable fills d with up to nflows TCP megaflows spread over nmasks
// masks (IPv4 destination prefixes /13 to /32, some with the TCP
// destination port or the Ethernet destination) and returns packet keys that
// hit them.
func randomTable(tb testing.TB, d *Datapath, r *rand.Rand, nflows, nmasks int) (hits []datapath.FlowKey) {
	tb.Helper()
	masks := make([]datapath.FlowKey, nmasks)
	for i := range masks {
		m := l4Mask()
		bits := 32 - i%20
		pm := ^uint32(0) << (32 - bits)
		m.IPv4.Dst = addr4(pm)
		if i%2 == 1 {
			m.Fields &^= datapath.KeyTCP
			m.TCP = datapath.TCPKey{}
		}
		if i%3 == 0 {
			m.Fields |= datapath.KeyEthernet
			m.Ethernet.Dst = topology.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		}
		if i >= 20 {
			m.IPv4.TOS = byte(i)
		}
		masks[i] = m
	}
	flows := make([]datapath.Flow, 0, nflows)
	for i := 0; i < nflows; i++ {
		m := masks[i%nmasks]
		k := randomPacket(r)
		flows = append(flows, datapath.Flow{Match: datapath.Match{Key: k.Without(metaFields | datapath.KeyTCPFlags), Mask: m},
			Actions: datapath.Actions{datapath.Output{Port: 1}}})
	}
	// Overlapping flows are refused (EEXIST), as by the kernel.
	_ = d.PutFlows(ctxT(tb), flows, datapath.PutCreate)
	for _, f := range flows {
		k := f.Match.Key
		k.Fields |= metaFields | datapath.KeyTCPFlags
		k.TCPFlags = 0x10
		k.IPv4.Src = netip.AddrFrom4([4]byte{10, byte(r.IntN(256)), byte(r.IntN(256)), 1})
		k.TCP.Src = uint16(r.IntN(65536))
		hits = append(hits, k)
	}
	return hits
}

func randomPacket(r *rand.Rand) datapath.FlowKey {
	u := r.Uint32()
	return datapath.FlowKey{
		Fields:    metaFields | datapath.KeyInPort | datapath.KeyEthernet | datapath.KeyEtherType | datapath.KeyIPv4 | datapath.KeyTCP | datapath.KeyTCPFlags,
		InPort:    datapath.PortNumber(1 + r.IntN(8)),
		Ethernet:  datapath.EthernetKey{Src: macA, Dst: topology.MAC{2, 0, 0, 0, 0, byte(r.IntN(4))}},
		EtherType: ethIPv4,
		IPv4: datapath.IPv4Key{Src: ipA, Dst: netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}),
			Proto: protoTCP, TTL: 64},
		TCP:      datapath.TCPKey{Src: 40000, Dst: uint16(r.IntN(16))},
		TCPFlags: 0x02,
	}
}

// The classifier returns a flow exactly when some installed megaflow
// matches (datapath.Match.Matches is the reference), and the flow it
// returns does match.
func TestClassifierAgreesWithMatches(t *testing.T) {
	d := newDP(t, Config{})
	r := rand.New(rand.NewPCG(1, 2))
	hits := randomTable(t, d, r, 1500, 24)
	var all []datapath.Flow
	for f, err := range d.Flows(ctxT(t)) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, f)
	}
	if len(all) < 1000 {
		t.Fatalf("only %d flows installed", len(all))
	}
	probe := append([]datapath.FlowKey(nil), hits[:500]...)
	for i := 0; i < 1500; i++ {
		probe = append(probe, randomPacket(r))
	}
	nhit := 0
	for _, p := range probe {
		got, _ := d.lookup(&p, 1)
		any := false
		for i := range all {
			if all[i].Match.Matches(&p) {
				any = true
				break
			}
		}
		if got != nil {
			nhit++
			if m := got.match(); !m.Matches(&p) {
				t.Fatalf("lookup returned a flow that does not match %+v", p)
			}
		}
		if (got != nil) != any {
			t.Fatalf("lookup hit=%v, reference=%v for %+v", got != nil, any, p)
		}
	}
	if nhit < 400 {
		t.Errorf("only %d hits among %d probes", nhit, len(probe))
	}
	// Looked up again, packets that hit are mostly answered by the mask
	// cache at the first probe.
	before := d.Stats()
	for _, p := range probe[:500] {
		d.lookup(&p, 1)
	}
	if st := d.Stats(); st.CacheHit-before.CacheHit < 300 {
		t.Errorf("mask cache answered %d of 500 repeated lookups", st.CacheHit-before.CacheHit)
	}
	// Delete every other flow (subtables disappear, cached hints go stale)
	// and check again.
	var kept []datapath.Flow
	for i, f := range all {
		if i%2 == 0 {
			if _, err := d.DeleteFlow(ctxT(t), &f); err != nil {
				t.Fatal(err)
			}
			continue
		}
		kept = append(kept, f)
	}
	d.Rebalance()
	for _, p := range probe {
		got, _ := d.lookup(&p, 1)
		any := false
		for i := range kept {
			if kept[i].Match.Matches(&p) {
				any = true
				break
			}
		}
		if (got != nil) != any || (got != nil && !matches(got, &p)) {
			t.Fatalf("after deletions: lookup hit=%v, reference=%v", got != nil, any)
		}
	}
}

func TestMegaflowLookupAllocs(t *testing.T) {
	d := newDP(t, Config{})
	r := rand.New(rand.NewPCG(3, 4))
	hits := randomTable(t, d, r, 2000, 20)
	miss := randomPacket(r)
	miss.InPort = 99
	i := 0
	if n := testing.AllocsPerRun(1000, func() {
		d.lookup(&hits[i%len(hits)], 100)
		i++
	}); n != 0 {
		t.Errorf("lookup hit: %v allocs/op", n)
	}
	if n := testing.AllocsPerRun(1000, func() { d.lookup(&miss, 100) }); n != 0 {
		t.Errorf("lookup miss: %v allocs/op", n)
	}
	var k datapath.FlowKey
	for _, frame := range [][]byte{tcpFrame(t), tcp6Frame(t), unhex("02000000000b02000000000a 8100 0005 86dd 6000000000002c40" +
		"20010db8000000000000000000000001 20010db8000000000000000000000002 0600000100000001")} {
		if n := testing.AllocsPerRun(1000, func() {
			receiveKey(frame, 1, nil, &k)
			d.lookup(&k, len(frame))
		}); n != 0 {
			t.Errorf("extract+lookup of %x: %v allocs/op", frame, n)
		}
	}
}

// BenchmarkMegaflowLookup measures the packet-path lookup (flatten the
// key, probe the subtables, update the flow's statistics) in a table of
// 10,000 megaflows over 20 masks.
func BenchmarkMegaflowLookup(b *testing.B) {
	d := newDP(b, Config{})
	r := rand.New(rand.NewPCG(5, 6))
	hits := randomTable(b, d, r, 10000, 20)
	s := d.Stats()
	b.Logf("%d flows in %d masks", s.Flows, s.Masks)
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		before := d.Stats()
		i := 0
		for b.Loop() {
			d.lookup(&hits[i%len(hits)], 100)
			i++
		}
		after := d.Stats()
		b.ReportMetric(float64(after.MaskHit-before.MaskHit)/float64(i), "masks/lookup")
	})
	// Traffic concentrated on the last three masks: probed last in
	// installation order, first once Rebalance has sorted masks by use.
	var skewed []datapath.FlowKey
	for j := range hits {
		if j%20 >= 17 {
			skewed = append(skewed, hits[j])
		}
	}
	skewedRun := func(b *testing.B) {
		b.ReportAllocs()
		before := d.Stats()
		i := 0
		for b.Loop() {
			d.lookup(&skewed[i%len(skewed)], 100)
			i++
		}
		after := d.Stats()
		b.ReportMetric(float64(after.MaskHit-before.MaskHit)/float64(i), "masks/lookup")
	}
	b.Run("hit-skewed", skewedRun)
	d.Rebalance()
	b.Run("hit-skewed-rebalanced", skewedRun)
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		miss := randomPacket(r)
		miss.InPort = 99
		for b.Loop() {
			d.lookup(&miss, 100)
		}
	})
	b.Run("hit-nocache", func(b *testing.B) {
		d2 := newDP(b, Config{MaskCache: -1})
		hits2 := randomTable(b, d2, rand.New(rand.NewPCG(5, 6)), 10000, 20)
		b.ReportAllocs()
		before := d2.Stats()
		i := 0
		for b.Loop() {
			d2.lookup(&hits2[i%len(hits2)], 100)
			i++
		}
		after := d2.Stats()
		b.ReportMetric(float64(after.MaskHit-before.MaskHit)/float64(i), "masks/lookup")
	})
	b.Run("hit-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := rand.IntN(len(hits))
			for pb.Next() {
				d.lookup(&hits[i%len(hits)], 100)
				i++
			}
		})
	})
}

// Deleting from the open-addressing subtables (backward-shift deletion)
// keeps every remaining flow reachable and forgets deleted ones, through
// growth and across probe runs that wrap around the table.
func TestSubtableDelete(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	c := newClassifier(64) // small: stale and colliding hints are exercised
	mask := l4Mask()
	me := &maskEntry{mask: mask}
	flatten(&me.mask, &me.flat, true)
	var live []*flow
	mk := func() *flow {
		k := randomPacket(r).Without(metaFields | datapath.KeyTCPFlags)
		f := &flow{mask: me}
		f.key.set(&k)
		flatten(&k, &f.kflat, false)
		return f
	}
	for round := 0; round < 20; round++ {
		for i := 0; i < 300; i++ {
			f := mk()
			if got, _, _ := c.lookup(&f.kflat); got != nil {
				continue // same masked key drawn twice
			}
			c.insert(f)
			live = append(live, f)
		}
		r.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
		dead := live[:len(live)/2]
		for _, f := range dead {
			c.remove(f)
		}
		for _, f := range dead {
			if got, _, _ := c.lookup(&f.kflat); got != nil {
				t.Fatalf("round %d: deleted flow still found", round)
			}
		}
		live = append([]*flow(nil), live[len(live)/2:]...)
		for _, f := range live {
			if got, _, _ := c.lookup(&f.kflat); got != f {
				t.Fatalf("round %d: live flow lost (got %p)", round, got)
			}
		}
		if c.flows != len(live) {
			t.Fatalf("round %d: %d flows counted, %d live", round, c.flows, len(live))
		}
	}
	for _, f := range live {
		c.remove(f)
	}
	if len(c.subs) != 0 || len(c.byMask) != 0 {
		t.Errorf("empty classifier keeps %d subtables", len(c.subs))
	}
}

func matches(f *flow, p *datapath.FlowKey) bool {
	m := f.match()
	return m.Matches(p)
}
