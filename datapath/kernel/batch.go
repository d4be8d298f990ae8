package kernel

import (
	"context"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/ovsh"
)

// batchSize is the number of requests sent with one sendmsg.
const batchSize = 64

// PutFlows implements datapath.FlowBatcher: it writes all requests with one
// sendmsg per batch of 64 messages, then reads the acknowledgements, so N
// flows cost about N/64 sends and N receives instead of 2N system calls
// and N round trips.
func (d *Datapath) PutFlows(ctx context.Context, flows []datapath.Flow, mode datapath.PutMode) error {
	const op = "flow put batch"
	cmd, flags, err := putRequest(nil, mode)
	if err != nil {
		return &datapath.OpError{Op: op, Err: err}
	}
	return d.batch(ctx, op, len(flows), func(i int) (uint8, netlink.HeaderFlags, []byte, error) {
		f := &flows[i]
		if f.Match.Key.Fields == 0 {
			return 0, 0, nil, fmt.Errorf("%w: flow without key", datapath.ErrInvalid)
		}
		attrs, err := appendFlow(make([]byte, 0, 512), f, true, true, cmd == ovsh.FlowCmdSet && mode&datapath.PutClearStats != 0)
		return cmd, flags, attrs, err
	})
}

// DeleteFlows implements datapath.FlowDeleter with the batching of
// PutFlows: one sendmsg per 64 OVS_FLOW_CMD_DEL requests, each naming its
// flow by UFID alone.
func (d *Datapath) DeleteFlows(ctx context.Context, ufids []datapath.UFID) error {
	return d.batch(ctx, "flow del batch", len(ufids), func(i int) (uint8, netlink.HeaderFlags, []byte, error) {
		if ufids[i].IsZero() {
			// A request without UFID or key would flush the table.
			return 0, 0, nil, fmt.Errorf("%w: zero UFID", datapath.ErrInvalid)
		}
		return ovsh.FlowCmdDel, 0, appendAttr(make([]byte, 0, 20), ovsh.FlowAttrUFID, ufids[i][:]), nil
	})
}

// batch sends the n flow requests build makes (command, extra header
// flags, attributes), batchSize per sendmsg, and reads every
// acknowledgement. The requests build refuses and those the kernel fails
// are listed in the returned *datapath.BatchError; an error of the socket
// itself ends the batch and is returned alone.
func (d *Datapath) batch(ctx context.Context, op string, n int, build func(i int) (uint8, netlink.HeaderFlags, []byte, error)) error {
	var berr datapath.BatchError
	s := d.c.req
	s.mu.Lock()
	defer s.mu.Unlock()
	defer deadline(ctx, s.conn)()
	for start := 0; start < n; start += batchSize {
		end := min(start+batchSize, n)
		msgs := make([]netlink.Message, 0, end-start)
		idx := make([]int, 0, end-start)
		for i := start; i < end; i++ {
			cmd, flags, attrs, err := build(i)
			if err != nil {
				berr.Errs = append(berr.Errs, datapath.IndexError{Index: i, Err: &datapath.OpError{Op: op, Err: err}})
				continue
			}
			msgs = append(msgs, netlink.Message{
				Header: netlink.Header{Type: netlink.HeaderType(d.c.flowFamily), Flags: netlink.Request | netlink.Acknowledge | flags},
				Data:   request(nil, cmd, ovsh.FlowVersion, d.ifindex, attrs),
			})
			idx = append(idx, i)
		}
		if len(msgs) == 0 {
			continue
		}
		sent, err := s.conn.SendMessages(msgs)
		if err != nil {
			return wrapErr(ctx, op, err)
		}
		seqs := make(map[uint32]int, len(sent))
		for j, m := range sent {
			seqs[m.Header.Sequence] = idx[j]
		}
		for pending := len(sent); pending > 0; {
			msgs, err := s.conn.Receive()
			if err != nil {
				var oe *netlink.OpError
				if errors.As(err, &oe) {
					if i, ok := seqs[oe.Sequence]; ok {
						delete(seqs, oe.Sequence)
						pending--
						berr.Errs = append(berr.Errs, datapath.IndexError{Index: i, Err: wrapErr(ctx, op, err)})
						continue
					}
				}
				return wrapErr(ctx, op, err)
			}
			for _, m := range msgs {
				if _, ok := seqs[m.Header.Sequence]; ok && m.Header.Type == netlink.Error {
					delete(seqs, m.Header.Sequence)
					pending--
				}
			}
		}
	}
	if len(berr.Errs) > 0 {
		return &berr
	}
	return nil
}
