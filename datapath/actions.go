package datapath

import "net/netip"

// Action is one datapath action. The set of implementations is closed (the
// interface is sealed): Output, Userspace, Set, SetMasked, PushVLAN,
// PopVLAN, Recirc, Hash, Sample, Clone, CheckPktLen, CT, CTClear, Trunc,
// Meter and UnknownAction.
//
// Representation: Actions is a slice of small value types behind a sealed
// interface rather than one tagged struct. A tagged struct able to hold every
// action (a CT with NAT range, a tunnel set, nested sample lists) would be
// several hundred bytes per action and would make every list that big; the
// interface costs one small allocation per action when a list is built or
// decoded, which happens at upcall/flow-install rate, while executing a list
// is a type switch over values and does not allocate. Actions that carry a
// header group reuse the FlowKey group types (Set[IPv4Key], ...), so the
// in-process datapath applies them with the same code that masks keys.
type Action interface {
	isAction()
}

// Actions is an ordered action list. An empty list drops the packet.
type Actions []Action

// Output sends the packet to a port.
type Output struct{ Port PortNumber }

// Userspace sends the packet to userspace as an UpcallAction upcall on the
// socket with port ID PID, with Userdata attached.
type Userspace struct {
	PID      uint32
	Userdata []byte
	// EgressTunnelPort, if non-zero, asks for the tunnel key the packet would
	// get on output to that port (OVS_USERSPACE_ATTR_EGRESS_TUN_PORT).
	EgressTunnelPort PortNumber
	// WithActions asks the kernel to include the flow's actions in the
	// upcall (OVS_USERSPACE_ATTR_ACTIONS).
	WithActions bool
}

// SetGroup is the set of header groups that Set and SetMasked can rewrite.
type SetGroup interface {
	EthernetKey | IPv4Key | IPv6Key | TCPKey | UDPKey | SCTPKey | NDKey | TunnelKey | Mark | Priority
}

// Set overwrites a whole header group (OVS_ACTION_ATTR_SET). Tunnel keys can
// only be set, not masked: Set[TunnelKey] selects the tunnel used by a later
// Output to a tunnel port.
type Set[T SetGroup] struct{ Value T }

// SetMasked overwrites the bits of a header group selected by Mask
// (OVS_ACTION_ATTR_SET_MASKED). Value must be zero outside Mask.
type SetMasked[T SetGroup] struct{ Value, Mask T }

// PushVLAN pushes a VLAN tag. TCI must have the CFI bit (0x1000) set.
type PushVLAN struct{ TPID, TCI uint16 }

// PopVLAN removes the outer VLAN tag.
type PopVLAN struct{}

// Recirc recirculates the packet with the given recirculation ID, for a
// second lookup after the preceding actions (typically CT).
type Recirc struct{ ID uint32 }

// Hash computes the L4 hash of the packet into dp_hash, mixed with Basis.
type Hash struct{ Alg, Basis uint32 }

// Sample runs Actions on a random fraction Probability/2^32 of packets.
type Sample struct {
	Probability uint32
	Actions     Actions
}

// Clone runs Actions on a copy of the packet, leaving the original intact.
type Clone struct{ Actions Actions }

// CheckPktLen runs Greater on packets longer than PktLen bytes (the whole
// frame, Ethernet header included; for a GSO packet, its segments) and
// LessEqual on the others (OVS_ACTION_ATTR_CHECK_PKT_LEN). Like Clone, the
// branch runs on a copy of the packet when actions follow. The agent puts
// the packets larger than a path's MTU in front of userspace with it:
// check_pkt_len(size=MTU+14,gt(userspace(...)),le(<the flow's actions>)).
// PktLen must not be 0.
type CheckPktLen struct {
	PktLen             uint16
	Greater, LessEqual Actions
}

// CT sends the packet through connection tracking.
type CT struct {
	Zone        uint16
	Commit      bool
	ForceCommit bool
	// Mark and MarkMask set the connection mark (only with Commit). Nothing
	// is set when MarkMask is zero.
	Mark, MarkMask uint32
	// Labels and LabelsMask set the connection labels likewise.
	Labels, LabelsMask [16]byte
	Helper             string
	Timeout            string
	// EventMask, when HasEventMask, restricts conntrack events.
	EventMask    uint32
	HasEventMask bool
	// NAT, when non-nil, applies NAT.
	NAT *NAT
}

// NATKind says which side a NAT rewrites.
type NATKind uint8

// NAT kinds. NATDefault reverses an existing NAT binding only.
const (
	NATDefault NATKind = iota
	NATSource
	NATDest
)

// NAT is the NAT part of a CT action. The zero value undoes the NAT
// established for the connection (ct(nat)).
type NAT struct {
	Kind         NATKind
	IPMin, IPMax netip.Addr // IPMax invalid means a single address
	// ProtoMin and ProtoMax bound the port range (0 = unspecified).
	ProtoMin, ProtoMax uint16
	Persistent         bool
	ProtoHash          bool
	ProtoRandom        bool
}

// CTClear clears the connection-tracking state of the packet.
type CTClear struct{}

// Trunc truncates the packet to MaxLen bytes on the next output.
type Trunc struct{ MaxLen uint32 }

// Meter applies meter ID.
type Meter struct{ ID uint32 }

// UnknownAction is an action attribute this package does not model, kept
// as its netlink type and payload so that it round-trips unchanged.
type UnknownAction struct {
	Type uint16
	Data []byte
}

func (Output) isAction()        {}
func (Userspace) isAction()     {}
func (Set[T]) isAction()        {}
func (SetMasked[T]) isAction()  {}
func (PushVLAN) isAction()      {}
func (PopVLAN) isAction()       {}
func (Recirc) isAction()        {}
func (Hash) isAction()          {}
func (Sample) isAction()        {}
func (Clone) isAction()         {}
func (CheckPktLen) isAction()   {}
func (CT) isAction()            {}
func (CTClear) isAction()       {}
func (Trunc) isAction()         {}
func (Meter) isAction()         {}
func (UnknownAction) isAction() {}
