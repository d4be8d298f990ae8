package agent

import (
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
)

// flowEntry is one flow the agent installed.
type flowEntry struct {
	// ufid identifies the flow in the datapath. Neither its key nor its
	// mask is kept: each is 512 bytes of pointers for the GC to scan.
	ufid datapath.UFID
	// seen is what the megaflow mask was computed from (Megaflow), unless
	// tunnel says the flow matches tunnelled-in packets by their outer
	// header.
	seen   packet.FieldSet
	tunnel tunnelMatch
	// vtep marks a simulated flow of packets from a VTEP: its mask adds
	// the tunnel key and source address to the megaflow's.
	vtep    bool
	actions datapath.Actions
	tags    []simulation.Tag
	// links holds the entry's place in the set of each of its tags,
	// links[i] for tags[i], while it is installed.
	links   []tagLink
	learned []simulation.MACLearning
	// state is what the stateful services hold for the flow, released
	// when it goes.
	state    StateRefs
	class    FlowClass
	deadline time.Time
	dead     bool
	// gen counts the entry's reuses (recycle): the class queues remember
	// it, so that they skip an entry recycled since.
	gen uint32
}

// entryRef is an entry as the class queues hold it: it stands for the
// flow while the entry has not been recycled since.
type entryRef struct {
	e   *flowEntry
	gen uint32
}

// live reports whether the flow r stands for is installed. Caller holds
// the table's mu.
func (r entryRef) live() bool { return r.e.gen == r.gen && !r.e.dead }

// tunnelMatch is what a flow for tunnelled-in packets matches.
type tunnelMatch uint8

const (
	// notTunnel: a flow simulated from a packet (translate.Megaflow).
	notTunnel tunnelMatch = iota
	// tunnelKeySource: the in-port, tunnel key and outer source
	// (translate.TunnelMask).
	tunnelKeySource
	// tunnelSource: the in-port and outer source only
	// (translate.TunnelSourceMask).
	tunnelSource
)

// maskTo writes the megaflow mask of the flow installed for key to *m.
func (e *flowEntry) maskTo(m, key *datapath.FlowKey) {
	switch {
	case e.tunnel == tunnelKeySource:
		*m = translate.TunnelMask(key)
	case e.tunnel == tunnelSource:
		*m = translate.TunnelSourceMask(key)
	case e.tunnel == notTunnel && e.vtep:
		*m = translate.VTEPMask(key, e.seen)
	default:
		translate.MegaflowTo(m, key, e.seen)
	}
}
