package agent

import (
	"context"
	"time"
)

// housekeeping runs the timers.
func (a *Agent) housekeeping(ctx context.Context) {
	t := time.NewTicker(a.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.tick(ctx)
	}
}

func (a *Agent) tick(ctx context.Context) {
	a.ticks++
	every := max(1, uint64(time.Second/a.cfg.Tick))
	if (a.ticks-1)%every == 0 {
		a.keepDispatch(ctx)
	}
	now := a.now()
	a.expireFlows(ctx, now)
	a.macs.sweep()
	a.closeIdleTables(ctx, now)
	w := a.world.Load()
	for t, e := range a.arp.expiredOwn() {
		if tb, ok := w.arp[t.router]; ok {
			a.writes.do(func(ctx context.Context) { _ = tb.Remove(ctx, t.ip, e) })
		}
	}
	expired, resend := a.arp.tick()
	for _, p := range expired {
		a.m.drop(dropWaitTimeout)
		e := &flowEntry{seen: p.seen, class: ClassShort}
		a.install(ctx, e, &p.key, a.flows.begin(), now, nil)
	}
	for t, port := range resend {
		a.sendARPRequest(w, t, port)
	}
	if a.fs != nil {
		a.invalidate(ctx, a.fs.Expire(now)...)
	}
}

// expireFlows removes the flows whose hard timeout passed at now, a chunk
// at a time. Under constant load it does not allocate: housekeeping keeps
// its buffers, and the entries go back to the flow table for reuse.
func (a *Agent) expireFlows(ctx context.Context, now time.Time) {
	for {
		a.expired = a.flows.expire(now, a.expired[:0])
		if len(a.expired) == 0 {
			return
		}
		a.expiredIDs = a.deleteFlows(ctx, a.expired, a.expiredIDs, a.m.removedExpire)
		clear(a.expired) // recycled entries
		if len(a.expired) < expireChunk {
			return
		}
	}
}
