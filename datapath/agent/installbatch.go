package agent

import (
	"context"
	"errors"
	"time"

	"github.com/hivenet/hivenet/datapath"
)

// maxBatch is the most flows a worker holds before installing them.
const maxBatch = 64

// installBatch holds the flows a worker has simulated but not installed
// yet, with their packets. The worker installs them together (one
// acquisition of the agent's flow-table lock, one PutFlows: one of the
// in-process datapath's table lock, one sendmsg per 64 kernel requests),
// then executes the packets, when its
// upcall queue runs dry or the batch is full: the reference's handler
// threads batch upcalls the same way. Only a plain forwarded or dropped
// packet waits in a batch; one that generates packets, pushes flow state
// or needs userspace rewrites empties the batch first, so packets leave in
// the order they were simulated.
type installBatch struct {
	n     int
	flows [maxBatch]datapath.Flow // the datapath requests
	acts  [maxBatch]datapath.Actions
	items [maxBatch]pendingFlow
	errs  [maxBatch]error
	// The entries (nil once refused) at their generations, the
	// invalidation sequence numbers their simulations started at, whether
	// the flow table took each (flowTable.addAll) and whether each was
	// still installed once the datapath answered (flowTable.liveAll): kept
	// apart from items because the flow table takes them as slices.
	ents  [maxBatch]*flowEntry
	gens  [maxBatch]uint32
	since [maxBatch]uint64
	added [maxBatch]bool
	live  [maxBatch]bool
}

// pendingFlow is a batched flow's class and the packet to execute once
// it is installed (its entry is in installBatch.ents).
type pendingFlow struct {
	class   FlowClass
	execute bool
	frame   []byte
}

// backlogCheck returns a function reporting whether upcall socket s has
// nothing waiting, or nil when s cannot tell (then the worker installs
// each flow as it is simulated): datapath.PendingCounter counts the
// upcalls, datapath.QueuedByteCounter (the kernel's socket memory) their
// bytes.
func backlogCheck(s datapath.UpcallSocket) func() bool {
	switch s := s.(type) {
	case datapath.PendingCounter:
		return func() bool { return s.Pending() == 0 }
	case datapath.QueuedByteCounter:
		return func() bool {
			n, err := s.QueuedBytes()
			return err != nil || n == 0
		}
	}
	return nil
}

// deferInstall queues e, the flow of the packet frame with key, for
// installation; execute says whether the packet is then executed with the
// flow's actions. A full batch is installed at once.
func (w *worker) deferInstall(ctx context.Context, e *flowEntry, key *datapath.FlowKey, since uint64, now time.Time, frame []byte, execute bool) {
	b := &w.batch
	class, gen := w.a.request(e, key, now, &b.flows[b.n], &b.acts[b.n])
	it := &b.items[b.n]
	it.class, it.execute = class, execute
	it.frame = append(it.frame[:0], frame...)
	b.ents[b.n], b.gens[b.n], b.since[b.n] = e, gen, since
	b.n++
	if b.n == maxBatch {
		w.flush(ctx)
	}
}

// flush adds the batched flows to the flow table (one acquisition of its
// lock), installs those it took and executes the packets, in the order
// they were simulated. A flow the table refused (a flow with its key
// exists, or a tag it read was invalidated) is not installed; its packet
// still goes out, with the flow's actions.
func (w *worker) flush(ctx context.Context) {
	b := &w.batch
	if b.n == 0 {
		return
	}
	a := w.a
	added := b.added[:b.n]
	a.flows.addAll(b.ents[:b.n], b.since[:b.n], added)
	for i, ok := range added {
		if !ok {
			a.abandon(b.ents[i])
			b.ents[i] = nil
		}
	}
	errs := w.putBatch(ctx, added)
	live := b.live[:b.n]
	a.flows.liveAll(b.ents[:b.n], b.gens[:b.n], live)
	for i := range b.n {
		it, f := &b.items[i], &b.flows[i]
		if added[i] {
			a.completeLive(ctx, it.class, b.ents[i], b.gens[i], f, errs[i], live[i])
		}
		if it.execute {
			w.executeActions(ctx, it.frame, &f.Match.Key, f.Actions)
		}
		emptyRequest(f, &b.acts[i])
	}
	clear(errs)
	clear(b.ents[:b.n])
	b.n = 0
}

// putBatch puts the requests of the batched flows the table took into the
// datapath, with one PutFlows per run of them when it is a
// datapath.FlowBatcher (a refused flow, rare, splits the batch), and
// returns each request's error.
func (w *worker) putBatch(ctx context.Context, added []bool) []error {
	b := &w.batch
	errs := b.errs[:b.n]
	fb, ok := w.a.dp.(datapath.FlowBatcher)
	for lo := 0; lo < b.n; {
		if !added[lo] {
			lo++
			continue
		}
		hi := lo + 1
		for hi < b.n && added[hi] {
			hi++
		}
		if !ok {
			for i := lo; i < hi; i++ {
				errs[i] = w.a.dp.PutFlow(ctx, &b.flows[i], datapath.PutCreate)
			}
		} else if err := fb.PutFlows(ctx, b.flows[lo:hi], datapath.PutCreate); err != nil {
			batchErrors(err, errs[lo:hi])
		}
		lo = hi
	}
	return errs
}

// batchErrors spreads the error of a PutFlows over errs, one per flow.
func batchErrors(err error, errs []error) {
	var be *datapath.BatchError
	if !errors.As(err, &be) {
		for i := range errs {
			errs[i] = err
		}
		return
	}
	for _, ie := range be.Errs {
		if ie.Index >= 0 && ie.Index < len(errs) {
			errs[ie.Index] = ie.Err
		}
	}
}
