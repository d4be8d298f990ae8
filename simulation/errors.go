package simulation

import "errors"

// Errors returned by Simulate (wrapped with details) and used by Stateful
// implementations.
var (
	// ErrBadInput: the Input lacks a snapshot or a frame.
	ErrBadInput = errors.New("simulation: bad input")
	// ErrUnknownPort: Input.InPort is not a port of the snapshot.
	ErrUnknownPort = errors.New("simulation: unknown port")
	// ErrNotYet is returned (wrapped) by Stateful implementations when a
	// resource (a NAT lease, flow state) is not available yet; the
	// simulation then ends with the NotYet verdict.
	ErrNotYet = errors.New("simulation: state not available yet")
)
