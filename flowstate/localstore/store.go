package localstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/topology"
)

// Store is the local flow-state store: one ring file per port in
// Config.Dir. It implements flowstate.Store and is safe for concurrent use.
type Store struct {
	cfg Config
	log *slog.Logger

	mu     sync.RWMutex
	ports  map[topology.ID]*portFile
	closed bool

	dirtyMu sync.Mutex
	dirty   []*portFile
	spare   []*portFile

	fdMu sync.Mutex
	fds  int

	stop chan struct{}
	wg   sync.WaitGroup

	written, bytesWritten, writeErrors       atomic.Uint64
	overwritten, corrupt, badRecords, loaded atomic.Uint64
	expiredFiles                             atomic.Uint64
}

var _ flowstate.Store = (*Store)(nil)

// Open opens (creating it if needed) the store in cfg.Dir and starts its
// flusher and expiry. Close it to write what is pending.
func Open(cfg Config) (*Store, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("localstore: %w", err)
	}
	s := &Store{cfg: cfg, log: cfg.Logger, ports: make(map[topology.ID]*portFile), stop: make(chan struct{})}
	if err := s.register(cfg.Registerer); err != nil {
		return nil, err
	}
	if cfg.FlushInterval > 0 {
		s.every(cfg.FlushInterval, func() { _ = s.Flush() })
	}
	if cfg.ExpireInterval > 0 {
		s.every(cfg.ExpireInterval, func() {
			if _, err := s.Expire(); err != nil {
				s.log.Warn("flow-state store: expiry failed", "err", err)
			}
		})
	}
	return s, nil
}

func (s *Store) every(d time.Duration, f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				f()
			}
		}
	}()
}

// fileSuffix ends every port file's name (the port's UUID).
const fileSuffix = ".fs"

func (s *Store) path(port topology.ID) string {
	return filepath.Join(s.cfg.Dir, port.String()+fileSuffix)
}

// portFile returns port's writer, creating it.
func (s *Store) portFile(port topology.ID) (*portFile, error) {
	s.mu.RLock()
	p, ok := s.ports[port]
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	if ok {
		return p, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if p, ok = s.ports[port]; !ok {
		p = &portFile{id: port, path: s.path(port)}
		s.ports[port] = p
	}
	return p, nil
}

// Save implements flowstate.Store: it appends msg to the current block of
// its ingress port and of each egress port. Messages without keys are not
// stored. The records reach the files within Config.FlushInterval.
func (s *Store) Save(ctx context.Context, msg *flowstate.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(msg.Conns)+len(msg.NATs) == 0 {
		return nil
	}
	ts := s.cfg.Now().UnixNano()
	if !msg.IngressPort.IsZero() {
		if err := s.saveTo(msg.IngressPort, msg, ts); err != nil {
			return err
		}
	}
	for i, port := range msg.EgressPorts {
		if port.IsZero() || port == msg.IngressPort || slices.Contains(msg.EgressPorts[:i], port) {
			continue
		}
		if err := s.saveTo(port, msg, ts); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) saveTo(port topology.ID, msg *flowstate.Message, ts int64) error {
	size := msg.Size()
	for {
		p, err := s.portFile(port)
		if err != nil {
			return err
		}
		p.mu.Lock()
		if p.removed {
			// Expired and deleted meanwhile: start a new file.
			p.mu.Unlock()
			continue
		}
		if size <= maxRecord(s) && len(msg.Conns) <= 0xffff && len(msg.NATs) <= 0xffff {
			err = p.append(s, msg, size, ts)
		} else {
			err = p.appendParts(s, msg, ts)
		}
		p.mu.Unlock()
		return err
	}
}

// appendParts splits a message too large for one record. Caller holds
// p.mu.
func (p *portFile) appendParts(s *Store, msg *flowstate.Message, ts int64) error {
	var part flowstate.Message
	return msg.AppendParts(nil, maxRecord(s), func(b []byte) error {
		if err := part.UnmarshalBinary(b); err != nil {
			return err
		}
		return p.append(s, &part, len(b), ts)
	})
}

// markDirty lists p for the next flush. Caller holds p.mu.
func (s *Store) markDirty(p *portFile) {
	if p.dirty {
		return
	}
	p.dirty = true
	s.dirtyMu.Lock()
	s.dirty = append(s.dirty, p)
	s.dirtyMu.Unlock()
}

// Flush writes every saved record to the files.
func (s *Store) Flush() error {
	s.dirtyMu.Lock()
	list := s.dirty
	s.dirty, s.spare = s.spare[:0], nil
	s.dirtyMu.Unlock()
	for i, p := range list {
		p.mu.Lock()
		p.dirty = false
		p.flush(s)
		p.mu.Unlock()
		list[i] = nil
	}
	s.dirtyMu.Lock()
	if s.spare == nil {
		s.spare = list[:0]
	}
	s.dirtyMu.Unlock()
	return nil
}

func (s *Store) writeFailed(p *portFile, err error) {
	s.writeErrors.Add(1)
	s.log.Warn("flow-state store: write failed; the port's current block is abandoned", "port", p.id, "file", p.path, "err", err)
	p.abandon()
}

// reserveFD counts a file about to be opened for p, closing the least
// recently used other port's file when too many are open. Caller holds
// p.mu.
func (s *Store) reserveFD(p *portFile) {
	s.fdMu.Lock()
	s.fds++
	over := s.fds > s.cfg.MaxOpenFiles
	s.fdMu.Unlock()
	if !over {
		return
	}
	s.mu.RLock()
	var victim *portFile
	var oldest int64
	for _, q := range s.ports {
		if q == p || !q.mu.TryLock() {
			continue
		}
		if q.f != nil && (victim == nil || q.lastUse < oldest) {
			if victim != nil {
				victim.mu.Unlock()
			}
			victim, oldest = q, q.lastUse
			continue
		}
		q.mu.Unlock()
	}
	s.mu.RUnlock()
	if victim != nil {
		victim.closeFile(s)
		victim.mu.Unlock()
	}
}

func (s *Store) releaseFD() {
	s.fdMu.Lock()
	s.fds--
	s.fdMu.Unlock()
}

// Load implements flowstate.Store: it calls fn with each message saved
// for port in the port's live blocks (oldest block first), after writing
// the port's pending records. Blocks that fail their checks are skipped
// (counted, logged); a port without a file has no state. The *Message
// passed to fn is reused: fn must copy what it keeps.
func (s *Store) Load(ctx context.Context, port topology.ID, fn func(*flowstate.Message) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	p := s.ports[port]
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if p != nil {
		p.mu.Lock()
		p.flush(s)
		p.mu.Unlock()
	}
	f, err := os.Open(s.path(port))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("localstore: %w", err)
	}
	defer f.Close()
	r := reader{s: s, f: f, port: port, p: p}
	return r.read(ctx, fn)
}

// Expire deletes the files none of whose blocks is live any more, and
// reports how many it deleted.
func (s *Store) Expire() (int, error) {
	cutoff := s.cfg.Now().Add(-s.cfg.Retention).UnixNano()
	n := 0
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, ErrClosed
	}
	for id, p := range s.ports {
		p.mu.Lock()
		if len(p.pending) == 0 && p.lastRecord() < cutoff {
			p.closeFile(s)
			p.removed = true
			delete(s.ports, id)
			if err := os.Remove(p.path); err == nil {
				n++
			}
		}
		p.mu.Unlock()
	}
	known := make(map[string]bool, len(s.ports))
	for id := range s.ports {
		known[id.String()+fileSuffix] = true
	}
	s.mu.Unlock()
	ents, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		return n, fmt.Errorf("localstore: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		id, perr := topology.ParseID(strings.TrimSuffix(name, fileSuffix))
		if !strings.HasSuffix(name, fileSuffix) || perr != nil || known[name] || !e.Type().IsRegular() {
			continue
		}
		// A file of an earlier run that this one never wrote to.
		live, err := s.liveOnDisk(id, cutoff)
		if err == nil && !live {
			s.mu.Lock()
			if _, now := s.ports[id]; !now {
				if os.Remove(filepath.Join(s.cfg.Dir, name)) == nil {
					n++
				}
			}
			s.mu.Unlock()
		}
	}
	s.expiredFiles.Add(uint64(n))
	return n, nil
}

// liveOnDisk reports whether port's file has a block whose last record is
// at or after cutoff.
func (s *Store) liveOnDisk(port topology.ID, cutoff int64) (bool, error) {
	f, err := os.Open(s.path(port))
	if err != nil {
		return false, err
	}
	defer f.Close()
	var hdr [HeaderSize]byte
	tag := portTag(port)
	for i := range s.cfg.BlocksPerPort {
		n, err := f.ReadAt(hdr[:], int64(i)*int64(s.cfg.BlockSize))
		if n < HeaderSize {
			if err != nil && !errors.Is(err, io.EOF) {
				return false, err
			}
			return false, nil
		}
		if h, err := parseHeader(hdr[:]); err == nil && h.port == tag && h.last >= cutoff {
			return true, nil
		}
	}
	return false, nil
}

// Close writes what is pending, stops the background work and closes the
// files. The store is unusable afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	s.wg.Wait()
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, p := range s.ports {
		p.mu.Lock()
		p.closeFile(s)
		p.mu.Unlock()
	}
	return nil
}

// Stats are the store's counters since Open.
type Stats struct {
	// Records saved (one per port of each message) and bytes written.
	Records, Bytes uint64
	// WriteErrors counts failed writes (each abandons a block).
	WriteErrors uint64
	// Overwritten counts live blocks lost because a port's ring was full.
	Overwritten uint64
	// Corrupt counts blocks skipped by Load for failing their checks;
	// BadRecords records whose message did not decode (the rest of their
	// block was read).
	Corrupt, BadRecords uint64
	// Loaded counts messages delivered by Load.
	Loaded uint64
	// ExpiredFiles counts files deleted by expiry.
	ExpiredFiles uint64
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	return Stats{Records: s.written.Load(), Bytes: s.bytesWritten.Load(), WriteErrors: s.writeErrors.Load(),
		Overwritten: s.overwritten.Load(), Corrupt: s.corrupt.Load(), BadRecords: s.badRecords.Load(),
		Loaded: s.loaded.Load(), ExpiredFiles: s.expiredFiles.Load()}
}
