package simulation

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// Stateful is the extension point for stateful services: connection tracking
// and NAT. Input.Stateful nil means "no stateful services": every packet is a
// forward flow (except generated packets, which are always return flows), and
// NAT rules are not applied (the rule then acts as CONTINUE, and the trace
// says why).
//
// Implementations are called synchronously from the simulating goroutine
// and must not block. They read and rewrite the packet through the Flow they
// are given; getters widen the megaflow exactly as device code does.
// Implementations that keep per-simulation transactions (NAT leases,
// conntrack keys) commit or abort them after Simulate returns, according to
// the Result.
type Stateful interface {
	// ReturnFlow reports whether the packet is the return direction of a
	// connection tracked by f.IngressDevice(). The engine calls it lazily,
	// at most once per simulation, the first time a rule condition asks for
	// forward or return flows, and never for generated packets. The lookup
	// key is built from f.Original(). When the key is absent (a forward
	// flow) the implementation tags the flow with it (TagConntrack) so that
	// a late-arriving key invalidates the flow.
	ReturnFlow(f *Flow) bool
	// NAT applies a matched NAT rule (rule.Type == topology.RuleNAT) of a
	// chain owned by device to f.Match(): forward or reverse, static or
	// dynamic. It reports whether the rule applied; a rule that does not
	// apply (unsupported protocol, no reverse mapping) lets the chain go on
	// with the next rule. A DNAT that changes the destination must call
	// f.SetNwDstRewritten. An error wrapping ErrNotYet ends the simulation
	// with NotYet; any other error with ErrorDrop.
	NAT(f *Flow, device topology.ID, rule *topology.Rule) (applied bool, err error)
	// Emit is called when the packet leaves through an exterior port, with
	// f.Match() holding the final headers; forward flows record their
	// reversed conntrack key for the port's device here. An error wrapping
	// ErrNotYet ends the simulation with NotYet; any other with ErrorDrop.
	Emit(f *Flow, port *topology.Port) error
}

// LoadBalancer is implemented by Stateful implementations that also run
// routers' L4 load balancers. When Input.Stateful implements it, a router
// whose Router.LoadBalancer is set calls LoadBalance twice on the way
// through:
//
//   - Inbound, after the router accepted the packet and before its inbound
//     filter: LBAccept (the packet was DNATed to a backend) skips the
//     inbound filter; LBDrop drops the packet as the inbound filter would;
//     LBContinue runs the inbound filter.
//   - Outbound, after routing chose the out-port and before the outbound
//     filter (f.OutPort() is set): LBAccept (a backend's reply was
//     translated back to the VIP) skips the outbound filter; LBDrop drops
//     the packet; LBContinue runs the outbound filter.
//
// Errors are handled as for NAT: ErrNotYet ends the simulation with NotYet,
// anything else with ErrorDrop. LoadBalance is never called for the
// throw-away evaluation of a router's own replies.
type LoadBalancer interface {
	LoadBalance(f *Flow, router *topology.Router, lb topology.ID, dir Direction) (LBResult, error)
}

// Direction says which of a router's load-balancer hooks runs.
type Direction uint8

// Load-balancer hook directions.
const (
	// Inbound: before the router's inbound filter (new connections to a
	// VIP are DNATed to a backend).
	Inbound Direction = iota + 1
	// Outbound: after routing (backends' replies are translated back).
	Outbound
)

// String returns "inbound" or "outbound".
func (d Direction) String() string {
	switch d {
	case Inbound:
		return "inbound"
	case Outbound:
		return "outbound"
	}
	return "direction(" + strconv.Itoa(int(d)) + ")"
}

// LBResult is a load balancer's decision, the reference's rule action.
type LBResult uint8

// Load-balancer decisions.
const (
	// LBContinue: the packet is not the load balancer's business; the
	// router's filter runs as usual.
	LBContinue LBResult = iota
	// LBAccept: the load balancer translated the packet; the router skips
	// its filter for this direction.
	LBAccept
	// LBDrop: the packet belongs to the load balancer but cannot be served
	// (no backend up, VIP gone, backend no longer valid).
	LBDrop
)

// String returns "continue", "accept" or "drop".
func (r LBResult) String() string {
	switch r {
	case LBContinue:
		return "continue"
	case LBAccept:
		return "accept"
	case LBDrop:
		return "drop"
	}
	return "lb-result(" + strconv.Itoa(int(r)) + ")"
}

// Flow is the view of a simulation in progress that Stateful
// implementations get. It is only valid during the call it is passed to.
type Flow struct {
	e *Engine
}

// Snapshot returns the topology the simulation runs on.
func (f *Flow) Snapshot() *topology.Snapshot { return f.e.snap }

// Original returns the packet as it entered the simulation. Reading it
// through getters widens the megaflow; use Peek to read without marking.
func (f *Flow) Original() *packet.Match { return f.e.orig }

// Match returns the working match: the packet as it is now, with every
// rewrite so far (during a throw-away evaluation, the throw-away copy).
// Setters record rewrites.
func (f *Flow) Match() *packet.Match { return f.e.cur }

// IngressPort returns the port the simulation started at (for generated
// packets: the port they are emitted from).
func (f *Flow) IngressPort() topology.ID { return f.e.startPort.ID }

// IngressDevice returns the bridge or router owning IngressPort: the device
// whose conntrack table a lookup uses.
func (f *Flow) IngressDevice() topology.ID { return f.e.startPort.Device() }

// InPort returns the ingress port of the device being simulated, or the
// zero ID.
func (f *Flow) InPort() topology.ID { return idOf(f.e.curIn) }

// OutPort returns the egress port chosen so far by the device being
// simulated, or the zero ID.
func (f *Flow) OutPort() topology.ID { return idOf(f.e.curOut) }

// Generated reports whether the packet was generated by the virtual network
// (including a router's reply being evaluated on a throw-away context).
func (f *Flow) Generated() bool { return f.e.in.Generated || f.e.throwAway }

// ThrowAway reports whether the match is a throw-away copy: a reply the
// router generates, run through its outbound filter only to learn the
// post-filter source (so that a floating IP's SNAT applies). Stateless
// rewrites (static NAT) should apply; nothing may be committed (no dynamic
// NAT allocation, no conntrack entry).
func (f *Flow) ThrowAway() bool { return f.e.throwAway }

// Serial identifies the simulation in progress: it differs between any two
// Simulate calls of the same Engine (it is a counter), so a Stateful
// implementation can tell a new simulation from the one it last saw.
func (f *Flow) Serial() uint64 { return f.e.serial }

// Now returns the simulation's time (Input.Now).
func (f *Flow) Now() time.Time { return f.e.in.Now }

// Rand returns the next value of the simulation's deterministic random
// stream, seeded by Input.Rand.
func (f *Flow) Rand() uint64 { return f.e.rand() }

// AddTag adds an invalidation tag to the flow.
func (f *Flow) AddTag(t Tag) { f.e.tag(t) }

// AddConntrackTag adds TagConntrack(src, srcPort, dst, dstPort, proto,
// device), built in place (cheaper than AddTag on the hot path).
func (f *Flow) AddConntrackTag(src netip.Addr, srcPort uint16, dst netip.Addr, dstPort uint16, proto uint8, device topology.ID) {
	t := f.e.newTag()
	t.tagHead = tagHead{kind: TagKindConntrack}
	t.id = device
	t.id2 = topology.ID{}
	pack(&t.id2, src, srcPort, dst, dstPort, proto)
}

// AddNATTag adds TagNAT(typ, src, srcPort, dst, dstPort, proto, device),
// built in place.
func (f *Flow) AddNATTag(typ uint8, src netip.Addr, srcPort uint16, dst netip.Addr, dstPort uint16, proto uint8, device topology.ID) {
	t := f.e.newTag()
	t.tagHead = tagHead{kind: TagKindNAT, sub: typ}
	t.id = device
	t.id2 = topology.ID{}
	pack(&t.id2, src, srcPort, dst, dstPort, proto)
}

// SetNwDstRewritten records that the destination address was rewritten
// (DNAT), for the nw-dst-rewritten condition.
func (f *Flow) SetNwDstRewritten() { f.e.nwDstRewritten = true }

// Tracing reports whether the simulation is traced.
func (f *Flow) Tracing() bool { return f.e.tracing }

// Note adds a line to the trace when tracing; it does nothing otherwise.
func (f *Flow) Note(text string) {
	if f.e.tracing {
		f.e.note("stateful", "", text)
	}
}

func idOf(p *portInfo) topology.ID {
	if p == nil {
		return topology.ID{}
	}
	return p.ID
}
