package agent

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/storetest"
	"github.com/hivenet/hivenet/topology"
)

// memStore is a flowstate.Store in memory that counts keys by port.
type memStore struct {
	mu    sync.Mutex
	conns map[topology.ID]int
}

func (s *memStore) Save(_ context.Context, m *flowstate.Message) error {
	s.mu.Lock()
	s.conns[m.IngressPort] += len(m.Conns)
	s.mu.Unlock()
	return nil
}

func (s *memStore) Load(context.Context, topology.ID, func(*flowstate.Message) error) error {
	return nil
}

func testSaver(t *testing.T) (*stateSaver, *memStore, *metrics) {
	t.Helper()
	zero := func() float64 { return 0 }
	m, err := newMetrics(nil, zero, zero, zero, zero)
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{conns: map[topology.ID]int{}}
	return newStateSaver(sourceLocal, st, m, slog.New(slog.DiscardHandler)), st, m
}

// A worker hands a message to the saver without allocating.
func TestStateSaverOfferDoesNotAllocate(t *testing.T) {
	s, _, _ := testSaver(t)
	port := topology.NameID(topology.KindPort, "vm")
	msg := storetest.Message(topology.NameID(topology.KindHost, "h"), port, []topology.ID{port}, topology.NameID(topology.KindRouter, "r"), 0, 1)
	if n := testing.AllocsPerRun(1000, func() { s.offer(msg) }); n != 0 {
		t.Errorf("offer allocates %.1f times per message, want 0", n)
	}
}

// Saved messages reach the store; beyond the buffers, offers are dropped
// and counted, never blocking the worker; stopping saves what is queued.
func TestStateSaverSavesAndDrops(t *testing.T) {
	s, st, m := testSaver(t)
	port := topology.NameID(topology.KindPort, "vm")
	msg := storetest.Message(topology.NameID(topology.KindHost, "h"), port, nil, topology.NameID(topology.KindRouter, "r"), 0, 1)
	for range saverBuffers {
		if !s.offer(msg) {
			t.Fatal("an offer was dropped with buffers free")
		}
	}
	if s.offer(msg) {
		t.Fatal("an offer beyond the buffers was accepted")
	}
	if got := testutil.ToFloat64(m.stateDropped.WithLabelValues(sourceLocal)); got != 1 {
		t.Errorf("%v drops counted, want 1", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // stopped at once: run only drains the queue
	s.run(ctx, 1)
	if got := st.conns[port]; got != saverBuffers {
		t.Errorf("the store got %d messages, want the %d queued", got, saverBuffers)
	}
	if got := testutil.ToFloat64(m.stateSaved.WithLabelValues(sourceLocal)); got != saverBuffers {
		t.Errorf("%v saves counted, want %d", got, saverBuffers)
	}
}
