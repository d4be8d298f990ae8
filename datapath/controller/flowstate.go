package controller

import (
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
)

// FlowState is what the agent needs from its stateful services (connection
// tracking, NAT, load balancing; package simulation/l4): per-worker
// transactions for simulations, and the import of state pushed by peers.
// Nil in Config means no stateful services: every packet is a forward flow
// and NAT rules do not apply.
type FlowState interface {
	// NewWorker returns the transactions of one worker. It is called once
	// per worker; the result is used from that worker's goroutine only.
	NewWorker() FlowStateWorker
	// Import stores the keys of a message received from a peer (reference
	// count zero, idle expiry) and returns the tags of the flows that
	// depend on them (TagConntrack, TagNAT), which the agent invalidates.
	Import(msg *flowstate.Message, now time.Time) []simulation.Tag
	// Expire removes keys idle since their timeout and returns their tags.
	Expire(now time.Time) []simulation.Tag
}

// FlowStateWorker runs one transaction per simulation.
type FlowStateWorker interface {
	// Begin starts the transaction of the next simulation and returns the
	// simulation.Stateful it uses (Input.Stateful).
	Begin(now time.Time) simulation.Stateful
	// Commit commits the transaction of a simulation whose result is
	// acted on (a flow installed, or the packet executed): the keys it
	// created become visible to later simulations. It appends the keys to
	// push to peers to msg (Conns and NATs; the agent fills in the sender
	// and ports) and returns the references the flow holds, released when
	// the flow is removed (nil when none).
	Commit(r *simulation.Result, msg *flowstate.Message) StateRefs
	// Abort discards the transaction (NotYet, errors).
	Abort()
}

// StateRefs are the flow-state references held by an installed flow.
type StateRefs interface {
	// Release drops the references; keys whose count reaches zero start
	// their idle expiry.
	Release()
}

// FlowStateTunnelKey is the tunnel key of flow-state packets (§4.6): type
// 7, all 20 low bits set.
const FlowStateTunnelKey = 0xFFFFFF
