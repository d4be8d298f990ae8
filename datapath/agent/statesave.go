package agent

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/flowstate"
)

// saverBuffers is the number of messages a saver holds: beyond it (the
// store is slower than the workers) messages are dropped and counted.
const saverBuffers = 4096

// stateSaver keeps flow-state saving off the packet path: a worker encodes
// its message into one of a fixed set of buffers and queues it, without
// allocating or blocking; the saver's goroutines decode and save.
type stateSaver struct {
	name    string
	store   flowstate.Store
	free    chan []byte
	queue   chan []byte
	saved   prometheus.Counter
	dropped prometheus.Counter
	log     *slog.Logger

	mu       sync.Mutex
	lastWarn time.Time
}

func newStateSaver(name string, st flowstate.Store, m *metrics, log *slog.Logger) *stateSaver {
	s := &stateSaver{name: name, store: st, free: make(chan []byte, saverBuffers), queue: make(chan []byte, saverBuffers),
		saved: m.stateSaved.WithLabelValues(name), dropped: m.stateDropped.WithLabelValues(name), log: log}
	for range saverBuffers {
		s.free <- make([]byte, 0, 512)
	}
	return s
}

// offer queues msg for saving; it reports false, counting a drop, when
// every buffer is taken.
func (s *stateSaver) offer(msg *flowstate.Message) bool {
	var b []byte
	select {
	case b = <-s.free:
	default:
		s.dropped.Inc()
		return false
	}
	b, err := msg.AppendBinary(b[:0])
	if err != nil {
		s.free <- b[:0]
		s.dropped.Inc()
		return false
	}
	s.queue <- b // never blocks: the queue holds every buffer
	return true
}

// run saves queued messages with n goroutines until ctx ends, then saves
// what is still queued (for at most a second).
func (s *stateSaver) run(ctx context.Context, n int) {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m flowstate.Message
			for {
				select {
				case <-ctx.Done():
					return
				case b := <-s.queue:
					s.save(ctx, &m, b)
				}
			}
		}()
	}
	wg.Wait()
	dctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var m flowstate.Message
	for dctx.Err() == nil {
		select {
		case b := <-s.queue:
			s.save(dctx, &m, b)
		default:
			return
		}
	}
}

func (s *stateSaver) save(ctx context.Context, m *flowstate.Message, b []byte) {
	defer func() { s.free <- b[:0] }()
	if err := m.UnmarshalBinary(b); err != nil {
		s.dropped.Inc()
		return
	}
	if err := s.store.Save(ctx, m); err != nil {
		s.dropped.Inc()
		if ctx.Err() == nil {
			s.warn(err)
		}
		return
	}
	s.saved.Inc()
}

// warn logs a save failure at most once every ten seconds.
func (s *stateSaver) warn(err error) {
	s.mu.Lock()
	now := time.Now()
	quiet := now.Sub(s.lastWarn) < 10*time.Second
	if !quiet {
		s.lastWarn = now
	}
	s.mu.Unlock()
	if !quiet {
		s.log.Warn("cannot save flow state", "store", s.name, "err", err)
	}
}

// saveState hands msg to the stores (see Config.StateStore).
func (a *Agent) saveState(msg *flowstate.Message) {
	for _, s := range a.savers {
		s.offer(msg)
	}
}
