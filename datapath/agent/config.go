package agent

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/dhcp"
	"github.com/hivenet/hivenet/topology"
)

// Names and UDP port of the overlay tunnel ports, as the reference names them.
const (
	VXLANPortName = "tnvxlan-overlay"
	GREPortName   = "tngre-overlay"
	// VTEPPortName is the tunnel port of VXLAN to and from hardware VTEPs.
	VTEPPortName = "tnvxlan-vtep"
	// DefaultVXLANPort is the reference's overlay VXLAN UDP port.
	DefaultVXLANPort = 6677
	// DefaultVTEPPort is the IANA VXLAN port, which VTEPs use.
	DefaultVTEPPort = 4789
)

// Sentinel errors.
var (
	// ErrConfig: the Config is unusable.
	ErrConfig = errors.New("agent: invalid config")
	// ErrRunning: Run was called twice.
	ErrRunning = errors.New("agent: already running")
)

// Config configures an Agent. Host, NSDB and Datapath are required; every
// other zero value means the documented default.
type Config struct {
	// Host is this agent's host ID (a Host object of the topology).
	Host topology.ID
	// NSDB is the agent's session with the network-state database. The
	// agent does not close it.
	NSDB nsdb.Client
	// Datapath is the datapath the agent programs. It may also implement
	// the optional capabilities of package datapath (FlowBatcher,
	// DispatchKeeper, ...). The agent never flushes its flows.
	Datapath datapath.Datapath
	// Workers is the number of simulation workers, each with its own
	// upcall socket and simulation engine (default 2, the reference's
	// simulation_threads).
	Workers int
	// VXLANPort is the UDP port of the overlay VXLAN tunnel port (default
	// 6677).
	VXLANPort uint16
	// DisableGRE skips creating the GRE overlay port.
	DisableGRE bool
	// VTEPPort is the UDP port of the VXLAN tunnel port toward hardware
	// VTEPs (default 4789). The agent runs without VTEP traffic when it
	// cannot create that port (logged).
	VTEPPort uint16
	// UnderlayMTU is the MTU of the interface overlay packets leave by.
	// Zero means discovered: the MTU of the local interface holding this
	// host's tunnel-zone address, or DefaultUnderlayMTU when none does.
	UnderlayMTU int
	// TunnelOverhead is what encapsulation adds to a packet (default
	// DefaultTunnelOverhead, 50 bytes: VXLAN over IPv4). The tunnel MTU
	// (Agent.TunnelMTU) is UnderlayMTU minus this.
	TunnelOverhead int
	// DHCP configures the agent's DHCP server (server MAC, default
	// interface MTU, lease time); the zero value has the reference's
	// defaults.
	DHCP dhcp.Config
	// Timeouts are the flow, waiting-room, MAC and ARP timers.
	Timeouts Timeouts
	// Tick is the housekeeping interval: flow expiry, MAC and ARP
	// expiry, waiting-room timeouts, ARP retries (default 100 ms).
	Tick time.Duration
	// FlowState provides connection tracking and NAT. Nil means none,
	// unless Stateful is set.
	FlowState FlowState
	// Stateful, when FlowState is nil, gives the agent its own stateful
	// services (NewL4) with the default idle timeout, leasing dynamic SNAT
	// ports through the NSDB client's blocks (nsdb.BlockClaimer).
	Stateful bool
	// StateStore keeps this host's flow state (every message the agent
	// pushes or receives, saved off the packet path) so that it survives
	// a restart and a port's move: at start the agent loads the state of
	// each bound port from it before handling any upcall, re-claiming the
	// NAT port blocks of the connections that started on those ports; and
	// it serves it to a port's next host (StatePort). Typically a
	// flowstate/localstore.Store, which the caller opens and closes. Nil:
	// nothing is kept, a restarted agent starts with empty tables.
	StateStore flowstate.Store
	// SharedStateStore, if set, also receives every message (from a
	// queue of its own) and is where a port's state is read when neither
	// its previous host nor StateStore has it (flowstate/cassandra).
	SharedStateStore flowstate.Store
	// StatePort is the TCP port of the flow-state transfer service
	// (flowstate/transfer), served on this host's underlay addresses (its
	// tunnel-zone addresses) when StateStore is set, and asked on the
	// previous host's when a port moves here. Zero means
	// transfer.DefaultPort.
	StatePort uint16
	// NoStateTransfer neither serves nor asks for ports' state over the
	// network.
	NoStateTransfer bool
	// StateFetchTimeout bounds loading a moved port's state from its
	// previous host (default 3 s, the reference's budget); the port is
	// announced only after it.
	StateFetchTimeout time.Duration
	// FlowStateKeys authenticates the flow-state messages this agent
	// pushes and receives and its peer transfers (flowstate/auth). Nil:
	// the agent reads the cluster's keys from the NSDB's secrets
	// (nsdb.SecretKeeper) when it starts — creating them if no cluster
	// node did yet — and re-reads them every FlowStateKeyRefresh, so a
	// rotation reaches it. Messages without a valid MAC under one of the
	// keys are refused and counted.
	FlowStateKeys *auth.Keyring
	// FlowStateKeyRefresh is how often the keys are re-read from the
	// NSDB (default auth.DefaultRefresh, 5 s); keep it well under the
	// rotations' activation delay.
	FlowStateKeyRefresh time.Duration
	// Handover, if set, makes Run take over from another agent process
	// running on this host (a fast reboot): Run first reads the topology
	// and loads the state of this host's ports from StateStore while the
	// other process still forwards, touching neither the datapath nor the
	// NSDB; it then calls Handover, which returns once the other process
	// has stopped (or fails, and Run with it); Run then starts as after a
	// restart (reloading the state, to catch what the other process saved
	// meanwhile).
	Handover func(ctx context.Context) error
	// Simulation configures the simulation engines.
	Simulation simulation.Config
	// BGP configures the BGP speakers of the host's uplink ports
	// (bgpports.go); the zero value runs them in-process.
	BGP BGPConfig
	// Logger receives the agent's logs; nil discards them.
	Logger *slog.Logger
	// Registerer registers the agent's Prometheus metrics; nil registers
	// nothing (the metrics are still counted).
	Registerer prometheus.Registerer
	// Now returns the current time (default time.Now). Flow and state
	// timers read it; the housekeeping ticker runs on real time.
	Now func() time.Time
	// Rand returns random numbers for tunnel keys and simulations
	// (default math/rand/v2).
	Rand func() uint64
}

// Timeouts are the agent's timers. Zero fields take the reference's
// defaults (MidoNet's agent configuration).
type Timeouts struct {
	// Normal, Short, Stateful and Tunnel are the hard timeouts of the flow
	// classes: 60 s, 5 s, 30 s and 300 s.
	Normal, Short, Stateful, Tunnel time.Duration
	// WaitingRoom is how long a packet waits for missing state (an ARP
	// reply) before it is dropped with a short drop flow: 5 s.
	WaitingRoom time.Duration
	// MACExpiry is how long a learned MAC stays in the MAC table after
	// the last flow that used it is removed: 15 s.
	MACExpiry time.Duration
	// ARPRetry is the interval between ARP requests for an unresolved next
	// hop (10 s); ARPTimeout the time after which the agent stops asking
	// (60 s).
	ARPRetry, ARPTimeout time.Duration
	// ARPStale and ARPExpiration are the lifetimes written into ARP
	// entries the agent resolves: stale after 60 s, removed after 90 s.
	ARPStale, ARPExpiration time.Duration
	// TableIdle is how long the state tables of a device, opened on demand
	// because a simulation needed them, stay open once no installed flow
	// goes through the device and no packet waits on it: 5 min. Negative:
	// they stay open while the device exists.
	TableIdle time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Normal, 60*time.Second)
	def(&t.Short, 5*time.Second)
	def(&t.Stateful, 30*time.Second)
	def(&t.Tunnel, 300*time.Second)
	def(&t.WaitingRoom, 5*time.Second)
	def(&t.MACExpiry, 15*time.Second)
	def(&t.ARPRetry, 10*time.Second)
	def(&t.ARPTimeout, 60*time.Second)
	def(&t.ARPStale, 60*time.Second)
	def(&t.ARPExpiration, 90*time.Second)
	if t.TableIdle == 0 {
		t.TableIdle = 5 * time.Minute
	}
	return t
}

func (t *Timeouts) of(c FlowClass) time.Duration {
	switch c {
	case ClassShort:
		return t.Short
	case ClassStateful:
		return t.Stateful
	case ClassTunnel:
		return t.Tunnel
	}
	return t.Normal
}
