package nsdb

import "context"

// Session is one session of a client with the database. Everything ephemeral
// the client writes while the session lives — learned table entries, state
// key values, candidacies and leaderships — is owned by it and removed, with
// watchers notified, when it ends.
type Session interface {
	// ID identifies the session; KeyValue.Owner and Leader.Session name it.
	ID() SessionID
	// Done is closed when the session ends.
	Done() <-chan struct{}
	// Err is nil while the session lives, then ErrSessionExpired (it
	// expired: the agent was presumed dead) or ErrClosed (the client was
	// closed).
	Err() error
}

// Client is one agent's connection to the database: one session at a time.
// All methods are safe for concurrent use.
//
// When the session expires, the client opens a new one by itself and carries
// on: object reads, writes and watches are unaffected, ephemeral state owned
// by the old session is gone, and later ephemeral writes belong to the new
// session. Owners of ephemeral state watch Session().Done() and re-register
// what they need:
//
//	for {
//		s, err := c.Session(ctx)
//		if err != nil {
//			return err
//		}
//		register(ctx) // alive, active ports, table entries...
//		select {
//		case <-s.Done():
//		case <-ctx.Done():
//			return ctx.Err()
//		}
//	}
type Client interface {
	// Store returns the topology object store.
	Store() Store
	// Tables opens replicated state tables.
	Tables() Tables
	// StateKeys returns the ephemeral state keys.
	StateKeys() StateKeys
	// Elections returns the leader elections.
	Elections() Elections
	// Sequences returns the shared counters.
	Sequences() Sequences
	// Session returns the client's current live session, waiting for one
	// to be established if there is none (after an expiry); ErrClosed once
	// the client is closed.
	Session(ctx context.Context) (Session, error)
	// Close ends the session — removing its ephemeral state at once — and
	// releases every watch and table handle of the client, which then
	// report ErrClosed. Idempotent.
	Close() error
}
