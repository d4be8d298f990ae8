package zookeeper

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Benchmarks against the shared standalone server (zktest.Standalone): they
// skip at once when ZooKeeper is unavailable, unless HIVENET_REQUIRE_ZK=1.

func benchHarness(b *testing.B) harness {
	connect := zktest.Standalone(b)
	return harness{servers: strings.Split(connect, ","), root: zktest.UniquePath(b), timeout: 10 * time.Second}
}

// BenchmarkZooKeeperWatchLatency measures the latency from the start of a
// Commit that updates a bridge to the moment each of N subscribers — N
// clients, each its own ZooKeeper session — holds the new state from its
// Watch.Next.
func BenchmarkZooKeeperWatchLatency(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			h := benchHarness(b)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			writer := h.client(b)
			br := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "b"), Name: "b"}
			if _, err := writer.Store().Commit(ctx, nsdb.Create(br)); err != nil {
				b.Fatal(err)
			}
			var mu sync.Mutex
			var start time.Time
			acks := make(chan time.Duration, n)
			for range n {
				c := h.client(b)
				w, err := c.Store().Watch(ctx, topology.KindBridge, br.ID)
				if err != nil {
					b.Fatal(err)
				}
				defer w.Close()
				if _, err := w.Next(ctx); err != nil {
					b.Fatal(err)
				}
				go func() {
					for {
						batch, err := w.Next(ctx)
						if err != nil {
							return
						}
						now := time.Now()
						mu.Lock()
						st := start
						mu.Unlock()
						for range batch {
							acks <- now.Sub(st)
						}
					}
				}()
			}
			lat := make([]time.Duration, 0, 1024)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				nb := *br
				nb.TunnelKey = uint32(i + 1)
				mu.Lock()
				start = time.Now()
				mu.Unlock()
				if _, err := writer.Store().Commit(ctx, nsdb.Update(&nb, nsdb.AnyVersion)); err != nil {
					b.Fatal(err)
				}
				for range n {
					select {
					case d := <-acks:
						lat = append(lat, d)
					case <-time.After(30 * time.Second):
						b.Fatal("a subscriber missed an update")
					}
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}

// BenchmarkZooKeeperCommit measures one Commit updating one object.
func BenchmarkZooKeeperCommit(b *testing.B) {
	h := benchHarness(b)
	ctx := context.Background()
	c := h.client(b)
	br := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "b"), Name: "b"}
	if _, err := c.Store().Commit(ctx, nsdb.Create(br)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		nb := *br
		nb.TunnelKey = uint32(i + 1)
		if _, err := c.Store().Commit(ctx, nsdb.Update(&nb, nsdb.AnyVersion)); err != nil {
			b.Fatal(err)
		}
	}
}

// bigTopology returns a topology of 10,000 ports: 100 bridges, each with 98
// ports bound to interfaces of 50 hosts and an uplink peered with a port of
// one router, plus a two-rule chain per bridge (10,251 objects).
func bigTopology() *topology.Topology {
	t := &topology.Topology{}
	r := topology.Router{ID: topology.NameID(topology.KindRouter, "r"), Name: "r"}
	t.Routers = append(t.Routers, r)
	for h := range 50 {
		t.Hosts = append(t.Hosts, topology.Host{ID: topology.NameID(topology.KindHost, fmt.Sprint("host-", h)), Name: fmt.Sprint("host-", h)})
	}
	for bi := range 100 {
		name := fmt.Sprint("tenant-", bi)
		c := topology.Chain{ID: topology.NameID(topology.KindChain, name), Name: name, Rules: []topology.Rule{
			{ID: topology.NameID(topology.KindInvalid, name+"-r1"), Type: topology.RuleLiteral, Action: topology.ActionAccept},
			{ID: topology.NameID(topology.KindInvalid, name+"-r2"), Type: topology.RuleLiteral, Action: topology.ActionDrop},
		}}
		br := topology.Bridge{ID: topology.NameID(topology.KindBridge, name), Name: name, InboundFilter: c.ID}
		t.Chains = append(t.Chains, c)
		t.Bridges = append(t.Bridges, br)
		rp := topology.Port{ID: topology.NameID(topology.KindPort, name+"-rp"), Router: r.ID,
			Subnets: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(bi), 0, 0}), 16)},
			Address: netip.AddrFrom4([4]byte{10, byte(bi), 0, 1}), MAC: topology.MAC{2, 0, 0, 0, 1, byte(bi)},
			Peer: topology.NameID(topology.KindPort, name+"-up")}
		up := topology.Port{ID: rp.Peer, Bridge: br.ID, Peer: rp.ID}
		t.Ports = append(t.Ports, rp, up)
		for pi := range 98 {
			pn := fmt.Sprintf("%s-p%d", name, pi)
			t.Ports = append(t.Ports, topology.Port{ID: topology.NameID(topology.KindPort, pn), Name: pn, Bridge: br.ID,
				Host: t.Hosts[(bi*98+pi)%50].ID, Interface: fmt.Sprintf("tap%d-%d", bi, pi)})
		}
	}
	return t
}

// seedBatches splits t into commits of about 1,000 objects, each valid on
// top of the previous ones: hosts, chains, routers and bridges first, then
// the ports of 9 bridges at a time (a router port and its peer stay
// together).
func seedBatches(t *topology.Topology) [][]nsdb.Op {
	var first []nsdb.Op
	for i := range t.Hosts {
		first = append(first, nsdb.Put(&t.Hosts[i]))
	}
	for i := range t.Chains {
		first = append(first, nsdb.Put(&t.Chains[i]))
	}
	for i := range t.Routers {
		first = append(first, nsdb.Put(&t.Routers[i]))
	}
	for i := range t.Bridges {
		first = append(first, nsdb.Put(&t.Bridges[i]))
	}
	batches := [][]nsdb.Op{first}
	const perBridge = 100
	for i := 0; i < len(t.Ports); i += 9 * perBridge {
		var b []nsdb.Op
		for j := i; j < min(i+9*perBridge, len(t.Ports)); j++ {
			b = append(b, nsdb.Put(&t.Ports[j]))
		}
		batches = append(batches, b)
	}
	return batches
}

var bigRoot struct {
	once sync.Once
	h    harness
	n    int
	err  error
}

// seedBig stores bigTopology once per test binary, in commits of at most
// 1,000 objects (one commit must fit in one ZooKeeper request).
func seedBig(b *testing.B) (harness, int) {
	h := benchHarness(b)
	bigRoot.once.Do(func() {
		bigRoot.h = h
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		c, err := New(ctx, Config{Servers: h.servers, Root: h.root, Logger: testLogger()})
		if err != nil {
			bigRoot.err = err
			return
		}
		defer c.Close()
		for _, batch := range seedBatches(bigTopology()) {
			bigRoot.n += len(batch)
			if _, err := c.Store().Commit(ctx, batch...); err != nil {
				bigRoot.err = err
				return
			}
		}
	})
	if bigRoot.err != nil {
		b.Fatal(bigRoot.err)
	}
	return bigRoot.h, bigRoot.n
}

// BenchmarkZooKeeperLoadTopology measures loading a 10,000-port topology
// from ZooKeeper into a topology.Snapshot (nsdb.Load, then NewSnapshot),
// with the bytes read from ZooKeeper per load.
func BenchmarkZooKeeperLoadTopology(b *testing.B) {
	h, n := seedBig(b)
	c := h.client(b)
	ctx := context.Background()
	b.ReportAllocs()
	start := c.bytesRead.Load()
	loads := 0
	for b.Loop() {
		t, err := nsdb.Load(ctx, c.Store())
		if err != nil {
			b.Fatal(err)
		}
		s := topology.NewSnapshot(t)
		if s.Len(topology.KindPort) != 10000 || t.Len() != n {
			b.Fatalf("loaded %d objects, %d ports; want %d, 10000", t.Len(), s.Len(topology.KindPort), n)
		}
		loads++
	}
	b.ReportMetric(float64(c.bytesRead.Load()-start)/float64(loads), "bytes-read")
	b.ReportMetric(float64(n), "objects")
}

// BenchmarkZooKeeperTableLookup measures Table.Lookup on a MAC table of
// 1,000 entries: the local cache, no I/O.
func BenchmarkZooKeeperTableLookup(b *testing.B) {
	h := benchHarness(b)
	ctx := context.Background()
	c := h.client(b)
	tb, err := c.Tables().MACTable(ctx, topology.NameID(topology.KindBridge, "b"), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer tb.Close()
	macs := make([]topology.MAC, 1000)
	for i := range macs {
		macs[i] = topology.MAC{2, 0, 0, 0, byte(i >> 8), byte(i)}
		if err := tb.Add(ctx, macs[i], topology.NameID(topology.KindPort, fmt.Sprint(i))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := tb.Lookup(macs[i%len(macs)]); !ok {
			b.Fatal("entry missing")
		}
	}
}

// BenchmarkZooKeeperTableAdd measures learning one MAC entry (a multi-op
// and a listing for read-your-writes).
func BenchmarkZooKeeperTableAdd(b *testing.B) {
	h := benchHarness(b)
	ctx := context.Background()
	c := h.client(b)
	tb, err := c.Tables().MACTable(ctx, topology.NameID(topology.KindBridge, "b"), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer tb.Close()
	for i := 0; b.Loop(); i++ {
		mac := topology.MAC{2, 0, 0, 0, byte(i >> 8 % 4), byte(i)}
		if err := tb.Add(ctx, mac, topology.NameID(topology.KindPort, fmt.Sprint(i))); err != nil {
			b.Fatal(err)
		}
	}
}
