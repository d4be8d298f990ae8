package simulation

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// Verdict is the outcome of a simulation (the reference's device results
// after merging forks).
type Verdict uint8

// Verdicts. The zero Verdict is never returned by Simulate.
const (
	_ Verdict = iota
	// Forward: the packet leaves through Result.Outputs (one or more
	// exterior ports), with the rewrites each output's match carries.
	Forward
	// Consumed: the virtual network consumed the packet (an ARP request
	// answered, an echo reply generated, an ARP reply learned). The
	// reference calls it NoOp. No flow is installed.
	Consumed
	// Drop: a normal drop; a drop flow with the normal timeout may be
	// installed and keeps its tags.
	Drop
	// ShortDrop: a drop whose flow must be short-lived (no route, reject
	// route); tags are cleared.
	ShortDrop
	// ErrorDrop: a drop caused by an error or a transient condition (loop,
	// TTL exceeded, unresolvable next hop); short flow, tags cleared.
	ErrorDrop
	// NotYet: state needed by the simulation is missing (an ARP entry); the
	// agent parks the packet and simulates it again from scratch when the
	// state arrives (see Result.Waiting). No flow is installed.
	NotYet
)

var verdictNames = [...]string{"none", "forward", "consumed", "drop", "short-drop", "error-drop", "not-yet"}

// String returns the verdict's name ("forward", "short-drop", ...).
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// IsDrop reports whether v is Drop, ShortDrop or ErrorDrop.
func (v Verdict) IsDrop() bool { return v == Drop || v == ShortDrop || v == ErrorDrop }

// rank orders verdicts for merging fork branches: the higher rank wins.
// ErrorDrop and NotYet dominate, a forward beats every neutral outcome.
func (v Verdict) rank() int {
	switch v {
	case NotYet:
		return 6
	case ErrorDrop:
		return 5
	case Forward:
		return 4
	case ShortDrop:
		return 3
	case Drop:
		return 2
	case Consumed:
		return 1
	}
	return 0
}

// DropReason says why a packet was dropped (or, for NotYet, what is
// missing).
type DropReason uint8

// Drop reasons.
const (
	// ReasonNone: not dropped.
	ReasonNone DropReason = iota
	// ReasonLoop: the packet entered MaxDevices ports (a topology loop).
	ReasonLoop
	// ReasonPortDown: a port on the path is administratively down.
	ReasonPortDown
	// ReasonDeviceDown: a bridge or router on the path is administratively
	// down.
	ReasonDeviceDown
	// ReasonFilter: a rule chain dropped the packet.
	ReasonFilter
	// ReasonReject: a rule chain rejected the packet.
	ReasonReject
	// ReasonFragment: a router's inbound filter dropped a first fragment
	// (an ICMP fragmentation-needed error is generated).
	ReasonFragment
	// ReasonMulticastSrc: the Ethernet source is a group address.
	ReasonMulticastSrc
	// ReasonDstIsInPort: the bridge resolved the destination MAC to the
	// ingress port (a transient L2 loop).
	ReasonDstIsInPort
	// ReasonReflection: the packet would leave through the port it came in.
	ReasonReflection
	// ReasonVLAN: the frame's VLAN tags do not fit the port or device.
	ReasonVLAN
	// ReasonUnplugged: the packet reached a port that is neither bound nor
	// peered, or whose peer or device is missing.
	ReasonUnplugged
	// ReasonEtherType: a router received a frame that is neither IPv4 nor
	// ARP (IPv6 included).
	ReasonEtherType
	// ReasonNotForRouter: a router received a frame not addressed to its
	// port's MAC, or a non-ARP broadcast.
	ReasonNotForRouter
	// ReasonNoRoute: no usable route to the destination.
	ReasonNoRoute
	// ReasonBlackhole: a blackhole route matched.
	ReasonBlackhole
	// ReasonRejectRoute: a reject route matched.
	ReasonRejectRoute
	// ReasonLocal: a packet for the router itself that it does not answer.
	ReasonLocal
	// ReasonTTL: the TTL expired.
	ReasonTTL
	// ReasonNoAddress: the out-port has no IPv4 address, or the packet is
	// addressed to the out-port itself.
	ReasonNoAddress
	// ReasonUnresolved: the next hop's MAC cannot be found.
	ReasonUnresolved
	// ReasonARPPending: the next hop's MAC is not known yet (NotYet).
	ReasonARPPending
	// ReasonStateful: the stateful services (conntrack, NAT) failed or are
	// waiting for state.
	ReasonStateful
	// ReasonMalformed: the frame is too broken to be routed.
	ReasonMalformed
	// ReasonNoOutput: a flood found no port to send to.
	ReasonNoOutput
	// ReasonBadInput: the Input itself is unusable (see Simulate's error).
	ReasonBadInput
	// ReasonLoadBalancer: a router's load balancer dropped the packet (no
	// backend up for a VIP, or a backend's reply that is no longer valid).
	ReasonLoadBalancer
	// ReasonFragNeeded: the packet is larger than the MTU of the router
	// port it would leave by and has the don't-fragment bit: an ICMP
	// fragmentation-needed error carrying the MTU is generated.
	ReasonFragNeeded
	// ReasonTooBig: the packet is larger than the MTU of the router port
	// it would leave by and may be fragmented, which routers do not do.
	ReasonTooBig
)

var reasonNames = [...]string{
	ReasonNone:         "none",
	ReasonLoop:         "loop",
	ReasonPortDown:     "port-down",
	ReasonDeviceDown:   "device-down",
	ReasonFilter:       "filter-drop",
	ReasonReject:       "filter-reject",
	ReasonFragment:     "fragment",
	ReasonMulticastSrc: "multicast-source",
	ReasonDstIsInPort:  "dst-is-in-port",
	ReasonReflection:   "reflection",
	ReasonVLAN:         "vlan",
	ReasonUnplugged:    "unplugged",
	ReasonEtherType:    "ethertype",
	ReasonNotForRouter: "not-for-router",
	ReasonNoRoute:      "no-route",
	ReasonBlackhole:    "blackhole",
	ReasonRejectRoute:  "reject-route",
	ReasonLocal:        "local",
	ReasonTTL:          "ttl-exceeded",
	ReasonNoAddress:    "no-address",
	ReasonUnresolved:   "unresolved-next-hop",
	ReasonARPPending:   "arp-pending",
	ReasonStateful:     "stateful",
	ReasonMalformed:    "malformed",
	ReasonNoOutput:     "no-output",
	ReasonBadInput:     "bad-input",
	ReasonLoadBalancer: "load-balancer",
	ReasonFragNeeded:   "frag-needed",
	ReasonTooBig:       "mtu-exceeded",
}

// NumDropReasons is the number of drop reasons: they run from ReasonNone
// to NumDropReasons-1.
const NumDropReasons = DropReason(len(reasonNames))

// String returns the reason's name ("no-route", "filter-drop", ...).
func (r DropReason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// FlowClass says whether and for how long the agent installs a kernel flow
// for the simulated packet.
type FlowClass uint8

// Flow classes.
const (
	// FlowNormal: install a flow with the normal hard timeout (60 s).
	FlowNormal FlowClass = iota
	// FlowShort: install a flow with the short timeout (5 s): ShortDrop and
	// ErrorDrop.
	FlowShort
	// FlowNone: install no kernel flow; the packet is executed (or dropped)
	// from userspace only. Used for Consumed, NotYet, generated packets and
	// decisions that depended on fields the kernel cannot match
	// (packet.UserspaceFields) or that must see every packet (gratuitous ARP).
	FlowNone
)

// Flow hard timeouts, the reference's values: FlowNormal flows expire after
// NormalTimeout, FlowShort flows after ShortTimeout.
const (
	NormalTimeout = 60 * time.Second
	ShortTimeout  = 5 * time.Second
)

// Timeout returns the hard timeout of the class, or 0 for FlowNone.
func (c FlowClass) Timeout() time.Duration {
	switch c {
	case FlowNormal:
		return NormalTimeout
	case FlowShort:
		return ShortTimeout
	}
	return 0
}

// String returns "normal", "short" or "none".
func (c FlowClass) String() string {
	switch c {
	case FlowNormal:
		return "normal"
	case FlowShort:
		return "short"
	}
	return "none"
}

// Output is one virtual output action: the packet leaves through Port, an
// exterior port, carrying Match. Match is the working match at the moment
// the packet left: its Modified fields (compared with Result.Original via
// packet.Changed) are the header rewrites to apply before this output. With
// several outputs (a flood), each one carries its own match; rewrites are
// not cumulative across outputs.
type Output struct {
	Port  topology.ID
	Match packet.Match
}

// GeneratedPacket is a frame the virtual network emits (ARP request or
// reply, ICMP error, ICMP echo reply). The agent simulates it again with
// Input.Generated set and Input.InPort = Port: it starts at that port's
// egress. Frame points into the Result's buffer: it is valid until the Result
// is passed to Simulate again, so re-simulate it with another Result (or copy
// it).
type GeneratedPacket struct {
	Port  topology.ID
	Frame []byte
}

// MACLearning asks the agent to hold a reference to the bridge's MAC-table
// entry VLAN/MAC -> Port for as long as the flow lives (the reference's
// per-agent refcount; the entry is written on the first reference). For
// verdicts that install no long-lived flow the agent takes and releases the
// reference at once, which refreshes the entry's expiry.
type MACLearning struct {
	Bridge topology.ID
	VLAN   uint16
	MAC    topology.MAC
	Port   topology.ID
}

// ARPWrite asks the agent to write IP -> MAC into the router's ARP table.
// The agent applies state writes before it sends the generated packets.
type ARPWrite struct {
	Router topology.ID
	IP     netip.Addr
	MAC    topology.MAC
}

// IP4MACWrite asks the agent to write IP -> MAC into the bridge's IPv4-MAC
// table (learned from a gratuitous ARP).
type IP4MACWrite struct {
	Bridge topology.ID
	IP     netip.Addr
	MAC    topology.MAC
}

// ARPTarget names a next hop whose MAC a router needs: the router, the
// port the ARP request leaves through and the address asked for.
type ARPTarget struct {
	Router topology.ID
	Port   topology.ID
	IP     netip.Addr
}

// IsZero reports whether t names nothing.
func (t ARPTarget) IsZero() bool { return t == ARPTarget{} }

// Result is everything a simulation computed. A Result is reusable: pass
// the same value to Simulate again and its slices are reused, so a warmed-up
// Result makes simulation allocation-free.
type Result struct {
	Verdict Verdict
	// Reason says why the packet was dropped, or what NotYet waits for.
	Reason DropReason
	// Flow says whether a kernel flow is installed and its timeout.
	Flow FlowClass
	// Outputs lists the exterior ports the packet leaves through (Forward
	// only), in simulation order.
	Outputs []Output
	// Original is the packet as it entered the simulation. Its Seen set is
	// the megaflow mask: every field any device examined, on any branch.
	Original packet.Match
	// Seen is Original.Seen() plus packet.FieldInPort, which is always
	// matched exactly.
	Seen packet.FieldSet
	// Generated lists the packets the virtual network emitted.
	Generated []GeneratedPacket
	// Learned lists the MAC-table references the flow holds.
	Learned []MACLearning
	// ARPWrites and IP4MACWrites are the state-table writes requested.
	ARPWrites    []ARPWrite
	IP4MACWrites []IP4MACWrite
	// ARPRefresh lists next hops whose ARP entries were used while stale:
	// the agent's ARP broker should refresh them.
	ARPRefresh []ARPTarget
	// Tags are the flow's invalidation tags. For ShortDrop and
	// ErrorDrop only flow-state tags (conntrack, NAT) are kept, as in the
	// reference. A tag may appear more than once.
	Tags []Tag
	// Waiting is the next hop a NotYet verdict waits for.
	Waiting ARPTarget
	// Devices counts the port ingresses the simulation went through (the
	// loop guard's counter).
	Devices int
	// MTU is the smallest router-port MTU the packet was checked against
	// and fit (topology.Port.MTU), or 0. The result holds only for packets
	// whose IP datagram is at most MTU bytes: larger packets of the same
	// flow must be simulated again (the agent's megaflow sends them to
	// userspace with check_pkt_len), since lengths are in no flow key.
	MTU uint16
	// Trace is the simulation's trace when Input.Trace was set, else nil.
	Trace *Trace

	buf  []byte    // frames of Generated
	gens []genSpan // Generated frames as offsets into buf
}

type genSpan struct {
	port       topology.ID
	start, end int
}

// reset empties r for a new simulation, keeping its capacity.
func (r *Result) reset() {
	r.Verdict = 0
	r.Reason = ReasonNone
	r.Flow = FlowNormal
	r.Outputs = r.Outputs[:0]
	// Original is written by every path of Simulate (bad input clears it).
	r.Seen = 0
	r.Generated = r.Generated[:0]
	r.Learned = r.Learned[:0]
	r.ARPWrites = r.ARPWrites[:0]
	r.IP4MACWrites = r.IP4MACWrites[:0]
	r.ARPRefresh = r.ARPRefresh[:0]
	r.Tags = r.Tags[:0]
	r.Waiting = ARPTarget{}
	r.Devices = 0
	r.MTU = 0
	r.Trace = nil
	r.buf = r.buf[:0]
	r.gens = r.gens[:0]
}

// OutPorts appends the ports of r.Outputs to dst and returns it.
func (r *Result) OutPorts(dst []topology.ID) []topology.ID {
	for i := range r.Outputs {
		dst = append(dst, r.Outputs[i].Port)
	}
	return dst
}

// HasTag reports whether t is among r.Tags.
func (r *Result) HasTag(t Tag) bool {
	for _, x := range r.Tags {
		if x == t {
			return true
		}
	}
	return false
}

// materialize returns the frame of m: a copy of the input frame with m's
// rewrites applied. The result lives in e.scratch until the next call.
func (e *Engine) materialize(m *packet.Match) ([]byte, error) {
	e.scratch = append(e.scratch[:0], e.in.Frame...)
	f, err := packet.Apply(e.scratch, e.orig, m)
	if err != nil {
		return nil, err
	}
	e.scratch = f
	return f, nil
}

// addGenerated records a frame appended to the result buffer at start, or
// rolls the buffer back when building it failed.
func (e *Engine) addGenerated(port topology.ID, start int, b []byte, err error, what string) {
	if err != nil {
		e.r.buf = e.r.buf[:start]
		if e.tracing {
			e.note("generate", "", "could not build "+what+": "+err.Error())
		}
		return
	}
	e.r.buf = b
	e.r.gens = append(e.r.gens, genSpan{port: port, start: start, end: len(b)})
	if e.tracing {
		var m packet.Match
		text := what
		if m.Parse(b[start:]) == nil {
			text = what + ": " + describe(m.Peek())
		}
		e.note("generate", e.portName(port), text)
	}
}
