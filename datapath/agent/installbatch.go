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
// PutFlows: one acquisition of the in-process datapath's table lock, one
// sendmsg per 64 kernel requests), then executes the packets, when its
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
}

// pendingFlow is a batched flow: its entry as the flow table holds it and
// the packet to execute once installed.
type pendingFlow struct {
	e       *flowEntry
	gen     uint32
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

// deferInstall registers e, the flow of the packet frame with key, and
// queues it for installation; execute says whether the packet is then
// executed with the flow's actions. A full batch is installed at once.
func (w *worker) deferInstall(ctx context.Context, e *flowEntry, key *datapath.FlowKey, since uint64, now time.Time, frame []byte, execute bool) {
	b := &w.batch
	f, acts := &b.flows[b.n], &b.acts[b.n]
	class, gen, ok := w.a.register(e, key, since, now, f, acts)
	if !ok {
		// Not installed (a flow with the key exists, or a tag it read was
		// invalidated): the packet still goes out, after the batch, which
		// may hold an earlier packet of the same flow.
		if execute {
			w.flush(ctx)
			w.executeActions(ctx, frame, key, f.Actions)
		}
		emptyRequest(f, acts)
		return
	}
	it := &b.items[b.n]
	it.e, it.gen, it.class, it.execute = e, gen, class, execute
	it.frame = append(it.frame[:0], frame...)
	b.n++
	if b.n == maxBatch {
		w.flush(ctx)
	}
}

// flush installs the batched flows and executes their packets.
func (w *worker) flush(ctx context.Context) {
	b := &w.batch
	if b.n == 0 {
		return
	}
	a := w.a
	errs := w.putBatch(ctx)
	for i := range b.n {
		it, f := &b.items[i], &b.flows[i]
		a.complete(ctx, it.class, it.e, it.gen, f, errs[i])
		if it.execute {
			w.executeActions(ctx, it.frame, &f.Match.Key, f.Actions)
		}
		emptyRequest(f, &b.acts[i])
		it.e = nil
	}
	clear(errs)
	b.n = 0
}

// putBatch puts the batched requests into the datapath, with one PutFlows
// when it is a datapath.FlowBatcher, and returns each request's error.
func (w *worker) putBatch(ctx context.Context) []error {
	b := &w.batch
	errs := b.errs[:b.n]
	fb, ok := w.a.dp.(datapath.FlowBatcher)
	if !ok {
		for i := range b.n {
			errs[i] = w.a.dp.PutFlow(ctx, &b.flows[i], datapath.PutCreate)
		}
		return errs
	}
	if err := fb.PutFlows(ctx, b.flows[:b.n], datapath.PutCreate); err != nil {
		batchErrors(err, errs)
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
