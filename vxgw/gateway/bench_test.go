package gateway_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw/ovsdb"
	"github.com/hivenet/hivenet/vxgw/ovsdb/vtep"
)

// Propagation benchmarks: a gateway on the memory NSDB and a real
// ovsdb-server over a unix socket, both in this process's machine. Each
// iteration times one change from the moment it is written on one side to
// the moment the other side's change notification arrives (an OVSDB
// monitor, an NSDB table watch), and the benchmarks report the 50th and
// 99th percentiles.

// rowWatcher signals every update of a monitor.
type rowWatcher struct {
	mon     *ovsdb.Monitor
	updates chan struct{}
}

func watchRows(b *testing.B, endpoint string, table string) *rowWatcher {
	w := &rowWatcher{updates: make(chan struct{}, 1)}
	c, err := ovsdb.Dial(context.Background(), ovsdb.Config{Endpoint: endpoint})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	w.mon, err = c.Monitor(context.Background(), vtep.Database, map[string]ovsdb.MonitorRequest{table: {}}, func(ovsdb.Updates) {
		select {
		case w.updates <- struct{}{}:
		default:
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// waitRows waits until the table has n rows.
func (w *rowWatcher) waitRows(b *testing.B, table string, n int) {
	deadline := time.After(5 * time.Minute)
	for w.mon.Len(table) != n {
		select {
		case <-w.updates:
		case <-deadline:
			b.Fatalf("%s has %d rows, want %d", table, w.mon.Len(table), n)
		}
	}
}

func reportPercentiles(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	q := func(p float64) float64 { return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) }
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(0, "ns/op") // the percentiles are the result
}

// benchEnv is a bound bridge with its switch on the VTEP, on an NSDB
// backend.
func benchEnv(b *testing.B, be backend) *env {
	e := newEnvOn(b, be.newClient)
	e.gateway("node-1", e.newClient(b))
	e.bind("eth0", 0, "net1")
	until(b, "net1's switch", func() (bool, string) { _, ok := e.view().switches[swName("net1")]; return ok, "" })
	return e
}

// BenchmarkNSDBToOVSDB: a MAC an agent learns (a MAC table entry) until
// its Ucast_Macs_Remote row shows on the VTEP, and its removal until the
// row goes; one sample each.
func BenchmarkNSDBToOVSDB(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) { benchNSDBToOVSDB(b, be) })
	}
}

func benchNSDBToOVSDB(b *testing.B, be backend) {
	e := benchEnv(b, be)
	w := watchRows(b, e.endpoint, vtep.TableUcastMacsRemote)
	macs, err := e.newClient(b).Tables().MACTable(context.Background(), id(topology.KindBridge, "net1"), 0)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var ds []time.Duration
	b.ResetTimer()
	for i := range b.N {
		mac := topology.MAC{2, 0, 0, 1, byte(i >> 8), byte(i)}
		start := time.Now()
		if err := macs.Add(ctx, mac, id(topology.KindPort, "vm1")); err != nil {
			b.Fatal(err)
		}
		w.waitRows(b, vtep.TableUcastMacsRemote, 1)
		ds = append(ds, time.Since(start))
		start = time.Now()
		if err := macs.Remove(ctx, mac, id(topology.KindPort, "vm1")); err != nil {
			b.Fatal(err)
		}
		w.waitRows(b, vtep.TableUcastMacsRemote, 0)
		ds = append(ds, time.Since(start))
	}
	reportPercentiles(b, ds)
}

// BenchmarkOVSDBToNSDB: a MAC the VTEP learns (a Ucast_Macs_Local row)
// until the bridge's MAC table watch delivers it, and the row's removal
// until the entry goes.
func BenchmarkOVSDBToNSDB(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) { benchOVSDBToNSDB(b, be) })
	}
}

func benchOVSDBToNSDB(b *testing.B, be backend) {
	e := benchEnv(b, be)
	ctx := context.Background()
	watch, err := e.macTable("net1").Watch(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer watch.Close()
	if _, err := watch.Next(ctx); err != nil {
		b.Fatal(err)
	}
	wait := func(mac topology.MAC, deleted bool) {
		for {
			evs, err := watch.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for _, ev := range evs {
				if ev.Key == mac && ev.Deleted == deleted {
					return
				}
			}
		}
	}
	var ds []time.Duration
	b.ResetTimer()
	for i := range b.N {
		mac := topology.MAC{2, 0, 0, 2, byte(i >> 8), byte(i)}
		start := time.Now()
		row := e.addLocal(swName("net1"), mac.String(), netip.Addr{})
		wait(mac, false)
		ds = append(ds, time.Since(start))
		start = time.Now()
		e.deleteRow(vtep.TableUcastMacsLocal, row)
		wait(mac, true)
		ds = append(ds, time.Since(start))
	}
	reportPercentiles(b, ds)
}

// BenchmarkInitialSync10k: a bridge whose MAC table holds 10,000 MACs
// (with an address each) is bound; the time until the VTEP has all 10,000
// Ucast_Macs_Remote rows.
func BenchmarkInitialSync10k(b *testing.B) {
	const n = 10000
	for range b.N {
		b.StopTimer()
		e := newEnv(b)
		ctx := context.Background()
		agent := e.newClient(b)
		macs, err := agent.Tables().MACTable(ctx, id(topology.KindBridge, "net1"), 0)
		if err != nil {
			b.Fatal(err)
		}
		ips, err := agent.Tables().IP4MACTable(ctx, id(topology.KindBridge, "net1"))
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			mac := topology.MAC{2, 0, 0, 3, byte(i >> 8), byte(i)}
			if err := macs.Add(ctx, mac, id(topology.KindPort, []string{"vm1", "vm2"}[i%2])); err != nil {
				b.Fatal(err)
			}
			if err := ips.Add(ctx, netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), mac); err != nil {
				b.Fatal(err)
			}
		}
		w := watchRows(b, e.endpoint, vtep.TableUcastMacsRemote)
		e.gateway("node-1", e.newClient(b))
		b.StartTimer()
		start := time.Now()
		e.bind("eth0", 0, "net1")
		w.waitRows(b, vtep.TableUcastMacsRemote, n)
		b.ReportMetric(time.Since(start).Seconds(), "s/sync")
		distinct := map[string]bool{}
		for u, r := range w.mon.Table(vtep.TableUcastMacsRemote) {
			if m, err := vtep.ParseUcastMac(u, r); err == nil {
				distinct[m.MAC.String()] = true
			}
		}
		if len(distinct) != n {
			b.Fatalf("%d distinct remote MACs, want %d", len(distinct), n)
		}
		b.StopTimer()
	}
	b.ReportMetric(0, "ns/op")
}
