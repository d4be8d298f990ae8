package localstore

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/storetest"
	"github.com/hivenet/hivenet/topology"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) flowstate.Store {
		// Small blocks, so that the cases span several.
		return open(t, Config{Dir: t.TempDir(), BlockSize: MinBlockSize, BlocksPerPort: 64})
	})
}

func open(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_700_000_000, 0)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var (
	testHost   = topology.NameID(topology.KindHost, "host-a")
	testRouter = topology.NameID(topology.KindRouter, "edge")
)

// conn returns a one-connection message for port: 1 conntrack key and 2
// NAT entries, all derived from i.
func conn(port topology.ID, i int) *flowstate.Message {
	return storetest.Message(testHost, port, nil, testRouter, i, 1)
}

func saveN(t testing.TB, s *Store, port topology.ID, first, n int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		if err := s.Save(context.Background(), conn(port, i)); err != nil {
			t.Fatal(err)
		}
	}
}

// loaded returns the connection numbers Load delivers for port (from the
// conntrack keys' source addresses).
func loaded(t *testing.T, s *Store, port topology.ID) map[int]bool {
	t.Helper()
	got := map[int]bool{}
	err := s.Load(context.Background(), port, func(m *flowstate.Message) error {
		for _, k := range m.Conns {
			got[int(k.SrcIP[1])<<16|int(k.SrcIP[2])<<8|int(k.SrcIP[3])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return got
}

// perBlock is how many one-connection messages fill a block.
func perBlock(bs int) int {
	size := conn(topology.ID{}, 0).Size()
	return (bs - HeaderSize) / (RecordHeaderSize + size)
}

func wantRange(t *testing.T, got map[int]bool, first, n int, what string) {
	t.Helper()
	for i := first; i < first+n; i++ {
		if !got[i] {
			t.Fatalf("%s: connection %d (of %d-%d) not loaded; %d loaded", what, i, first, first+n-1, len(got))
		}
	}
}

func TestReopenContinuesTheRing(t *testing.T) {
	dir := t.TempDir()
	port := storetest.Port(t, "vm")
	pb := perBlock(MinBlockSize)
	s1, err := Open(Config{Dir: dir, BlockSize: MinBlockSize, BlocksPerPort: 8})
	if err != nil {
		t.Fatal(err)
	}
	saveN(t, s1, port, 0, pb+pb/2) // a block and a half
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	// A new process: it reads what the first wrote, and its own records
	// go after them instead of over them.
	s2 := open(t, Config{Dir: dir, BlockSize: MinBlockSize, BlocksPerPort: 8})
	got := loaded(t, s2, port)
	wantRange(t, got, 0, pb+pb/2, "after reopening")
	saveN(t, s2, port, 10_000, 2*pb)
	got = loaded(t, s2, port)
	wantRange(t, got, 0, pb+pb/2, "the first run's records after the second run's writes")
	wantRange(t, got, 10_000, 2*pb, "the second run's records")
	if st := s2.Stats(); st.Corrupt != 0 || st.Overwritten != 0 {
		t.Errorf("stats %+v: want nothing corrupt or overwritten", st)
	}
}

func TestTruncatedFile(t *testing.T) {
	dir := t.TempDir()
	port := storetest.Port(t, "vm")
	pb := perBlock(MinBlockSize)
	s := open(t, Config{Dir: dir, BlockSize: MinBlockSize, BlocksPerPort: 16, FlushInterval: -1})
	saveN(t, s, port, 0, 5*pb) // five full blocks
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, cut := range []struct {
		name   string
		size   int64
		intact int // whole blocks left
	}{
		{"mid-block", 3*MinBlockSize + MinBlockSize/2, 3},
		{"mid-header", 2*MinBlockSize + 20, 2},
		{"at a block boundary", 2 * MinBlockSize, 2},
		{"empty", 0, 0},
	} {
		t.Run(cut.name, func(t *testing.T) {
			d := t.TempDir()
			copyFile(t, s.path(port), d)
			path := d + "/" + port.String() + fileSuffix
			if err := os.Truncate(path, cut.size); err != nil {
				t.Fatal(err)
			}
			r := open(t, Config{Dir: d, BlockSize: MinBlockSize, BlocksPerPort: 16})
			got := loaded(t, r, port)
			wantRange(t, got, 0, cut.intact*pb, "intact blocks")
			if len(got) != cut.intact*pb {
				t.Errorf("loaded %d connections from %d intact blocks of %d", len(got), cut.intact, pb)
			}
			wantCorrupt := uint64(0)
			if cut.size%MinBlockSize != 0 {
				wantCorrupt = 1
			}
			if st := r.Stats(); st.Corrupt != wantCorrupt {
				t.Errorf("%d blocks counted corrupt, want %d", st.Corrupt, wantCorrupt)
			}
		})
	}
}

func copyFile(t *testing.T, src, dir string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/"+baseName(src), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

func TestFlippedBits(t *testing.T) {
	dir := t.TempDir()
	port := storetest.Port(t, "vm")
	pb := perBlock(MinBlockSize)
	s := open(t, Config{Dir: dir, BlockSize: MinBlockSize, BlocksPerPort: 16, FlushInterval: -1})
	saveN(t, s, port, 0, 4*pb)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(s.path(port))
	if err != nil {
		t.Fatal(err)
	}
	for _, flip := range []struct {
		name string
		off  int
	}{
		{"in a header's magic", 1*MinBlockSize + 1},
		{"in a header's sequence number", 1*MinBlockSize + 25},
		{"in a header's checksum", 1*MinBlockSize + 61},
		{"in a record's length", 1*MinBlockSize + HeaderSize},
		{"in a record's message", 1*MinBlockSize + HeaderSize + RecordHeaderSize + 50},
		{"in the last record", 2*MinBlockSize - 300},
	} {
		t.Run(flip.name, func(t *testing.T) {
			d := t.TempDir()
			b := append([]byte(nil), orig...)
			b[flip.off] ^= 0x10
			if err := os.WriteFile(d+"/"+baseName(s.path(port)), b, 0o600); err != nil {
				t.Fatal(err)
			}
			r := open(t, Config{Dir: d, BlockSize: MinBlockSize, BlocksPerPort: 16})
			got := loaded(t, r, port)
			// Block 1 is skipped whole; blocks 0, 2 and 3 are intact.
			wantRange(t, got, 0, pb, "block 0")
			wantRange(t, got, 2*pb, 2*pb, "blocks 2 and 3")
			for i := pb; i < 2*pb; i++ {
				if got[i] {
					t.Fatalf("connection %d of the corrupted block was delivered", i)
				}
			}
			if st := r.Stats(); st.Corrupt != 1 {
				t.Errorf("%d blocks counted corrupt, want 1", st.Corrupt)
			}
		})
	}
}

func TestFullRing(t *testing.T) {
	clk := newClock()
	port := storetest.Port(t, "busy")
	pb := perBlock(MinBlockSize)
	s := open(t, Config{Dir: t.TempDir(), BlockSize: MinBlockSize, BlocksPerPort: 4, Now: clk.Now})
	saveN(t, s, port, 0, 6*pb) // six blocks' worth in a ring of four
	st := s.Stats()
	if st.Overwritten != 2 {
		t.Errorf("%d live blocks overwritten, want 2", st.Overwritten)
	}
	got := loaded(t, s, port)
	// The newest four blocks survive: the last of them is the one being
	// filled.
	wantRange(t, got, 2*pb, 4*pb, "the newest blocks")
	for i := range 2 * pb {
		if got[i] {
			t.Fatalf("connection %d of an overwritten block was delivered", i)
		}
	}
	if s.Stats().Corrupt != 0 {
		t.Errorf("%d blocks counted corrupt after wrapping", s.Stats().Corrupt)
	}
}

func TestPortWithoutFile(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	saveN(t, s, storetest.Port(t, "other"), 0, 10)
	calls := 0
	err := s.Load(context.Background(), storetest.Port(t, "none"), func(*flowstate.Message) error { calls++; return nil })
	if err != nil || calls != 0 {
		t.Fatalf("Load of a port without a file: %d messages, %v; want none and no error", calls, err)
	}
}

func TestWholeBlockExpiry(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	port := storetest.Port(t, "vm")
	pb := perBlock(MinBlockSize)
	cfg := Config{Dir: dir, BlockSize: MinBlockSize, BlocksPerPort: 8, Retention: 2 * time.Minute, Now: clk.Now, ExpireInterval: -1}
	s := open(t, cfg)
	saveN(t, s, port, 0, pb) // block 0, full, at t0
	clk.Advance(time.Minute)
	saveN(t, s, port, 1000, 3) // block 1, at t0+1m
	clk.Advance(90 * time.Second)
	// t0+2m30: block 0 expired; block 1 is live.
	got := loaded(t, s, port)
	if got[0] || got[pb-1] {
		t.Error("an expired block was delivered")
	}
	wantRange(t, got, 1000, 3, "the live block")
	if n, err := s.Expire(); err != nil || n != 0 {
		t.Errorf("Expire with a live block: %d files removed, %v", n, err)
	}
	clk.Advance(time.Minute)
	if got := loaded(t, s, port); len(got) != 0 {
		t.Errorf("%d connections delivered after every block expired", len(got))
	}
	if n, err := s.Expire(); err != nil || n != 1 {
		t.Fatalf("Expire: %d files removed, %v; want 1", n, err)
	}
	if _, err := os.Stat(s.path(port)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the expired port's file is still there: %v", err)
	}
	// The port is usable again.
	saveN(t, s, port, 2000, 2)
	wantRange(t, loaded(t, s, port), 2000, 2, "after expiry")
}

func TestExpireRemovesAnEarlierRunsFiles(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	port := storetest.Port(t, "vm")
	cfg := Config{Dir: dir, BlockSize: MinBlockSize, Now: clk.Now, ExpireInterval: -1}
	s1, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	saveN(t, s1, port, 0, 5)
	s1.Close()
	s2 := open(t, cfg)
	if n, _ := s2.Expire(); n != 0 {
		t.Fatalf("Expire removed %d live files of the earlier run", n)
	}
	clk.Advance(3 * time.Minute)
	if n, err := s2.Expire(); err != nil || n != 1 {
		t.Fatalf("Expire: %d files removed, %v; want the earlier run's expired file", n, err)
	}
}

func TestBlockOfAnotherPort(t *testing.T) {
	dir := t.TempDir()
	a, b := storetest.Port(t, "a"), storetest.Port(t, "b")
	s := open(t, Config{Dir: dir, BlockSize: MinBlockSize})
	saveN(t, s, a, 0, 5)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.path(a))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.path(b), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := loaded(t, s, b); len(got) != 0 {
		t.Errorf("port b delivered %d connections from a copy of a's file", len(got))
	}
	if s.Stats().Corrupt != 1 {
		t.Errorf("%d blocks counted corrupt, want 1", s.Stats().Corrupt)
	}
}

func TestFlushWritesForAnotherReader(t *testing.T) {
	dir := t.TempDir()
	port := storetest.Port(t, "vm")
	w := open(t, Config{Dir: dir, BlockSize: MinBlockSize, FlushInterval: -1})
	saveN(t, w, port, 0, 3)
	// A second process (an agent taking over) reads only what the first
	// wrote out.
	r := open(t, Config{Dir: dir, BlockSize: MinBlockSize, FlushInterval: -1})
	if got := loaded(t, r, port); len(got) != 0 {
		t.Fatalf("the reader saw %d connections before the writer flushed", len(got))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	wantRange(t, loaded(t, r, port), 0, 3, "after Flush")
}

func TestSaveDoesNotAllocate(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir(), FlushInterval: -1})
	port := storetest.Port(t, "vm")
	m := storetest.Message(testHost, port, []topology.ID{storetest.Port(t, "uplink")}, testRouter, 0, 1)
	ctx := context.Background()
	for range 100 {
		_ = s.Save(ctx, m)
	}
	_ = s.Flush()
	if n := testing.AllocsPerRun(1000, func() { _ = s.Save(ctx, m) }); n != 0 {
		t.Errorf("Save allocates %.1f times per message, want 0", n)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Dir: t.TempDir(), BlockSize: 100},
		{Dir: t.TempDir(), BlocksPerPort: 1},
	} {
		if _, err := Open(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("Open(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
	s := open(t, Config{Dir: t.TempDir()})
	s.Close()
	if err := s.Save(context.Background(), conn(storetest.Port(t, "p"), 0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Save after Close = %v, want ErrClosed", err)
	}
}
