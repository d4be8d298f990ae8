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
	var errs []datapath.IndexError // a BatchError made up front would escape: one allocation per call
	var buf [64]*flow              // the agent's batches fit: no allocation
	prepared := buf[:0]
	if len(flows) > len(buf) {
		prepared = make([]*flow, 0, len(flows))
	}
	for i := range flows {
		nf, err := d.prepareFlow(&flows[i])
		if err != nil {
			errs = append(errs, datapath.IndexError{Index: i, Err: opErr(op, err)})
		}
		prepared = append(prepared, nf) // nil if refused
	}
	d.flowMu.Lock()
	d.touchNew(prepared)
	for i, nf := range prepared {
		if nf == nil {
			continue
		}
		if err := d.put(nf, mode); err != nil {
			d.recycle(nf)
			errs = append(errs, datapath.IndexError{Index: i, Err: opErr(op, err)})
		}
	}
	d.flowMu.Unlock()
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b datapath.IndexError) int { return a.Index - b.Index })
		return &datapath.BatchError{Errs: errs}
	}
	return nil
}

// touchNew reads, for every flow of a batch about to be put, the slots
// put probes: its UFID's and its key's in the first subtables. Each is
// usually a cache miss in a table of a few hundred thousand flows, and
// misses that do not wait on one another overlap (see
// ufidmap.Map.Touch), where put would wait for each in turn. d.flowMu is
// held.
func (d *Datapath) touchNew(flows []*flow) {
	var sink byte
	for _, nf := range flows {
		if nf != nil && nf.byUFID {
			sink ^= d.byUFID.Touch(&nf.ufid)
		}
	}
	for _, nf := range flows {
		if nf != nil {
			sink ^= d.cls.touchKey(&nf.kflat)
		}
	}
	d.touched += uint64(sink)
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
	var errs []datapath.IndexError
	var (
		fs [deleteChunk]*flow
		hs [deleteChunk]uint64
	)
	for start := 0; start < len(ufids); start += deleteChunk {
		chunk := ufids[start:min(start+deleteChunk, len(ufids))]
		d.flowMu.Lock()
		// Each step reads what the next needs for every flow of the chunk
		// before the next step starts: the UFID slots, then the flows,
		// then their subtable slots. Each read is a cache miss in a large
		// table, and misses that do not wait on one another overlap.
		var sink byte
		for i := range chunk {
			sink ^= d.byUFID.Touch(&chunk[i])
		}
		for i := range chunk {
			fs[i] = nil
			if !chunk[i].IsZero() {
				fs[i] = d.byUFID.Delete(chunk[i]) // remove's UFID half
			}
		}
		for i, f := range fs[:len(chunk)] {
			if f != nil && f.sub != nil {
				hs[i] = f.sub.hash(&f.kflat)
			}
		}
		for i, f := range fs[:len(chunk)] {
			if f != nil && f.sub != nil {
				sink ^= d.cls.touch(f, hs[i])
			}
		}
		for i, f := range fs[:len(chunk)] {
			switch {
			case chunk[i].IsZero():
				errs = append(errs, datapath.IndexError{Index: start + i, Err: opErr(op, invalid("zero UFID"))})
			case f == nil:
				errs = append(errs, datapath.IndexError{Index: start + i, Err: opErr(op, errno(syscall.ENOENT))})
			default:
				if f.sub != nil {
					d.cls.removeHashed(f, hs[i])
				}
				d.recycle(f)
			}
		}
		d.touched += uint64(sink) // keeps the touches
		d.flowMu.Unlock()
	}
	if len(errs) > 0 {
		return &datapath.BatchError{Errs: errs}
	}
	return nil
}
