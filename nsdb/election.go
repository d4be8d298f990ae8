package nsdb

import "context"

// Leader is the holder of an election as observers see it. The zero Leader
// means the election has no leader.
type Leader struct {
	// Value is what the leader passed to Campaign (typically its host ID).
	Value   string
	Session SessionID
}

// IsZero reports whether l means "no leader".
func (l Leader) IsZero() bool { return l.Session == 0 }

// Leadership is held by a client that won an election. It ends when the
// holder resigns or when its session ends (expiry, or Close of the client);
// the context given to Campaign only bounds the wait for it. Once Done is
// closed the holder must stop acting as leader: observers may already see
// another leader.
type Leadership interface {
	// Done is closed when the leadership ends.
	Done() <-chan struct{}
	// Err is nil while the leadership holds, then says why it ended:
	// ErrClosed after Resign or client Close, ErrSessionExpired after
	// session expiry.
	Err() error
	// Resign gives up the leadership; the next candidate, in campaign
	// order, becomes leader. Idempotent.
	Resign(ctx context.Context) error
}

// Elections runs leader elections (the reference's Curator leader latches).
// Candidates are queued in the order they campaigned; the first live one
// leads. Election names must satisfy ValidName (ErrInvalid otherwise).
type Elections interface {
	// Campaign enters the caller's session as a candidate and blocks until
	// it becomes leader. If ctx ends first, the candidacy is withdrawn and
	// ctx's error returned; if the session expires first, ErrSessionExpired
	// is returned (campaign again: the client has a new session). A session
	// may hold at most one candidacy per election: campaigning again while
	// a candidate or leader returns ErrExists.
	Campaign(ctx context.Context, election, value string) (Leadership, error)
	// Leader returns the current leader, or the zero Leader.
	Leader(ctx context.Context, election string) (Leader, error)
	// Candidates returns the number of live candidacies of the election,
	// the leader's included: a campaign counts from the moment it is
	// queued, so callers (and tests) can observe that it was.
	Candidates(ctx context.Context, election string) (int, error)
	// WatchLeader subscribes to the election's leader: each batch holds one
	// Leader (the zero Leader when there is none), the first one being the
	// current leader. ctx bounds only the setup.
	WatchLeader(ctx context.Context, election string) (Watch[Leader], error)
}

// Sequence is a shared counter that dispenses unique numbers.
type Sequence struct {
	// Name must satisfy ValidName.
	Name string
	// Seed is the first number dispensed; it is ignored once the sequence
	// exists.
	Seed uint64
}

// SeqOverlayTunnelKey dispenses overlay tunnel keys, from 1.
func SeqOverlayTunnelKey() Sequence { return Sequence{Name: "overlay_tunnel_key", Seed: 1} }

// SeqVxGWTunnelKey dispenses VxLAN gateway VNIs, from 10000.
func SeqVxGWTunnelKey() Sequence { return Sequence{Name: "vxgw_tunnel_key", Seed: 10000} }

// Sequences dispenses numbers from shared counters.
type Sequences interface {
	// Next returns the sequence's next number: its seed on first use, then
	// one more each time. Every number is returned at most once across all
	// clients, even under concurrency; numbers of a failed or cancelled
	// call may be skipped. (ZooKeeper: compare-and-set on the counter node,
	// retried.)
	Next(ctx context.Context, seq Sequence) (uint64, error)
}
