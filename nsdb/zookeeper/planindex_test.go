package zookeeper

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// TestPlanIndexDropped: a client that only reads holds no planner
// indexes; a commit builds them, they are dropped once the client has not
// committed for indexIdle, and the next commit, checked against the
// rebuilt indexes, still refuses a duplicate name.
func TestPlanIndexDropped(t *testing.T) {
	h := newHarness(t, zktest.Standalone(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := h.client(t)
	oc, err := c.objects()
	if err != nil {
		t.Fatal(err)
	}
	oc.mu.Lock()
	oc.indexIdle = 200 * time.Millisecond
	oc.mu.Unlock()
	indexed := func() bool {
		oc.mu.Lock()
		defer oc.mu.Unlock()
		return oc.idx.Indexed()
	}
	if _, err := c.Store().List(ctx, topology.KindBridge); err != nil {
		t.Fatal(err)
	}
	if indexed() {
		t.Fatal("a client that only read built the planner's indexes")
	}
	b := func(id, name string) nsdb.Op {
		return nsdb.Create(&topology.Bridge{ID: topology.NameID(topology.KindBridge, id), Name: name})
	}
	if _, err := c.Store().Commit(ctx, b("1", "blue")); err != nil {
		t.Fatal(err)
	}
	if !indexed() {
		t.Fatal("no planner indexes after a commit")
	}
	deadline := time.Now().Add(10 * time.Second)
	for indexed() {
		if time.Now().After(deadline) {
			t.Fatal("planner indexes kept after the idle time")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := c.Store().Commit(ctx, b("2", "blue")); !errors.Is(err, nsdb.ErrInvalid) {
		t.Fatalf("a second bridge named blue: %v, want ErrInvalid", err)
	}
	if _, err := c.Store().Commit(ctx, b("2", "green")); err != nil {
		t.Fatal(err)
	}
}
