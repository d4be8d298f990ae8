package flowstate

import (
	"context"

	"github.com/hivenet/hivenet/topology"
)

// Store persists state messages so that a port's connections survive an
// agent restart or a VM migration: the agent saves every message it pushes,
// and when it binds a port it loads what was saved for that port (from the
// previous owner or a local store) before announcing the port active.
//
// Implementations (a local store, Cassandra) keep entries for about the
// idle timeout of the keys they hold; the reference indexes entries by both
// ingress and egress port.
type Store interface {
	// Save records msg under its ingress and egress ports.
	Save(ctx context.Context, msg *Message) error
	// Load calls fn with each saved message that involves port, until fn
	// returns an error, which Load returns.
	Load(ctx context.Context, port topology.ID, fn func(*Message) error) error
}
