package kernel

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/ovsh"
	"github.com/mdlayher/netlink"
)

// appendFlow appends the OVS_FLOW_ATTR_* attributes of f: UFID, key, mask
// (when f.Match.Mask.Fields is non-zero), and actions when withActions.
func appendFlow(b []byte, f *datapath.Flow, withKey, withActions, clear bool) ([]byte, error) {
	if !f.UFID.IsZero() {
		b = appendAttr(b, ovsh.FlowAttrUFID, f.UFID[:])
	}
	if withKey {
		var s int
		b, s = beginNested(b, ovsh.FlowAttrKey)
		b = appendKey(b, &f.Match.Key)
		b = endNested(b, s)
		if f.Match.Mask.Fields != 0 {
			b, s = beginNested(b, ovsh.FlowAttrMask)
			b = appendKey(b, &f.Match.Mask)
			b = endNested(b, s)
		}
	}
	if withActions {
		var s int
		var err error
		b, s = beginNested(b, ovsh.FlowAttrActions)
		if b, err = appendActions(b, f.Actions); err != nil {
			return b, err
		}
		b = endNested(b, s)
	}
	if clear {
		b = appendFlag(b, ovsh.FlowAttrClear)
	}
	return b, nil
}

// decodeFlow decodes the attributes of a flow reply into f.
func decodeFlow(b []byte, f *datapath.Flow) error {
	*f = datapath.Flow{}
	a := attrs{b: b}
	for a.next() {
		switch a.typ {
		case ovsh.FlowAttrKey:
			if err := decodeKey(a.data, &f.Match.Key); err != nil {
				return err
			}
		case ovsh.FlowAttrMask:
			if err := decodeKey(a.data, &f.Match.Mask); err != nil {
				return err
			}
		case ovsh.FlowAttrActions:
			acts, err := decodeActions(a.data)
			if err != nil {
				return err
			}
			f.Actions = acts
		case ovsh.FlowAttrStats:
			if a.size(ovsh.SizeofFlowStats) {
				f.Stats = datapath.FlowStats{Packets: ne.Uint64(a.data), Bytes: ne.Uint64(a.data[8:])}
			}
		case ovsh.FlowAttrTCPFlags:
			f.TCPFlags = a.u8()
		case ovsh.FlowAttrUsed:
			f.Used = time.Duration(a.u64()) * time.Millisecond
		case ovsh.FlowAttrUFID:
			if len(a.data) == 0 || len(a.data) > ovsh.MaxUFIDLen {
				return fmt.Errorf("%w: UFID of %d bytes", datapath.ErrMalformed, len(a.data))
			}
			copy(f.UFID[:], a.data)
		}
	}
	return a.err
}

func flowRef(f *datapath.Flow) bool { return !f.UFID.IsZero() || f.Match.Key.Fields != 0 }

func (d *Datapath) flowExchange(ctx context.Context, op string, cmd uint8, flags netlink.HeaderFlags, attrs []byte, out *datapath.Flow) error {
	n := 0
	err := d.c.exchange(ctx, op, d.c.flowFamily, cmd, ovsh.FlowVersion, flags, d.ifindex, attrs, func(r reply) error {
		n++
		if out == nil {
			return nil
		}
		return decodeFlow(r.attrs, out)
	})
	if err == nil && out != nil && n != 1 {
		err = &datapath.OpError{Op: op, Err: fmt.Errorf("%w: %d replies", datapath.ErrMalformed, n)}
	}
	return err
}

func putRequest(f *datapath.Flow, mode datapath.PutMode) (cmd uint8, flags netlink.HeaderFlags, err error) {
	switch mode &^ datapath.PutClearStats {
	// The kernel's OVS_FLOW_CMD_NEW treats NLM_F_CREATE (or NLM_F_EXCL) as
	// "fail with EEXIST if the flow exists"; create-or-modify is a NEW
	// without either flag, as ovs-vswitchd's dpif-netlink sends it.
	case datapath.PutCreate:
		return ovsh.FlowCmdNew, netlink.Create | netlink.Excl, nil
	case datapath.PutCreate | datapath.PutModify:
		return ovsh.FlowCmdNew, 0, nil
	case datapath.PutModify:
		return ovsh.FlowCmdSet, 0, nil
	}
	return 0, 0, fmt.Errorf("%w: put mode %#x", datapath.ErrInvalid, mode)
}

// PutFlow implements datapath.Datapath. PutClearStats is honoured by
// PutModify alone (OVS_FLOW_CMD_SET with OVS_FLOW_ATTR_CLEAR); the kernel
// keeps statistics when a create-or-modify replaces actions.
func (d *Datapath) PutFlow(ctx context.Context, f *datapath.Flow, mode datapath.PutMode) error {
	cmd, flags, err := putRequest(f, mode)
	if err == nil && f.Match.Key.Fields == 0 {
		err = fmt.Errorf("%w: flow without key", datapath.ErrInvalid)
	}
	if err != nil {
		return &datapath.OpError{Op: "flow put", Err: err}
	}
	op := "flow new"
	if cmd == ovsh.FlowCmdSet {
		op = "flow set"
	}
	attrs, err := appendFlow(make([]byte, 0, 512), f, true, true, cmd == ovsh.FlowCmdSet && mode&datapath.PutClearStats != 0)
	if err != nil {
		return &datapath.OpError{Op: op, Err: err}
	}
	return d.flowExchange(ctx, op, cmd, flags, attrs, nil)
}

// DeleteFlow implements datapath.Datapath.
func (d *Datapath) DeleteFlow(ctx context.Context, f *datapath.Flow) (datapath.FlowStats, error) {
	if !flowRef(f) {
		// An empty OVS_FLOW_CMD_DEL flushes the table: never send one here.
		return datapath.FlowStats{}, &datapath.OpError{Op: "flow del", Err: fmt.Errorf("%w: flow without UFID or key", datapath.ErrInvalid)}
	}
	ref := *f
	ref.Match.Mask = datapath.FlowKey{}
	attrs, _ := appendFlow(nil, &ref, f.UFID.IsZero(), false, false)
	var out datapath.Flow
	err := d.flowExchange(ctx, "flow del", ovsh.FlowCmdDel, netlink.Echo, attrs, &out)
	return out.Stats, err
}

// GetFlow implements datapath.Datapath.
func (d *Datapath) GetFlow(ctx context.Context, f *datapath.Flow) (datapath.Flow, error) {
	if !flowRef(f) {
		return datapath.Flow{}, &datapath.OpError{Op: "flow get", Err: fmt.Errorf("%w: flow without UFID or key", datapath.ErrInvalid)}
	}
	ref := *f
	ref.Match.Mask = datapath.FlowKey{}
	attrs, _ := appendFlow(nil, &ref, f.UFID.IsZero(), false, false)
	var out datapath.Flow
	err := d.flowExchange(ctx, "flow get", ovsh.FlowCmdGet, 0, attrs, &out)
	return out, err
}

// FlushFlows implements datapath.Datapath.
func (d *Datapath) FlushFlows(ctx context.Context) error {
	return d.flowExchange(ctx, "flow flush", ovsh.FlowCmdDel, 0, nil, nil)
}

// Omit says which parts of flows with a UFID a dump leaves out
// (OVS_FLOW_ATTR_UFID_FLAGS); flows installed without a UFID are always
// dumped whole.
type Omit uint32

// Omit flags.
const (
	OmitKey     Omit = ovsh.UFIDFOmitKey
	OmitMask    Omit = ovsh.UFIDFOmitMask
	OmitActions Omit = ovsh.UFIDFOmitActions
)

// Flows implements datapath.Datapath: DumpFlows with nothing omitted.
func (d *Datapath) Flows(ctx context.Context) iter.Seq2[datapath.Flow, error] {
	return d.DumpFlows(ctx, 0)
}

// DumpFlows iterates over the flows, leaving out what omit says for flows
// with a UFID (a revalidator that only needs statistics passes
// OmitKey|OmitMask|OmitActions). When the client was made by Dial, each
// dump runs on its own netlink socket and is decoded as it streams in, so
// the loop body may call other methods of the datapath. Otherwise (test
// clients) the dump is buffered first.
func (d *Datapath) DumpFlows(ctx context.Context, omit Omit) iter.Seq2[datapath.Flow, error] {
	var attrs []byte
	if omit != 0 {
		attrs = appendU32(nil, ovsh.FlowAttrUFIDFlags, uint32(omit))
	}
	return func(yield func(datapath.Flow, error) bool) {
		const op = "flow dump"
		stop := errors.New("stop")
		decode := func(r reply) error {
			var f datapath.Flow
			if err := decodeFlow(r.attrs, &f); err != nil {
				return err
			}
			if !yield(f, nil) {
				return stop
			}
			return nil
		}
		if d.c.dial != nil {
			conn, err := d.c.dial()
			if err != nil {
				yield(datapath.Flow{}, &datapath.OpError{Op: op, Err: err})
				return
			}
			defer conn.Close()
			s := &sock{conn: conn}
			err = s.exchange(ctx, op, d.c.flowFamily, ovsh.FlowCmdGet, ovsh.FlowVersion, netlink.Dump, d.ifindex, attrs, decode)
			if err != nil && !errors.Is(err, stop) {
				yield(datapath.Flow{}, err)
			}
			return
		}
		var raw [][]byte
		err := d.c.exchange(ctx, op, d.c.flowFamily, ovsh.FlowCmdGet, ovsh.FlowVersion, netlink.Dump, d.ifindex, attrs, func(r reply) error {
			raw = append(raw, r.attrs)
			return nil
		})
		if err != nil {
			yield(datapath.Flow{}, err)
			return
		}
		for _, b := range raw {
			if err := decode(reply{attrs: b}); err != nil {
				if !errors.Is(err, stop) {
					yield(datapath.Flow{}, &datapath.OpError{Op: op, Err: err})
				}
				return
			}
		}
	}
}
