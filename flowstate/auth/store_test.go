package auth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
)

func secretsOf(t *testing.T, srv *memory.Server) nsdb.Secrets {
	t.Helper()
	c := srv.NewClient()
	t.Cleanup(func() { c.Close() })
	return c.Secrets()
}

// TestEnsureRace: processes starting together agree on one key set.
func TestEnsureRace(t *testing.T) {
	srv := memory.NewServer(memory.Config{})
	ctx := context.Background()
	var wg sync.WaitGroup
	sets := make([]KeySet, 4)
	created := make([]bool, 4)
	for i := range sets {
		s := secretsOf(t, srv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			sets[i], created[i], err = Ensure(ctx, s, t0, nil)
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	n := 0
	for i := range sets {
		if created[i] {
			n++
		}
		if sets[i].Keys[0].Secret != sets[0].Keys[0].Secret {
			t.Fatalf("process %d has another key than process 0", i)
		}
	}
	if n != 1 {
		t.Fatalf("%d processes created the key set, want 1", n)
	}
}

// TestRotateThroughNSDB: a rotation reaches a keyring on Refresh, and a
// second rotation before the first's activation is refused.
func TestRotateThroughNSDB(t *testing.T) {
	srv := memory.NewServer(memory.Config{})
	ctx := context.Background()
	admin, agent := secretsOf(t, srv), secretsOf(t, srv)
	if _, err := Rotate(ctx, admin, t0, 0, nil); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("Rotate without keys: %v, want ErrNoKeys", err)
	}
	first, _, err := Ensure(ctx, admin, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	ring := NewKeyring(KeySet{})
	if changed, err := ring.Refresh(ctx, agent); err != nil || !changed {
		t.Fatalf("first Refresh: %v, %v", changed, err)
	}
	if changed, err := ring.Refresh(ctx, agent); err != nil || changed {
		t.Fatalf("Refresh without a change: %v, %v", changed, err)
	}
	now := t0.Add(time.Hour)
	next, err := Rotate(ctx, admin, now, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !next.Keys[0].ActiveFrom.Equal(now.Add(DefaultActivationDelay)) || next.Keys[1].ID != first.Keys[0].ID {
		t.Fatalf("rotated: %+v", next.Info())
	}
	if _, err := Rotate(ctx, admin, now.Add(time.Second), 0, nil); !errors.Is(err, ErrRotationPending) {
		t.Fatalf("a second rotation: %v, want ErrRotationPending", err)
	}
	if changed, err := ring.Refresh(ctx, agent); err != nil || !changed || len(ring.Keys().Keys) != 2 {
		t.Fatalf("Refresh after the rotation: %v, %v, %+v", changed, err, ring.Keys().Info())
	}
}
