package agent

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/simulation"
)

// request is scratch space for installing one flow: the datapath request,
// and the capacity of its actions (a drop flow's request has nil ones).
type request struct {
	f    datapath.Flow
	acts datapath.Actions
}

// install registers e and puts it into the datapath for the packets of
// key (an upcall's key); it reports whether the flow is installed. rq, if
// not nil, is scratch space for the datapath request (workers pass theirs,
// so that installing does not allocate it). install owns e: once added, e
// belongs to the flow table (an invalidation may remove and recycle it at
// any time), so everything the request needs is taken from e before.
func (a *Agent) install(ctx context.Context, e *flowEntry, key *datapath.FlowKey, since uint64, now time.Time, rq *request) bool {
	if rq == nil {
		rq = new(request)
	}
	class, gen, ok := a.register(e, key, since, now, &rq.f, &rq.acts)
	if !ok {
		return false
	}
	err := a.dp.PutFlow(ctx, &rq.f, datapath.PutCreate)
	done := a.complete(ctx, class, e, gen, &rq.f, err)
	emptyRequest(&rq.f, &rq.acts)
	return done
}

// register is the first half of install: it fills the request f with e's
// flow for key (its actions in acts, whose capacity is reused) and adds e
// to the flow table, returning what complete needs once the datapath
// answered. If it reports false, e is recycled and there is nothing to
// install (f still holds the flow's actions).
func (a *Agent) register(e *flowEntry, key *datapath.FlowKey, since uint64, now time.Time, f *datapath.Flow, buf *datapath.Actions) (FlowClass, uint32, bool) {
	class, gen := a.request(e, key, now, f, buf)
	if !a.flows.insert(e, since) {
		a.abandon(e)
		return 0, 0, false
	}
	return class, gen, true
}

// request is register but for adding e to the flow table (see
// flowTable.insert and addAll): it fills f and prepares e, and returns
// e's class and generation.
func (a *Agent) request(e *flowEntry, key *datapath.FlowKey, now time.Time, f *datapath.Flow, buf *datapath.Actions) (FlowClass, uint32) {
	e.ufid = a.flows.ufid(key)
	*buf = append((*buf)[:0], e.actions...)
	acts := *buf
	// Field by field: a datapath.Flow literal would be built, 1 KB, then
	// copied.
	f.UFID, f.Actions, f.Stats, f.Used, f.TCPFlags = e.ufid, acts, datapath.FlowStats{}, 0, 0
	f.Match.Key = *key
	e.maskTo(&f.Match.Mask, key)
	if e.actions == nil {
		f.Actions = nil
	}
	a.macs.ref(e.learned)
	a.flows.prepare(e, now)
	return e.class, e.gen
}

// abandon undoes request for an entry the flow table refused (a flow
// with its key exists, or a tag it read was invalidated), and recycles
// it.
func (a *Agent) abandon(e *flowEntry) {
	a.macs.unref(e.learned)
	if e.state != nil {
		e.state.Release()
	}
	a.flows.recycle(e)
}

// complete is the second half of install: the datapath answered err to
// the request f for e, added at generation gen. It reports whether the
// flow is installed.
func (a *Agent) complete(ctx context.Context, class FlowClass, e *flowEntry, gen uint32, f *datapath.Flow, err error) bool {
	return a.completeLive(ctx, class, e, gen, f, err, err == nil && a.flows.live(e, gen))
}

// completeLive is complete knowing live: whether e, at generation gen,
// was still installed once the datapath answered (a batch checks its
// flows together, flowTable.liveAll).
func (a *Agent) completeLive(ctx context.Context, class FlowClass, e *flowEntry, gen uint32, f *datapath.Flow, err error, live bool) bool {
	if err != nil {
		if a.flows.drop(e, gen) {
			a.release(e)
			a.flows.recycle(e)
		}
		if !errors.Is(err, datapath.ErrExists) {
			a.log.Debug("flow install failed", "key", f.Match.Key.String(), "err", err)
		}
		return false
	}
	if !live {
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

// emptyRequest drops what a request's actions point to, keeping their
// capacity in buf.
func emptyRequest(f *datapath.Flow, buf *datapath.Actions) {
	clear(*buf)
	*buf, f.Actions = (*buf)[:0], nil
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
// them. The batch's UFIDs are appended to ufids[:0], which is returned:
// housekeeping passes the same buffer on every tick, so that expiring
// flows does not allocate.
func (a *Agent) deleteFlows(ctx context.Context, es []*flowEntry, ufids []datapath.UFID, counter prometheus.Counter) []datapath.UFID {
	ufids = ufids[:0]
	if fd, ok := a.dp.(datapath.FlowDeleter); ok {
		for _, e := range es {
			ufids = append(ufids, e.ufid)
		}
		if err := fd.DeleteFlows(ctx, ufids); err != nil {
			a.logDeleteErrors(err, ufids)
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
	return ufids
}

// logDeleteErrors logs what a DeleteFlows of ufids answered, but the
// flows that were already gone. It is apart from deleteFlows so that the
// error's target (which escapes to errors.As) is allocated only on error.
func (a *Agent) logDeleteErrors(err error, ufids []datapath.UFID) {
	var berr *datapath.BatchError
	if !errors.As(err, &berr) {
		a.log.Debug("flow delete failed", "flows", len(ufids), "err", err)
		return
	}
	for _, ie := range berr.Errs {
		if !errors.Is(ie.Err, datapath.ErrNotFound) {
			a.log.Debug("flow delete failed", "ufid", ufids[ie.Index], "err", ie.Err)
		}
	}
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
		a.deleteFlows(ctx, gone, nil, a.m.removedInval)
	}
}

// Invalidate removes every installed flow carrying one of tags, as the
// agent does when the state they depend on changes.
func (a *Agent) Invalidate(ctx context.Context, tags ...simulation.Tag) { a.invalidate(ctx, tags...) }
