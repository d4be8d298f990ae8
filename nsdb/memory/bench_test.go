package memory_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
)

func macTable(tb testing.TB, c *memory.Client) nsdb.Table[topology.MAC, topology.ID] {
	t, err := c.Tables().MACTable(context.Background(), topology.NameID(topology.KindBridge, "b"), 0)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func fillMACs(tb testing.TB, t nsdb.Table[topology.MAC, topology.ID], n int) []topology.MAC {
	macs := make([]topology.MAC, n)
	for i := range macs {
		macs[i] = topology.MAC{2, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)}
		if err := t.Add(context.Background(), macs[i], topology.NameID(topology.KindPort, fmt.Sprint(i))); err != nil {
			tb.Fatal(err)
		}
	}
	return macs
}

// The simulator reads tables on its hot path: Lookup must not allocate.
func TestLookupDoesNotAllocate(t *testing.T) {
	c := memory.NewServer(memory.Config{}).NewClient()
	defer c.Close()
	tb := macTable(t, c)
	macs := fillMACs(t, tb, 64)
	var view nsdb.TableView[topology.MAC, topology.ID] = tb
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		if _, ok := view.Lookup(macs[i%len(macs)]); !ok {
			t.Fatal("missing entry")
		}
		i++
	})
	if allocs != 0 {
		t.Fatalf("Lookup allocates %.1f times per call", allocs)
	}
}

func BenchmarkTableLookup(b *testing.B) {
	c := memory.NewServer(memory.Config{}).NewClient()
	defer c.Close()
	tb := macTable(b, c)
	macs := fillMACs(b, tb, 4096)
	var view nsdb.TableView[topology.MAC, topology.ID] = tb
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			view.Lookup(macs[i&4095])
			i++
		}
	})
}

func BenchmarkTableAdd(b *testing.B) {
	c := memory.NewServer(memory.Config{}).NewClient()
	defer c.Close()
	tb := macTable(b, c)
	ctx := context.Background()
	port := topology.NameID(topology.KindPort, "p")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := tb.Add(ctx, topology.MAC{2, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)}, port); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCommitUpdate(b *testing.B) {
	for _, ports := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("ports=%d", ports), func(b *testing.B) {
			c := memory.NewServer(memory.Config{}).NewClient()
			defer c.Close()
			ctx := context.Background()
			br := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "b"), Name: "b"}
			ops := []nsdb.Op{nsdb.Create(br)}
			var last *topology.Port
			for i := range ports {
				last = &topology.Port{ID: topology.NameID(topology.KindPort, fmt.Sprint(i)), Name: fmt.Sprint(i), Bridge: br.ID}
				ops = append(ops, nsdb.Create(last))
			}
			if _, err := c.Store().Commit(ctx, ops...); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				last.AdminDown = i%2 == 0
				if _, err := c.Store().Commit(ctx, nsdb.Update(last, nsdb.AnyVersion)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWatchFanout measures the latency from the start of a commit to
// the moment each of N watchers, in its own goroutine, holds the event.
func BenchmarkWatchFanout(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("watchers=%d", n), func(b *testing.B) {
			srv := memory.NewServer(memory.Config{})
			writer := srv.NewClient()
			defer writer.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			br := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "b"), Name: "b"}
			if _, err := writer.Store().Commit(ctx, nsdb.Create(br)); err != nil {
				b.Fatal(err)
			}
			startc := make(chan []time.Time, 1)
			acks := make(chan time.Duration, n)
			for range n {
				c := srv.NewClient()
				defer c.Close()
				w, err := c.Store().Watch(ctx, topology.KindBridge, br.ID)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := w.Next(ctx); err != nil {
					b.Fatal(err)
				}
				go func() {
					var st []time.Time
					for {
						batch, err := w.Next(ctx)
						if err != nil {
							return
						}
						now := time.Now()
						if st == nil {
							st = <-startc
							startc <- st
						}
						for _, e := range batch {
							i := int(e.Object.(*topology.Bridge).TunnelKey) - 1
							acks <- now.Sub(st[i])
						}
					}
				}()
			}
			// The start times are pre-sized so that watchers index them
			// without locks: the writer waits for every ack before the
			// next commit.
			all := make([]time.Time, b.N)
			startc <- all
			lat := make([]time.Duration, 0, b.N*n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				nb := *br
				nb.TunnelKey = uint32(i + 1)
				all[i] = time.Now()
				if _, err := writer.Store().Commit(ctx, nsdb.Update(&nb, nsdb.AnyVersion)); err != nil {
					b.Fatal(err)
				}
				for range n {
					lat = append(lat, <-acks)
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}

func BenchmarkTableLookupSerial(b *testing.B) {
	c := memory.NewServer(memory.Config{}).NewClient()
	defer c.Close()
	tb := macTable(b, c)
	macs := fillMACs(b, tb, 4096)
	var view nsdb.TableView[topology.MAC, topology.ID] = tb
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		view.Lookup(macs[i&4095])
	}
}

// BenchmarkCommitCreate measures one commit creating a bridge, 10 hosts and
// n ports bound to them: validation must stay linear in the commit's size
// (per-object cost flat from 1,000 to 10,000).
func BenchmarkCommitCreate(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("ports=%d", n), func(b *testing.B) {
			br := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "b"), Name: "b"}
			ops := []nsdb.Op{nsdb.Create(br)}
			var hosts []topology.ID
			for h := range 10 {
				host := &topology.Host{ID: topology.NameID(topology.KindHost, fmt.Sprint("h", h)), Name: fmt.Sprint("h", h)}
				hosts = append(hosts, host.ID)
				ops = append(ops, nsdb.Create(host))
			}
			for i := range n {
				name := fmt.Sprint("p", i)
				ops = append(ops, nsdb.Create(&topology.Port{ID: topology.NameID(topology.KindPort, name), Name: name,
					Bridge: br.ID, Host: hosts[i%len(hosts)], Interface: "tap-" + name}))
			}
			ctx := context.Background()
			for b.Loop() {
				c := memory.NewServer(memory.Config{}).NewClient()
				if _, err := c.Store().Commit(ctx, ops...); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(ops)), "ns/object")
		})
	}
}

// BenchmarkCommitDeleteCascade measures one commit deleting a bridge whose n
// ports cascade with it: linear in n as well.
func BenchmarkCommitDeleteCascade(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("ports=%d", n), func(b *testing.B) {
			br := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "b"), Name: "b"}
			ops := []nsdb.Op{nsdb.Create(br)}
			for i := range n {
				name := fmt.Sprint("p", i)
				ops = append(ops, nsdb.Create(&topology.Port{ID: topology.NameID(topology.KindPort, name), Name: name, Bridge: br.ID}))
			}
			ctx := context.Background()
			for b.Loop() {
				b.StopTimer()
				c := memory.NewServer(memory.Config{}).NewClient()
				if _, err := c.Store().Commit(ctx, ops...); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := c.Store().Commit(ctx, nsdb.Delete(topology.KindBridge, br.ID, nsdb.AnyVersion)); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if got, _ := c.Store().List(ctx, topology.KindPort); len(got) != 0 {
					b.Fatalf("%d ports left after the cascade", len(got))
				}
				c.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/port")
		})
	}
}
