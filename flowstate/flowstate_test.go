package flowstate

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/topology"
)

var dev = topology.NameID(topology.KindRouter, "r1")

func ck(i int) ConnKey {
	return ConnKey{Device: dev, SrcIP: IPv4{10, 0, byte(i >> 8), byte(i)}, DstIP: IPv4{8, 8, 8, 8},
		SrcPort: uint16(1024 + i), DstPort: 443, Proto: ProtoTCP}
}

func sampleMessage(nc, nn, ne int) *Message {
	m := &Message{Sender: topology.NameID(topology.KindHost, "a"), IngressPort: topology.NameID(topology.KindPort, "in")}
	for i := range ne {
		m.EgressPorts = append(m.EgressPorts, topology.NameID(topology.KindPort, "out"+string(rune('a'+i))))
	}
	for i := range nc {
		m.Conns = append(m.Conns, ck(i))
	}
	for i := range nn {
		m.NATs = append(m.NATs, NATEntry{Key: NATKey{ConnKey: ck(i), Type: NATKeyType(1 + i%6)},
			Binding: NATBinding{IP: IPv4{1, 2, 3, byte(i)}, Port: uint16(20000 + i)}})
	}
	return m
}

func TestKeySizesAndReverse(t *testing.T) {
	k := ck(1)
	if r := k.Reverse(); r.SrcIP != k.DstIP || r.DstPort != k.SrcPort || r.Reverse() != k {
		t.Fatalf("Reverse(%v) = %v", k, r)
	}
	var m Message
	m.Conns = []ConnKey{k}
	b, _ := m.AppendBinary(nil)
	if got := len(b) - HeaderSize; got != ConnKeySize || ConnKeySize != 29 {
		t.Fatalf("conntrack key encodes to %d bytes, want 29", got)
	}
	if NATKeySize != 30 || NATBindingSize != 6 {
		t.Fatalf("NAT key %d, binding %d", NATKeySize, NATBindingSize)
	}
	if ip, ok := IPv4From(netip.MustParseAddr("::ffff:10.1.2.3")); !ok || ip != (IPv4{10, 1, 2, 3}) {
		t.Fatalf("IPv4From mapped = %v %v", ip, ok)
	}
	if _, ok := IPv4From(netip.MustParseAddr("2001:db8::1")); ok {
		t.Fatal("IPv4From accepted an IPv6 address")
	}
}

func TestNATTargetFrom(t *testing.T) {
	a, z := netip.MustParseAddr("203.0.113.10"), netip.MustParseAddr("::ffff:203.0.113.12")
	got, ok := NATTargetFrom(topology.NATTarget{AddrStart: a, AddrEnd: z, PortStart: 1024, PortEnd: 2047})
	want := NATTarget{IPStart: IPv4{203, 0, 113, 10}, IPEnd: IPv4{203, 0, 113, 12}, PortStart: 1024, PortEnd: 2047}
	if !ok || got != want {
		t.Fatalf("NATTargetFrom = %+v %v, want %+v true", got, ok, want)
	}
	for _, bad := range []topology.NATTarget{
		{AddrStart: netip.MustParseAddr("2001:db8::1"), AddrEnd: z},
		{AddrStart: a, AddrEnd: netip.MustParseAddr("2001:db8::1")},
		{AddrStart: a},
	} {
		if _, ok := NATTargetFrom(bad); ok {
			t.Errorf("NATTargetFrom(%v-%v) accepted a target that is not IPv4", bad.AddrStart, bad.AddrEnd)
		}
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, c := range []struct{ nc, nn, ne int }{{0, 0, 0}, {1, 0, 1}, {3, 6, 2}, {40, 0, 0}} {
		m := sampleMessage(c.nc, c.nn, c.ne)
		b, err := m.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != m.Size() {
			t.Fatalf("encoded %d bytes, Size says %d", len(b), m.Size())
		}
		var got Message
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		normalize(m)
		normalize(&got)
		if !reflect.DeepEqual(m, &got) {
			t.Fatalf("round trip %+v:\n got %+v\nwant %+v", c, got, *m)
		}
	}
}

func normalize(m *Message) {
	if len(m.EgressPorts) == 0 {
		m.EgressPorts = nil
	}
	if len(m.Conns) == 0 {
		m.Conns = nil
	}
	if len(m.NATs) == 0 {
		m.NATs = nil
	}
}

func TestAppendPartsSplitsToMTU(t *testing.T) {
	m := sampleMessage(300, 200, 3)
	var parts [][]byte
	buf := make([]byte, 0, MaxPayload)
	err := m.AppendParts(buf, 0, func(p []byte) error {
		if len(p) > MaxPayload {
			t.Fatalf("part of %d bytes exceeds %d", len(p), MaxPayload)
		}
		parts = append(parts, bytes.Clone(p))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 2 {
		t.Fatalf("%d keys produced %d part(s)", 500, len(parts))
	}
	var all Message
	for _, p := range parts {
		var part Message
		if err := part.UnmarshalBinary(p); err != nil {
			t.Fatal(err)
		}
		if part.Sender != m.Sender || part.IngressPort != m.IngressPort || !reflect.DeepEqual(part.EgressPorts, m.EgressPorts) {
			t.Fatal("a part lacks the sender or port IDs")
		}
		all.Conns = append(all.Conns, part.Conns...)
		all.NATs = append(all.NATs, part.NATs...)
	}
	if !reflect.DeepEqual(all.Conns, m.Conns) || !reflect.DeepEqual(all.NATs, m.NATs) {
		t.Fatal("parts do not reassemble to the original keys")
	}
	// An empty message still produces one part, so port ownership is pushed.
	n := 0
	if err := (&Message{Sender: m.Sender}).AppendParts(nil, 0, func([]byte) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("empty message: %d parts, %v", n, err)
	}
	// Too many egress ports to leave room for a single key is an error.
	big := sampleMessage(1, 0, 0)
	big.EgressPorts = make([]topology.ID, 90)
	if err := big.AppendParts(nil, 0, func([]byte) error { return nil }); !errors.Is(err, ErrPortsTooMany) {
		t.Fatalf("90 egress ports: %v", err)
	}
}

func TestUnmarshalRejectsMalformed(t *testing.T) {
	good, _ := sampleMessage(2, 2, 1).AppendBinary(nil)
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := map[string]struct {
		b    []byte
		want error
	}{
		"empty":      {nil, ErrShortMessage},
		"short":      {good[:HeaderSize-1], ErrShortMessage},
		"truncated":  {good[:len(good)-1], ErrShortMessage},
		"trailing":   {append(bytes.Clone(good), 0), ErrBadMessage},
		"magic":      {mut(func(b []byte) []byte { b[0] = 'X'; return b }), ErrBadMagic},
		"version":    {mut(func(b []byte) []byte { b[4] = 2; return b }), ErrBadVersion},
		"flags":      {mut(func(b []byte) []byte { b[5] = 1; return b }), ErrBadMessage},
		"nat type 0": {mut(func(b []byte) []byte { b[HeaderSize+16+2*ConnKeySize] = 0; return b }), ErrBadMessage},
		"nat type 7": {mut(func(b []byte) []byte { b[HeaderSize+16+2*ConnKeySize] = 7; return b }), ErrBadMessage},
	}
	for name, c := range cases {
		m := sampleMessage(1, 1, 1) // pre-filled: a failed decode must leave it empty
		err := m.UnmarshalBinary(c.b)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
		if len(m.Conns)+len(m.NATs)+len(m.EgressPorts) != 0 || !m.Sender.IsZero() {
			t.Errorf("%s: failed decode left data in the message", name)
		}
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestTableRefCountingAndIdleExpiry(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	tab := NewConnTable(TableConfig{Now: clk.Now})
	k := ck(7)
	if !tab.Add(k, struct{}{}) || tab.Add(k, struct{}{}) {
		t.Fatal("Add should report new only the first time")
	}
	if tab.Refs(k) != 2 {
		t.Fatalf("refs = %d, want 2", tab.Refs(k))
	}
	tab.Unref(k)
	clk.Advance(time.Hour)
	if n := tab.Expire(nil); n != 0 || !tab.Contains(k) {
		t.Fatal("a referenced key expired")
	}
	tab.Unref(k)
	clk.Advance(DefaultIdleTimeout - time.Second)
	if tab.Expire(nil) != 0 {
		t.Fatal("key expired before its idle timeout")
	}
	// A new reference during the idle period cancels expiry.
	tab.Ref(k)
	clk.Advance(time.Hour)
	if tab.Expire(nil) != 0 {
		t.Fatal("re-referenced key expired")
	}
	tab.Unref(k)
	clk.Advance(DefaultIdleTimeout)
	var gone []ConnKey
	if n := tab.Expire(func(k ConnKey, _ struct{}) { gone = append(gone, k) }); n != 1 || len(gone) != 1 || gone[0] != k {
		t.Fatalf("expire removed %d (%v), want the key", n, gone)
	}
	if tab.Unref(k) || tab.Ref(k) {
		t.Fatal("Ref/Unref on an absent key reported success")
	}
}

func TestImportIdlesAtOnce(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	conns := NewConnTable(TableConfig{Now: clk.Now})
	nats := NewNATTable(TableConfig{Now: clk.Now})
	m := sampleMessage(3, 2, 1)
	var seenC, seenN int
	m.Import(conns, nats, func(ConnKey) { seenC++ }, func(NATKey) { seenN++ })
	if conns.Len() != 3 || nats.Len() != 2 || seenC != 3 || seenN != 2 {
		t.Fatalf("imported %d/%d, callbacks %d/%d", conns.Len(), nats.Len(), seenC, seenN)
	}
	if b, ok := nats.Get(m.NATs[1].Key); !ok || b != m.NATs[1].Binding {
		t.Fatalf("NAT binding = %v %v", b, ok)
	}
	conns.Ref(m.Conns[0]) // a local flow starts using one imported key
	clk.Advance(DefaultIdleTimeout)
	if n := conns.Expire(nil); n != 2 || !conns.Contains(m.Conns[0]) {
		t.Fatalf("expired %d, want the 2 unreferenced imports", n)
	}
}

func TestTableConcurrentReadersAndWriters(t *testing.T) {
	tab := NewConnTable(TableConfig{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := ck(w*2000 + i)
				tab.Add(k, struct{}{})
				if !tab.Contains(k) {
					t.Errorf("key %v missing after Add", k)
					return
				}
				tab.Unref(k)
			}
		}()
	}
	wg.Wait()
	if tab.Len() != 8000 {
		t.Fatalf("len = %d, want 8000", tab.Len())
	}
}

func TestHotPathsDoNotAllocate(t *testing.T) {
	tab := NewConnTable(TableConfig{})
	k := ck(1)
	tab.Add(k, struct{}{})
	m := sampleMessage(10, 10, 2)
	buf := make([]byte, 0, 4096)
	enc, _ := m.AppendBinary(nil)
	var dec Message
	_ = dec.UnmarshalBinary(enc) // warm the slices
	for name, f := range map[string]func(){
		"lookup": func() { tab.Contains(k) },
		"encode": func() { _, _ = m.AppendBinary(buf[:0]) },
		"decode": func() { _ = dec.UnmarshalBinary(enc) },
		"parts":  func() { _ = m.AppendParts(buf, 0, func([]byte) error { return nil }) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocs/op, want 0", name, n)
		}
	}
}

func TestConntrackMemoryPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a million entries; skipped with -short")
	}
	const n = 1 << 20
	bytesPer := measureConntrack(n)
	t.Logf("1M conntrack entries: %.1f bytes/entry, %.1f MB total", bytesPer, bytesPer*n/1e6)
	if bytesPer*n > 256<<20 {
		t.Fatalf("1M entries take %.0f MB, budget is 256 MB", bytesPer*n/1e6)
	}
}

func measureConntrack(n int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tab := NewConnTable(TableConfig{})
	r := rand.New(rand.NewPCG(1, 2))
	for range n {
		tab.Add(ConnKey{Device: dev, SrcIP: IPv4{10, byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())},
			DstIP: IPv4{8, 8, byte(r.Uint32()), 8}, SrcPort: uint16(r.Uint32()), DstPort: 443, Proto: ProtoTCP}, struct{}{})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(tab)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(tab.Len())
}

func FuzzDecodeMessage(f *testing.F) {
	for _, m := range []*Message{sampleMessage(0, 0, 0), sampleMessage(2, 3, 1), sampleMessage(1, 1, 4)} {
		b, _ := m.AppendBinary(nil)
		f.Add(b)
	}
	f.Add([]byte("HVFS"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := m.UnmarshalBinary(b); err != nil {
			if len(m.Conns)+len(m.NATs)+len(m.EgressPorts) != 0 {
				t.Fatal("failed decode left data behind")
			}
			return
		}
		// Whatever decodes re-encodes to the same bytes.
		again, err := m.AppendBinary(nil)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encode differs: %v", err)
		}
	})
}

func BenchmarkConntrackLookup(b *testing.B) {
	tab := NewConnTable(TableConfig{})
	keys := make([]ConnKey, 1<<16)
	for i := range keys {
		keys[i] = ck(i)
		tab.Add(keys[i], struct{}{})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if !tab.Contains(keys[i&(len(keys)-1)]) {
			b.Fatal("missing key")
		}
	}
}

func BenchmarkConntrackLookupParallel(b *testing.B) {
	tab := NewConnTable(TableConfig{})
	keys := make([]ConnKey, 1<<16)
	for i := range keys {
		keys[i] = ck(i)
		tab.Add(keys[i], struct{}{})
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			tab.Contains(keys[i&(len(keys)-1)])
			i++
		}
	})
}

func BenchmarkFlowStateEncode(b *testing.B) {
	m := sampleMessage(8, 8, 2)
	buf := make([]byte, 0, MaxPayload)
	b.ReportAllocs()
	b.SetBytes(int64(m.Size()))
	for b.Loop() {
		buf, _ = m.AppendBinary(buf[:0])
	}
}

func BenchmarkFlowStateDecode(b *testing.B) {
	enc, _ := sampleMessage(8, 8, 2).AppendBinary(nil)
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if err := m.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConntrackMemory(b *testing.B) {
	for b.Loop() {
		b.ReportMetric(measureConntrack(1<<20), "bytes/entry")
	}
}

// TestEncodedSize splits messages laid end to end, and refuses a cut one.
func TestEncodedSize(t *testing.T) {
	a, _ := sampleMessage(2, 3, 1).AppendBinary(nil)
	b, _ := sampleMessage(1, 0, 0).AppendBinary(nil)
	both := append(append([]byte(nil), a...), b...)
	if n, err := EncodedSize(both); err != nil || n != len(a) {
		t.Fatalf("EncodedSize of two messages = %d, %v; want the first's %d", n, err, len(a))
	}
	if n, err := EncodedSize(both[len(a):]); err != nil || n != len(b) {
		t.Fatalf("EncodedSize of the second = %d, %v; want %d", n, err, len(b))
	}
	if _, err := EncodedSize(a[:len(a)-1]); !errors.Is(err, ErrShortMessage) {
		t.Errorf("a cut message: %v, want ErrShortMessage", err)
	}
	if _, err := EncodedSize([]byte("not a flow-state message at all, but long enough")); !errors.Is(err, ErrBadMagic) {
		t.Errorf("not a message: %v, want ErrBadMagic", err)
	}
}

// FuzzEncodedSize: EncodedSize never panics, and a size it returns is
// within the input and at least a header.
func FuzzEncodedSize(f *testing.F) {
	b, _ := sampleMessage(2, 3, 1).AppendBinary(nil)
	f.Add(b)
	f.Add(b[:HeaderSize])
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := EncodedSize(data)
		if err == nil && (n < HeaderSize || n > len(data)) {
			t.Fatalf("size %d for %d bytes", n, len(data))
		}
	})
}
