package harness

import "errors"

// Errors returned (wrapped, with details) by the harness.
var (
	// ErrUnknownName: no object of that kind has that name.
	ErrUnknownName = errors.New("harness: unknown name")
	// ErrNotExterior: packets enter and leave the virtual network through
	// exterior ports only.
	ErrNotExterior = errors.New("harness: not an exterior port")
	// ErrBadPacket: the packet cannot be built (an argument does not parse,
	// no source address or destination MAC is known).
	ErrBadPacket = errors.New("harness: bad packet")
	// ErrNoReply: Reply was given a result that delivered nothing to
	// answer, or a packet that has no answer.
	ErrNoReply = errors.New("harness: nothing to reply to")
	// ErrBadState: a State given to SetState holds a value that cannot be
	// stored (an IPv6 address in a flow-state key, an unknown NAT type).
	ErrBadState = errors.New("harness: bad state")
	// ErrNotMonitored: SetMemberUp was given a pool member whose status
	// the health monitor does not decide.
	ErrNotMonitored = errors.New("harness: pool member not monitored")
	// ErrPortsExhausted: the NAT targets of a dynamic SNAT rule have no
	// free port block left.
	ErrPortsExhausted = errors.New("harness: NAT ports exhausted")
)
