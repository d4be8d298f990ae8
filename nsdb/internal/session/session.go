// Package session implements, once for every nsdb backend, what ends with a
// reason: nsdb.Session, and the Ending that sessions share with the
// leaderships and candidacies bound to them.
//
// It lives in nsdb/internal beside txn because only the backends use it:
// callers see nsdb.Session and nsdb.Leadership.
package session

import (
	"sync"

	"github.com/hivenet/hivenet/nsdb"
)

// Ending is something that ends once, with a reason: Done is closed and Err
// returns the reason from then on. The zero Ending is live; it is safe for
// concurrent use.
type Ending struct {
	mu    sync.Mutex
	done  chan struct{} // made on first use
	ended bool
	err   error
}

func (e *Ending) doneLocked() chan struct{} {
	if e.done == nil {
		e.done = make(chan struct{})
	}
	return e.done
}

// Done is closed when the Ending ends.
func (e *Ending) Done() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.doneLocked()
}

// Err is nil until the Ending ends, then the reason it was given.
func (e *Ending) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// End ends it with reason err (which should not be nil) and reports whether
// this call did: only the first End counts.
func (e *Ending) End(err error) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ended {
		return false
	}
	e.ended, e.err = true, err
	close(e.doneLocked())
	return true
}

// Ended reports whether it has ended.
func (e *Ending) Ended() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ended
}

// Session is one session of a client with the database; it implements
// nsdb.Session. Its backend ends it, with nsdb.ErrSessionExpired or
// nsdb.ErrClosed.
type Session struct {
	id nsdb.SessionID
	Ending
}

var _ nsdb.Session = (*Session)(nil)

// New returns a live session.
func New(id nsdb.SessionID) *Session { return &Session{id: id} }

// ID implements nsdb.Session.
func (s *Session) ID() nsdb.SessionID { return s.id }
