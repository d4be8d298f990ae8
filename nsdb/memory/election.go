package memory

import (
	"context"
	"fmt"
	"slices"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/session"
	"github.com/hivenet/hivenet/nsdb/internal/validate"
	"github.com/hivenet/hivenet/nsdb/internal/watch"
)

// election is the queue of candidates of one election; the first leads.
type election struct {
	name    string
	cands   []*candidacy
	watches map[*leaderWatch]struct{}
}

type leaderWatch = watch.Watch[struct{}, nsdb.Leader]

// candidacy is a session's place in an election; once elected it is the
// Leadership.
type candidacy struct {
	srv     *Server
	el      *election
	sess    nsdb.SessionID
	value   string
	elected chan struct{} // closed when it becomes leader
	// Ending ends when the candidacy leaves the election.
	session.Ending
}

func (c *candidacy) Resign(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	c.srv.withdraw(c, nsdb.ErrClosed)
	return nil
}

func (e *election) leader() nsdb.Leader {
	if len(e.cands) == 0 {
		return nsdb.Leader{}
	}
	return nsdb.Leader{Value: e.cands[0].value, Session: e.cands[0].sess}
}

// withdraw removes c from its election, electing the next candidate if c
// led; the caller holds s.mu. Idempotent.
func (s *Server) withdraw(c *candidacy, why error) {
	e := c.el
	i := slices.Index(e.cands, c)
	if i < 0 {
		return
	}
	e.cands = slices.Delete(e.cands, i, i+1)
	if st := s.sessions[c.sess]; st != nil {
		delete(st.cands, c)
	}
	c.End(why)
	if i == 0 {
		if len(e.cands) > 0 {
			close(e.cands[0].elected)
		}
		l := e.leader()
		for w := range e.watches {
			w.Push(struct{}{}, l)
		}
	}
}

func (s *Server) election(name string) *election {
	e := s.elections[name]
	if e == nil {
		e = &election{name: name, watches: make(map[*leaderWatch]struct{})}
		s.elections[name] = e
	}
	return e
}

type elections struct{ c *Client }

func (el elections) Campaign(ctx context.Context, name, value string) (nsdb.Leadership, error) {
	if err := validate.Name("election", name); err != nil {
		return nil, err
	}
	if err := el.c.begin(ctx); err != nil {
		return nil, err
	}
	s := el.c.srv
	e := s.election(name)
	sess := el.c.sess
	for _, c := range e.cands {
		if c.sess == sess.ID() {
			s.mu.Unlock()
			return nil, fmt.Errorf("%w: session %d already campaigns in election %q", nsdb.ErrExists, sess.ID(), name)
		}
	}
	c := &candidacy{srv: s, el: e, sess: sess.ID(), value: value,
		elected: make(chan struct{})}
	e.cands = append(e.cands, c)
	s.sessions[sess.ID()].cands[c] = struct{}{}
	if len(e.cands) == 1 {
		close(c.elected)
		l := e.leader()
		for w := range e.watches {
			w.Push(struct{}{}, l)
		}
	}
	s.mu.Unlock()

	select {
	case <-c.elected:
		return c, nil
	case <-c.Done():
		// The session ended before the candidacy won: ErrSessionExpired
		// or ErrClosed.
		return nil, c.Err()
	case <-ctx.Done():
		s.mu.Lock()
		s.withdraw(c, ctx.Err())
		s.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (el elections) Leader(ctx context.Context, name string) (nsdb.Leader, error) {
	if err := validate.Name("election", name); err != nil {
		return nsdb.Leader{}, err
	}
	if err := el.c.beginRead(ctx); err != nil {
		return nsdb.Leader{}, err
	}
	defer el.c.srv.mu.RUnlock()
	if e := el.c.srv.elections[name]; e != nil {
		return e.leader(), nil
	}
	return nsdb.Leader{}, nil
}

func (el elections) Candidates(ctx context.Context, name string) (int, error) {
	if err := validate.Name("election", name); err != nil {
		return 0, err
	}
	if err := el.c.beginRead(ctx); err != nil {
		return 0, err
	}
	defer el.c.srv.mu.RUnlock()
	if e := el.c.srv.elections[name]; e != nil {
		return len(e.cands), nil
	}
	return 0, nil
}

func (el elections) WatchLeader(ctx context.Context, name string) (nsdb.Watch[nsdb.Leader], error) {
	if err := validate.Name("election", name); err != nil {
		return nil, err
	}
	if err := el.c.begin(ctx); err != nil {
		return nil, err
	}
	s := el.c.srv
	defer s.mu.Unlock()
	e := s.election(name)
	w := watch.New[struct{}](watch.Leaders())
	w.Push(struct{}{}, e.leader())
	e.watches[w] = struct{}{}
	w.OnClose(func() {
		s.mu.Lock()
		delete(e.watches, w)
		s.mu.Unlock()
		el.c.untrack(w)
	})
	el.c.track(w)
	return w, nil
}

type sequences struct{ c *Client }

func (sq sequences) Next(ctx context.Context, seq nsdb.Sequence) (uint64, error) {
	if err := validate.Name("sequence", seq.Name); err != nil {
		return 0, err
	}
	if err := sq.c.begin(ctx); err != nil {
		return 0, err
	}
	s := sq.c.srv
	defer s.mu.Unlock()
	v, ok := s.sequences[seq.Name]
	if !ok {
		v = seq.Seed
	}
	s.sequences[seq.Name] = v + 1
	return v, nil
}
