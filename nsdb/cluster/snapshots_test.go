package cluster

import (
	"context"
	"fmt"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// TestSnapshotsZooKeeper: the service writes a snapshot once the store is
// Every commits past the last one, or Quiet commits past it and unchanged
// since the previous check, and not before; on a backend without
// snapshots it does nothing.
func TestSnapshotsZooKeeper(t *testing.T) {
	b := zookeeperBackend(t)
	c := b.newClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := NewSnapshots(SnapshotsConfig{NSDB: c, Every: 3})
	if err != nil {
		t.Fatal(err)
	}
	sw := c.(SnapshotWriter)
	commit := func(i int) {
		t.Helper()
		br := &topology.Bridge{ID: topology.NameID(topology.KindBridge, fmt.Sprint("b", i)), Name: fmt.Sprint("b", i)}
		if _, err := c.Store().Commit(ctx, nsdb.Create(br)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		commit(i)
	}
	if wrote, err := s.Check(ctx); err != nil || wrote {
		t.Fatalf("2 commits in: Check = %v, %v; want no snapshot", wrote, err)
	}
	commit(2)
	if wrote, err := s.Check(ctx); err != nil || !wrote {
		t.Fatalf("3 commits in: Check = %v, %v; want a snapshot", wrote, err)
	}
	if lag, err := sw.SnapshotLag(ctx); err != nil || lag != 0 {
		t.Fatalf("lag after the snapshot: %d, %v", lag, err)
	}
	commit(3)
	if lag, err := sw.SnapshotLag(ctx); err != nil || lag != 1 {
		t.Fatalf("lag after one more commit: %d, %v", lag, err)
	}
	if wrote, err := s.Check(ctx); err != nil || wrote {
		t.Fatalf("1 commit after the snapshot: Check = %v, %v", wrote, err)
	}

	// A store that stopped changing Quiet commits past the snapshot gets
	// one at the second check that sees it unchanged.
	q, err := NewSnapshots(SnapshotsConfig{NSDB: c, Every: 100, Quiet: 2})
	if err != nil {
		t.Fatal(err)
	}
	commit(4)
	if wrote, err := q.Check(ctx); err != nil || wrote {
		t.Fatalf("first check, 2 commits behind: Check = %v, %v; want no snapshot", wrote, err)
	}
	commit(5)
	if wrote, err := q.Check(ctx); err != nil || wrote {
		t.Fatalf("3 commits behind, one since the last check: Check = %v, %v; want no snapshot", wrote, err)
	}
	if wrote, err := q.Check(ctx); err != nil || !wrote {
		t.Fatalf("3 commits behind, none since the last check: Check = %v, %v; want a snapshot", wrote, err)
	}
	if wrote, err := q.Check(ctx); err != nil || wrote {
		t.Fatalf("right after a snapshot: Check = %v, %v", wrote, err)
	}

	m, err := NewSnapshots(SnapshotsConfig{NSDB: memoryBackend(t).newClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	if wrote, err := m.Check(ctx); err != nil || wrote {
		t.Fatalf("memory NSDB: Check = %v, %v", wrote, err)
	}
}
