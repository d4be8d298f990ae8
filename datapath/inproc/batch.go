package inproc

import (
	"context"
	"slices"
	"syscall"

	"github.com/hivenet/hivenet/datapath"
)

// PutFlows implements datapath.FlowBatcher: every flow is validated, then
// all are installed under one acquisition of the table lock.
func (d *Datapath) PutFlows(ctx context.Context, flows []datapath.Flow, mode datapath.PutMode) error {
	const op = "flow put batch"
	if _, err := putOp(mode); err != nil {
		return opErr(op, err)
	}
	if err := d.checkOpen(ctx, op); err != nil {
		return err
	}
	var berr datapath.BatchError
	var buf [64]*flow // the agent's batches fit: no allocation
	prepared := buf[:0]
	if len(flows) > len(buf) {
		prepared = make([]*flow, 0, len(flows))
	}
	for i := range flows {
		nf, err := d.prepareFlow(&flows[i])
		if err != nil {
			berr.Errs = append(berr.Errs, datapath.IndexError{Index: i, Err: opErr(op, err)})
		}
		prepared = append(prepared, nf) // nil if refused
	}
	d.flowMu.Lock()
	for i, nf := range prepared {
		if nf == nil {
			continue
		}
		if err := d.put(nf, mode); err != nil {
			d.recycle(nf)
			berr.Errs = append(berr.Errs, datapath.IndexError{Index: i, Err: opErr(op, err)})
		}
	}
	d.flowMu.Unlock()
	if len(berr.Errs) > 0 {
		slices.SortFunc(berr.Errs, func(a, b datapath.IndexError) int { return a.Index - b.Index })
		return &berr
	}
	return nil
}

// deleteChunk is the number of flows DeleteFlows removes per acquisition
// of the table lock: packets looking up flows wait for at most one chunk.
const deleteChunk = 256

// DeleteFlows implements datapath.FlowDeleter: the flows are removed
// deleteChunk at a time under one acquisition of the table lock, where
// DeleteFlow takes it once per flow.
func (d *Datapath) DeleteFlows(ctx context.Context, ufids []datapath.UFID) error {
	const op = "flow del batch"
	if err := d.checkOpen(ctx, op); err != nil {
		return err
	}
	var berr datapath.BatchError
	for start := 0; start < len(ufids); start += deleteChunk {
		end := min(start+deleteChunk, len(ufids))
		d.flowMu.Lock()
		for i := start; i < end; i++ {
			if ufids[i].IsZero() {
				berr.Errs = append(berr.Errs, datapath.IndexError{Index: i, Err: opErr(op, invalid("zero UFID"))})
				continue
			}
			f := d.byUFID.Delete(ufids[i]) // remove's UFID half, in the same lookup
			if f == nil {
				berr.Errs = append(berr.Errs, datapath.IndexError{Index: i, Err: opErr(op, errno(syscall.ENOENT))})
				continue
			}
			d.cls.remove(f)
			d.recycle(f)
		}
		d.flowMu.Unlock()
	}
	if len(berr.Errs) > 0 {
		return &berr
	}
	return nil
}
