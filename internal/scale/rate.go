package scale

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// RatePoint is a fleet under a steady rate of changes.
type RatePoint struct {
	// Rate is the changes/s offered, Achieved the changes/s committed
	// (over the window, or until the last commit if that took longer).
	Rate     int
	Achieved float64
	Changes  int
	// Lag is the time from the start of a write until every agent applied
	// it; changes not applied 5 s after the last write count as 5 s.
	Lag Stats
	// Late is the number of changes not applied by then.
	Late int
	// Write is the commit latency alone.
	Write Stats
}

// RateCurve is a fleet's propagation lag as the change rate rises.
type RateCurve struct {
	Hosts  int
	Points []RatePoint
	// Sustainable is the highest rate whose p99 lag stayed within 1 s and
	// whose writes kept up (0 if none did).
	Sustainable int
}

// rateLimit is the p99 lag past which a rate is not sustainable.
const rateLimit = time.Second

// measureRate writes route changes to the fleet at each rate of rates in
// turn, for length each, and stops after the first rate that is not
// sustainable.
func measureRate(ctx context.Context, f *fleet, rates []int, length time.Duration) (RateCurve, error) {
	rc := RateCurve{Hosts: len(f.ags)}
	seq := 0
	for _, rate := range rates {
		pt, err := ratePoint(ctx, f, rate, length, &seq)
		if err != nil {
			return rc, err
		}
		rc.Points = append(rc.Points, pt)
		ok := pt.Lag.P99 <= rateLimit && pt.Achieved >= 0.95*float64(rate) && pt.Late == 0
		if !ok {
			break
		}
		rc.Sustainable = rate
	}
	return rc, nil
}

// ratePoint writes changes at rate for length: each replaces one of 64
// routes of r0 by a route to a new destination, from up to 64 writers.
func ratePoint(ctx context.Context, f *fleet, rate int, length time.Duration, seq *int) (RatePoint, error) {
	w := newWatcher(f.ags)
	defer w.stop()
	var (
		mu      sync.Mutex
		changes []*change
		werr    error
		wg      sync.WaitGroup
	)
	sem := make(chan struct{}, 64)
	r0, link := f.topo.Routers[0].ID, topology.NameID(topology.KindPort, "r0-b0")
	total := max(int(float64(rate)*length.Seconds()), 1)
	start := time.Now()
	for sent := 0; sent < total && ctx.Err() == nil; {
		want := min(total, int(time.Since(start).Seconds()*float64(rate))+1)
		for ; sent < want; sent++ {
			i := *seq
			*seq++
			c := &change{kind: "route", start: time.Now()}
			w.add(c)
			mu.Lock()
			changes = append(changes, c)
			mu.Unlock()
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				rt := topology.Route{ID: topology.NameID(topology.KindRoute, fmt.Sprintf("rate%d", i%64)), Router: r0,
					Dst:     netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 169, byte(i >> 8), byte(i)}), 32),
					NextHop: topology.NextHopPort, NextHopPort: link}
				v, err := f.admin.Store().Commit(ctx, nsdb.Put(&rt))
				w.written(c, v, err)
				if err != nil {
					mu.Lock()
					werr = err
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Millisecond) // pacing
	}
	wg.Wait()
	// The writes kept up if the last one ended within the window (plus
	// one interval).
	wrote := max(time.Since(start), length)
	if werr != nil {
		return RatePoint{}, fmt.Errorf("rate %d/s: %w", rate, werr)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, c := range changes {
		wctx, cancel := context.WithDeadline(ctx, deadline)
		_ = w.wait(wctx, c) // a late change counts as 5 s below
		cancel()
	}
	pt := RatePoint{Rate: rate, Changes: len(changes), Achieved: float64(len(changes)) / wrote.Seconds()}
	lags := make([]time.Duration, 0, len(changes))
	var writes []time.Duration
	w.mu.Lock()
	for _, c := range changes {
		writes = append(writes, c.written.Sub(c.start))
		if l := c.latency(); l > 0 {
			lags = append(lags, l)
		} else {
			lags = append(lags, 5*time.Second)
			pt.Late++
		}
	}
	w.mu.Unlock()
	pt.Lag, pt.Write = statsOf(lags), statsOf(writes)
	return pt, ctx.Err()
}
