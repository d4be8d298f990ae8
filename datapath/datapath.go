package datapath

import (
	"context"
	"iter"
	"time"
)

// Datapath is what the agent needs from a datapath: ports, megaflows,
// packet execution and upcall sockets. The kernel client
// (datapath/kernel.Datapath) and the in-process datapath implement it.
// Management of datapaths themselves (create, delete, features) belongs to
// the concrete implementations.
//
// Methods are safe for concurrent use. Errors wrap the sentinels of this
// package (ErrNotFound, ErrExists, ...) inside an *OpError.
type Datapath interface {
	// CreatePort adds a port and returns it with its number assigned.
	CreatePort(ctx context.Context, spec PortSpec) (Port, error)
	// DeletePort removes a port.
	DeletePort(ctx context.Context, port PortNumber) error
	// Ports lists the ports, ordered by number.
	Ports(ctx context.Context) ([]Port, error)

	// PutFlow installs or modifies a flow according to mode. The flow is
	// identified by f.UFID when non-zero, else by f.Match.Key.
	PutFlow(ctx context.Context, f *Flow, mode PutMode) error
	// DeleteFlow removes the flow identified by f.UFID (or f.Match.Key) and
	// returns its final statistics.
	DeleteFlow(ctx context.Context, f *Flow) (FlowStats, error)
	// GetFlow returns the flow identified by f.UFID (or f.Match.Key).
	GetFlow(ctx context.Context, f *Flow) (Flow, error)
	// Flows iterates over all flows. Iteration stops at the first error.
	Flows(ctx context.Context) iter.Seq2[Flow, error]
	// FlushFlows removes every flow.
	FlushFlows(ctx context.Context) error

	// Execute applies actions to a packet whose metadata and headers are
	// described by key (only the metadata groups — in port, priority, mark,
	// tunnel, recirc id, dp hash, conntrack — matter; headers are
	// re-extracted from the packet).
	Execute(ctx context.Context, packet []byte, key *FlowKey, actions Actions) error

	// OpenUpcalls opens an upcall socket. Pass its PID in PortSpec.UpcallPIDs
	// (or in a Userspace action) to have upcalls delivered to it.
	OpenUpcalls() (UpcallSocket, error)
	// SetPortUpcallPIDs points an existing port's upcalls at the sockets
	// with these PIDs: an agent that restarts finds its ports in place and
	// re-points them at its new sockets. A datapath that takes a single
	// PID per port (Linux 6.1 among others) refuses several with an error
	// wrapping ErrInvalid or ErrNotSupported; callers then pass one.
	SetPortUpcallPIDs(ctx context.Context, port PortNumber, pids []uint32) error
}

// UpcallSocket receives upcalls.
type UpcallSocket interface {
	// PID is the identifier to register as an upcall PID.
	PID() uint32
	// Receive blocks until an upcall arrives or ctx is done and fills u,
	// reusing u's buffers.
	Receive(ctx context.Context, u *Upcall) error
	// Close releases the socket and unblocks Receive.
	Close() error
}

// PortType is a vport type. Values equal the kernel's OVS_VPORT_TYPE_*.
type PortType uint32

// Port types.
const (
	PortNetdev   PortType = 1 // an existing network device
	PortInternal PortType = 2 // a device created by the datapath
	PortGRE      PortType = 3 // GRE tunnel
	PortVXLAN    PortType = 4 // VXLAN tunnel (set DstPort)
	PortGeneve   PortType = 5 // Geneve tunnel (set DstPort)
)

// String returns the kernel's name of the type ("netdev", "vxlan", ...).
func (t PortType) String() string {
	switch t {
	case PortNetdev:
		return "netdev"
	case PortInternal:
		return "internal"
	case PortGRE:
		return "gre"
	case PortVXLAN:
		return "vxlan"
	case PortGeneve:
		return "geneve"
	}
	return "unknown"
}

// PortSpec describes a port to create.
type PortSpec struct {
	// Name is the network device name (at most 15 bytes).
	Name string
	Type PortType
	// Number requests a port number; 0 lets the datapath choose.
	Number PortNumber
	// DstPort is the UDP destination port of VXLAN and Geneve tunnels
	// (0: the kernel's default, 4789 for VXLAN and 6081 for Geneve).
	DstPort uint16
	// UpcallPIDs are the upcall sockets for packets received on the port
	// (several with the VPORT_PIDS feature). Empty or {0} disables upcalls.
	UpcallPIDs []uint32
}

// Port is a datapath port.
type Port struct {
	Number     PortNumber
	Type       PortType
	Name       string
	DstPort    uint16
	UpcallPIDs []uint32
	IfIndex    int
	Stats      PortStats
}

// PortStats are a port's counters.
type PortStats struct {
	RxPackets, TxPackets uint64
	RxBytes, TxBytes     uint64
	RxErrors, TxErrors   uint64
	RxDropped, TxDropped uint64
}

// UFID is a unique flow identifier chosen by userspace. The zero UFID means
// "none".
type UFID [16]byte

// IsZero reports whether u is the zero UFID.
func (u UFID) IsZero() bool { return u == UFID{} }

// Flow is a megaflow with its actions and statistics.
type Flow struct {
	UFID    UFID
	Match   Match
	Actions Actions
	Stats   FlowStats
	// Used is the CLOCK_MONOTONIC time the flow last matched a packet, zero
	// if never.
	Used time.Duration
	// TCPFlags is the OR of the TCP flags of the packets seen (low 8 bits).
	TCPFlags uint8
}

// FlowStats are a flow's counters.
type FlowStats struct{ Packets, Bytes uint64 }

// PutMode says whether PutFlow may create, modify or both.
type PutMode uint8

// Put modes; combine PutCreate|PutModify for create-or-update.
const (
	// PutCreate creates the flow; ErrExists if it exists (unless PutModify).
	PutCreate PutMode = 1 << iota
	// PutModify replaces the actions of an existing flow; ErrNotFound if
	// absent (unless PutCreate).
	PutModify
	// PutClearStats also resets the statistics of a modified flow.
	PutClearStats
)

// UpcallKind distinguishes table misses from userspace actions.
type UpcallKind uint8

// Upcall kinds (OVS_PACKET_CMD_MISS and OVS_PACKET_CMD_ACTION).
const (
	UpcallMiss   UpcallKind = 1
	UpcallAction UpcallKind = 2
)

// Upcall is a packet sent to userspace by the datapath.
type Upcall struct {
	Kind UpcallKind
	// Key is the key the datapath extracted from the packet.
	Key FlowKey
	// Packet holds the packet bytes; it is reused by the next Receive into
	// the same Upcall.
	Packet []byte
	// Userdata is the Userspace action's userdata (UpcallAction only).
	Userdata []byte
	// EgressTunnel is set when the Userspace action asked for it.
	EgressTunnel    TunnelKey
	HasEgressTunnel bool
	// Actions are the flow's actions when the Userspace action asked.
	Actions Actions
	// MRU is the maximum received fragment size of a reassembled packet.
	MRU uint16
	// Len is the packet length before truncation, if truncated.
	Len uint32
	// Hash is the packet's skb hash, if the kernel sent it.
	Hash uint64
}
