package agent

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/simulation"
)

// install registers e and puts it into the datapath for the packets of
// key (an upcall's key); it reports whether the flow is installed. f, if
// not nil, is scratch space for the datapath request (workers pass theirs,
// so that installing does not allocate it). install owns e: once added, e
// belongs to the flow table (an invalidation may remove and recycle it at
// any time), so everything the request needs is taken from e before.
func (a *Agent) install(ctx context.Context, e *flowEntry, key *datapath.FlowKey, since uint64, now time.Time, f *datapath.Flow) bool {
	e.ufid = a.flows.ufid(key)
	if f == nil {
		f = new(datapath.Flow)
	}
	acts := append(f.Actions[:0], e.actions...) // f's capacity is reused
	// Field by field: a datapath.Flow literal would be built, 1 KB, then
	// copied.
	f.UFID, f.Actions, f.Stats, f.Used, f.TCPFlags = e.ufid, acts, datapath.FlowStats{}, 0, 0
	f.Match.Key = *key
	f.Match.Mask = e.mask(key)
	if e.actions == nil {
		f.Actions = nil
	}
	class, gen := e.class, e.gen
	a.macs.ref(e.learned)
	if !a.flows.add(e, since, now) {
		a.macs.unref(e.learned)
		if e.state != nil {
			e.state.Release()
		}
		a.flows.recycle(e)
		return false
	}
	err := a.dp.PutFlow(ctx, f, datapath.PutCreate)
	clear(acts)
	f.Actions = acts[:0]
	if err != nil {
		if a.flows.drop(e, gen) {
			a.release(e)
			a.flows.recycle(e)
		}
		if !errors.Is(err, datapath.ErrExists) {
			a.log.Debug("flow install failed", "key", key.String(), "err", err)
		}
		return false
	}
	if !a.flows.live(e, gen) {
		// Invalidated (or expired) between add and PutFlow: the remover's
		// delete came first, so the flow just installed is stale.
		if _, err := a.dp.DeleteFlow(ctx, &datapath.Flow{UFID: f.UFID}); err != nil && !errors.Is(err, datapath.ErrNotFound) {
			a.log.Debug("stale flow delete failed", "ufid", f.UFID, "err", err)
		}
		return false
	}
	a.m.installedBy[class].Inc()
	a.installed.Add(1)
	return true
}

// release drops what a removed flow held.
func (a *Agent) release(e *flowEntry) {
	a.macs.unref(e.learned)
	if e.state != nil {
		e.state.Release()
		e.state = nil
	}
}

// deleteFlows removes entries (already unindexed) from the datapath, in
// batches when it is a datapath.FlowDeleter, then releases and recycles
// them.
func (a *Agent) deleteFlows(ctx context.Context, es []*flowEntry, counter prometheus.Counter) {
	if fd, ok := a.dp.(datapath.FlowDeleter); ok {
		ufids := make([]datapath.UFID, len(es))
		for i, e := range es {
			ufids[i] = e.ufid
		}
		var berr *datapath.BatchError
		if err := fd.DeleteFlows(ctx, ufids); errors.As(err, &berr) {
			for _, ie := range berr.Errs {
				if !errors.Is(ie.Err, datapath.ErrNotFound) {
					a.log.Debug("flow delete failed", "ufid", ufids[ie.Index], "err", ie.Err)
				}
			}
		} else if err != nil {
			a.log.Debug("flow delete failed", "flows", len(es), "err", err)
		}
	} else {
		// One Flow for the batch: it escapes to the datapath, and is large.
		f := new(datapath.Flow)
		for _, e := range es {
			*f = datapath.Flow{UFID: e.ufid}
			if _, err := a.dp.DeleteFlow(ctx, f); err != nil && !errors.Is(err, datapath.ErrNotFound) {
				a.log.Debug("flow delete failed", "ufid", e.ufid, "err", err)
			}
		}
	}
	for _, e := range es {
		a.release(e)
	}
	a.flows.recycleAll(es)
	counter.Add(float64(len(es)))
}

// invalidate removes every flow carrying one of tags.
func (a *Agent) invalidate(ctx context.Context, tags ...simulation.Tag) {
	if len(tags) == 0 {
		return
	}
	a.m.invalidations.Add(float64(len(tags)))
	gone := a.flows.invalidate(nil, tags...)
	if len(gone) > 0 {
		a.log.Debug("flows invalidated", "tags", len(tags), "flows", len(gone))
		a.deleteFlows(ctx, gone, a.m.removedInval)
	}
}

// Invalidate removes every installed flow carrying one of tags, as the
// agent does when the state they depend on changes.
func (a *Agent) Invalidate(ctx context.Context, tags ...simulation.Tag) { a.invalidate(ctx, tags...) }
