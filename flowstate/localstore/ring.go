package localstore

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/topology"
)

// portFile is the writer of one port's ring of blocks. Its fields are
// guarded by mu.
type portFile struct {
	id   topology.ID
	path string

	mu      sync.Mutex
	f       *os.File
	removed bool // expired and deleted: Save looks the port up again
	ready   bool // the ring position is known (the file was scanned)
	slot    int  // slot of the current block
	h       header
	flushed uint32 // bytes of h.used already written
	pending []byte // records of the current block not yet written
	dirty   bool   // listed in the store's dirty list
	hdr     [HeaderSize]byte
	// last is the time of the last record of each slot's block (0: none
	// known), for expiry and to count live blocks overwritten.
	last    []int64
	lastUse int64
}

// start opens the file and finds where the ring goes on: the slot after
// the block with the highest sequence number. Caller holds mu.
func (p *portFile) start(s *Store) error {
	if err := p.openFile(s); err != nil {
		return err
	}
	bs := int64(s.cfg.BlockSize)
	p.last = make([]int64, s.cfg.BlocksPerPort)
	var maxSeq uint64
	maxSlot := -1
	tag := portTag(p.id)
	for i := range s.cfg.BlocksPerPort {
		n, err := p.f.ReadAt(p.hdr[:], int64(i)*bs)
		if n < HeaderSize {
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("localstore: reading %s: %w", p.path, err)
			}
			break
		}
		h, err := parseHeader(p.hdr[:])
		if err != nil || h.port != tag || h.blockSize != uint32(bs) {
			continue
		}
		p.last[i] = h.last
		if h.seq > maxSeq {
			maxSeq, maxSlot = h.seq, i
		}
	}
	p.slot = (maxSlot + 1) % s.cfg.BlocksPerPort
	p.h = header{seq: maxSeq} // the next block gets maxSeq+1
	p.ready = true
	return nil
}

// openFile opens the port's file for writing, closing another port's if
// too many are open. Caller holds mu.
func (p *portFile) openFile(s *Store) error {
	if p.f != nil {
		return nil
	}
	s.reserveFD(p)
	f, err := os.OpenFile(p.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		s.releaseFD()
		return fmt.Errorf("localstore: %w", err)
	}
	p.f = f
	return nil
}

// closeFile writes what is pending and closes the file. Caller holds mu.
func (p *portFile) closeFile(s *Store) {
	if p.f == nil {
		return
	}
	p.flush(s)
	p.f.Close()
	p.f = nil
	s.releaseFD()
}

// maxRecord is the largest message a block holds.
func maxRecord(s *Store) int { return s.cfg.BlockSize - HeaderSize - RecordHeaderSize }

// append adds msg (size bytes encoded, at most maxRecord) saved at ts to
// the current block, starting a new one if it does not fit. Caller holds
// mu.
func (p *portFile) append(s *Store, msg *flowstate.Message, size int, ts int64) error {
	if !p.ready {
		if err := p.start(s); err != nil {
			return err
		}
	}
	room := uint32(s.cfg.BlockSize - HeaderSize)
	if p.h.used == 0 && p.h.count == 0 && p.h.first == 0 {
		p.newBlock(s, ts, false)
	} else if p.h.used+RecordHeaderSize+uint32(size) > room {
		p.flush(s)
		p.last[p.slot] = p.h.last
		p.newBlock(s, ts, true)
	}
	n := len(p.pending)
	p.pending = appendRecord(p.pending, size, ts)
	var err error
	if p.pending, err = msg.AppendBinary(p.pending); err != nil {
		p.pending = p.pending[:n]
		return fmt.Errorf("localstore: %w", err)
	}
	rec := p.pending[n:]
	p.h.crc = crc32.Update(p.h.crc, castagnoli, rec)
	p.h.used += uint32(len(rec))
	p.h.count++
	p.h.first = min(p.h.first, ts)
	p.h.last = max(p.h.last, ts)
	p.lastUse = ts
	s.written.Add(1)
	s.markDirty(p)
	return nil
}

// newBlock starts the block after the current one: in the next slot when
// advance is set, else in the current slot (the first block since the file
// was opened). Caller holds mu.
func (p *portFile) newBlock(s *Store, ts int64, advance bool) {
	if advance {
		p.slot = (p.slot + 1) % s.cfg.BlocksPerPort
	}
	if l := p.last[p.slot]; l != 0 && l >= s.cfg.Now().Add(-s.cfg.Retention).UnixNano() {
		// The ring is full: the oldest block still holds live records.
		s.overwritten.Add(1)
		s.log.Warn("flow-state store: the port's ring is full; overwriting its oldest live block",
			"port", p.id, "blocks", s.cfg.BlocksPerPort, "block-size", s.cfg.BlockSize)
	}
	p.last[p.slot] = 0
	p.h = header{blockSize: uint32(s.cfg.BlockSize), seq: p.h.seq + 1, first: ts, last: ts, port: portTag(p.id)}
	p.flushed = 0
	p.pending = p.pending[:0]
}

// flush writes the pending records, then the block's header. A failed
// write abandons the block (the next record starts a new one): what was
// written before stays readable. Caller holds mu.
func (p *portFile) flush(s *Store) {
	if len(p.pending) == 0 || p.removed {
		return
	}
	if err := p.openFile(s); err != nil {
		s.writeFailed(p, err)
		return
	}
	off := int64(p.slot) * int64(s.cfg.BlockSize)
	if _, err := p.f.WriteAt(p.pending, off+HeaderSize+int64(p.flushed)); err != nil {
		s.writeFailed(p, err)
		return
	}
	p.h.put(p.hdr[:])
	if _, err := p.f.WriteAt(p.hdr[:], off); err != nil {
		s.writeFailed(p, err)
		return
	}
	s.bytesWritten.Add(uint64(len(p.pending)) + HeaderSize)
	p.flushed = p.h.used
	p.pending = p.pending[:0]
}

// abandon drops the current block after a write failure. Caller holds mu.
func (p *portFile) abandon() {
	p.pending = p.pending[:0]
	p.h = header{seq: p.h.seq}
	p.flushed = 0
	if p.ready {
		p.slot = (p.slot + 1) % len(p.last)
	}
}

// lastRecord returns the time of the port's newest record on disk or
// pending (0 if none). Caller holds mu.
func (p *portFile) lastRecord() int64 {
	l := p.h.last
	for _, t := range p.last {
		l = max(l, t)
	}
	return l
}
