package localstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/topology"
)

// reader streams one port's file.
type reader struct {
	s    *Store
	f    *os.File
	port topology.ID
	p    *portFile // this store's writer of the port, if any
	buf  []byte
	msg  flowstate.Message
}

type slotSeq struct {
	slot int
	seq  uint64
}

// read delivers the messages of the live blocks, oldest block first.
func (r *reader) read(ctx context.Context, fn func(*flowstate.Message) error) error {
	s := r.s
	bs := int64(s.cfg.BlockSize)
	cutoff := s.cfg.Now().Add(-s.cfg.Retention).UnixNano()
	tag := portTag(r.port)
	var live []slotSeq
	var hdr [HeaderSize]byte
	r.lock()
	for i := range s.cfg.BlocksPerPort {
		n, err := r.f.ReadAt(hdr[:], int64(i)*bs)
		if n < HeaderSize {
			if err != nil && !errors.Is(err, io.EOF) {
				r.unlock()
				return fmt.Errorf("localstore: reading %s: %w", r.f.Name(), err)
			}
			if n > 0 {
				r.skip(i, fmt.Errorf("%w: header truncated to %d bytes", ErrCorrupt, n))
			}
			break
		}
		h, err := parseHeader(hdr[:])
		switch {
		case errors.Is(err, ErrEmptySlot):
			continue
		case err == nil && h.port != tag:
			err = fmt.Errorf("%w: block of another port", ErrCorrupt)
		case err == nil && h.blockSize != uint32(bs):
			err = fmt.Errorf("%w: written with %d-byte blocks, this store uses %d", ErrCorrupt, h.blockSize, bs)
		}
		if err != nil {
			r.skip(i, err)
			continue
		}
		if h.last >= cutoff {
			live = append(live, slotSeq{i, h.seq})
		}
	}
	r.unlock()
	slices.SortFunc(live, func(a, b slotSeq) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	for _, b := range live {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.block(b.slot, cutoff, fn); err != nil {
			return err
		}
	}
	return nil
}

// block delivers the live records of the block in slot. A block that
// fails its checks is read once more (another process may have been
// writing it) and then skipped.
func (r *reader) block(slot int, cutoff int64, fn func(*flowstate.Message) error) error {
	var h header
	var body []byte
	var err error
	for range 2 {
		if h, body, err = r.readBlock(slot); err == nil {
			if err = checkRecords(&h, body); err == nil {
				break
			}
		}
		if !errors.Is(err, ErrCorrupt) {
			return err
		}
	}
	if err != nil {
		r.skip(slot, err)
		return nil
	}
	return eachRecord(body, func(ts int64, b []byte) error {
		if ts < cutoff {
			return nil
		}
		if err := r.msg.UnmarshalBinary(b); err != nil {
			r.s.badRecords.Add(1)
			r.s.log.Warn("flow-state store: skipping a record that does not decode", "port", r.port, "file", r.f.Name(), "block", slot, "err", err)
			return nil
		}
		r.s.loaded.Add(1)
		return fn(&r.msg)
	})
}

// readBlock reads the header and records of the block in slot (under the
// writer's lock when this store writes the port, so that it never sees a
// half-written block of its own).
func (r *reader) readBlock(slot int) (header, []byte, error) {
	bs := int64(r.s.cfg.BlockSize)
	if cap(r.buf) < int(bs) {
		r.buf = make([]byte, bs)
	}
	r.lock()
	n, err := r.f.ReadAt(r.buf[:bs], int64(slot)*bs)
	r.unlock()
	if err != nil && !errors.Is(err, io.EOF) {
		return header{}, nil, fmt.Errorf("localstore: reading %s: %w", r.f.Name(), err)
	}
	b := r.buf[:n]
	h, err := parseHeader(b)
	if err != nil {
		if errors.Is(err, ErrEmptySlot) {
			err = fmt.Errorf("%w: block emptied while read", ErrCorrupt)
		}
		return header{}, nil, err
	}
	if h.blockSize != uint32(bs) {
		return header{}, nil, fmt.Errorf("%w: block size changed while read", ErrCorrupt)
	}
	end := HeaderSize + int(h.used)
	if end > len(b) {
		return header{}, nil, fmt.Errorf("%w: the file ends %d bytes into a block holding %d", ErrCorrupt, len(b), end)
	}
	return h, b[HeaderSize:end], nil
}

func (r *reader) skip(slot int, err error) {
	r.s.corrupt.Add(1)
	r.s.log.Warn("flow-state store: skipping a block that fails its checks", "port", r.port, "file", r.f.Name(), "block", slot, "err", err)
}

func (r *reader) lock() {
	if r.p != nil {
		r.p.mu.Lock()
	}
}

func (r *reader) unlock() {
	if r.p != nil {
		r.p.mu.Unlock()
	}
}
