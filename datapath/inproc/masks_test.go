package inproc

import (
	"sync"
	"testing"
	"unsafe"

	"github.com/hivenet/hivenet/datapath"
)

func maskWithPort(p datapath.PortNumber) datapath.FlowKey {
	m := datapath.FlowKey{Fields: datapath.KeyInPort | datapath.KeyEthernet, InPort: p}
	m.Canonicalize()
	return m
}

func TestMaskCacheSharesEqualMasks(t *testing.T) {
	var c maskCache
	a1, a2 := maskWithPort(1), maskWithPort(1)
	e := c.intern(&a1)
	if c.intern(&a2) != e {
		t.Fatal("an equal mask got an entry of its own")
	}
	b := maskWithPort(2)
	if eb := c.intern(&b); eb == e || eb.mask != b {
		t.Fatal("a different mask got the first mask's entry")
	}
	var flat flatKey
	flatten(&a1, &flat, true)
	if e.mask != a1 || e.flat != flat {
		t.Fatal("the entry does not hold the mask and its flattened form")
	}
	if n := testing.AllocsPerRun(100, func() { c.intern(&a2) }); n != 0 {
		t.Fatalf("interning a recent mask allocates %v times", n)
	}
}

// TestMaskCacheEvicts: past recentMasks distinct masks the oldest is
// forgotten, and interning it again gives a new entry equal by content.
func TestMaskCacheEvicts(t *testing.T) {
	var c maskCache
	first := maskWithPort(100)
	e := c.intern(&first)
	for p := range recentMasks {
		m := maskWithPort(datapath.PortNumber(p))
		c.intern(&m)
	}
	again := c.intern(&first)
	if again == e {
		t.Fatal("the oldest mask was not evicted")
	}
	if again.mask != e.mask || again.flat != e.flat {
		t.Fatal("the new entry differs from the evicted one")
	}
}

func TestMaskCacheConcurrent(t *testing.T) {
	var c maskCache
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				m := maskWithPort(datapath.PortNumber((i + w) % (2 * recentMasks)))
				if e := c.intern(&m); e.mask != m {
					t.Errorf("interned %v, got %v", m.InPort, e.mask.InPort)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestFlowsShareMasks: flows of one shape installed one after another
// point to one mask entry, and a flow is smaller than a key and a mask.
func TestFlowsShareMasks(t *testing.T) {
	if size := unsafe.Sizeof(flow{}); size > 576 {
		t.Errorf("a flow is %d bytes: its key or its mask stored whole again?", size)
	}
	d := New(Config{})
	defer d.Close()
	mask := maskWithPort(0xffffffff)
	mask.Ethernet.Dst = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	for i := range 10 {
		k := datapath.FlowKey{Fields: datapath.KeyInPort | datapath.KeyEthernet, InPort: 0}
		k.Ethernet.Dst = [6]byte{2, 0, 0, 0, 0, byte(i + 1)}
		if err := d.PutFlow(t.Context(), &datapath.Flow{UFID: datapath.UFID{byte(i + 1)}, Match: datapath.Match{Key: k, Mask: mask}}, datapath.PutCreate); err != nil {
			t.Fatal(err)
		}
	}
	d.flowMu.RLock()
	defer d.flowMu.RUnlock()
	var shared *maskEntry
	for _, f := range d.byUFID.All() {
		if shared == nil {
			shared = f.mask
		}
		if f.mask != shared {
			t.Fatal("flows of one mask hold different entries")
		}
	}
	if shared == nil || d.byUFID.Len() != 10 {
		t.Fatalf("%d flows installed, want 10", d.byUFID.Len())
	}
}
