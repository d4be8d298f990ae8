package session

import (
	"errors"
	"sync"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestEndingEndsOnceWithTheFirstReason(t *testing.T) {
	var e Ending
	if e.Ended() || e.Err() != nil || closed(e.Done()) {
		t.Fatal("the zero Ending is not live")
	}
	done := e.Done()
	if !e.End(nsdb.ErrSessionExpired) {
		t.Fatal("the first End did not count")
	}
	if e.End(nsdb.ErrClosed) {
		t.Fatal("a second End counted")
	}
	if !closed(done) || !closed(e.Done()) || !e.Ended() {
		t.Fatal("Done not closed after End")
	}
	if !errors.Is(e.Err(), nsdb.ErrSessionExpired) {
		t.Fatalf("Err = %v, want the first reason", e.Err())
	}
}

func TestEndingWithoutDoneBeforehand(t *testing.T) {
	var e Ending
	e.End(nsdb.ErrClosed)
	if !closed(e.Done()) {
		t.Fatal("Done asked for after End is not closed")
	}
}

func TestConcurrentEndsCountOnce(t *testing.T) {
	var e Ending
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-e.Done()
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e.End(nsdb.ErrClosed) {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d Ends counted, want 1", wins)
	}
}

func TestSession(t *testing.T) {
	s := New(42)
	var _ nsdb.Session = s
	if s.ID() != 42 || s.Err() != nil {
		t.Fatalf("new session: ID %d, Err %v", s.ID(), s.Err())
	}
	s.End(nsdb.ErrClosed)
	if !closed(s.Done()) || !errors.Is(s.Err(), nsdb.ErrClosed) {
		t.Fatal("ended session")
	}
}
