package agent

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// concurrently runs every function, never more than its bound at once,
// and returns the first error only once all have returned.
func TestConcurrently(t *testing.T) {
	const n, bound = 40, 4
	var running, peak, ran atomic.Int32
	boom := errors.New("boom")
	fns := make([]func(context.Context) error, n)
	for i := range fns {
		fns[i] = func(context.Context) error {
			r := running.Add(1)
			for p := peak.Load(); r > p && !peak.CompareAndSwap(p, r); p = peak.Load() {
			}
			time.Sleep(5 * time.Millisecond) // hold the slot while others start
			running.Add(-1)
			ran.Add(1)
			if i == 7 {
				return boom
			}
			return nil
		}
	}
	err := concurrently(context.Background(), bound, fns)
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want %v", err, boom)
	}
	if ran.Load() != n {
		t.Errorf("%d functions ran before it returned, want %d", ran.Load(), n)
	}
	if p := peak.Load(); p > bound || p < 2 {
		t.Errorf("%d ran at once, want between 2 and %d", p, bound)
	}
}
