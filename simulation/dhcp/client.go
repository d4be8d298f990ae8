package dhcp

import (
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// ClientMessage describes a client message, for tools and tests that play
// a DHCP client.
type ClientMessage struct {
	Type MessageType
	MAC  topology.MAC
	XID  uint32
	// Broadcast sets the BOOTP broadcast flag.
	Broadcast bool
	// CIAddr is the client's current address (renewals, INFORM); the
	// frame is then sent from it.
	CIAddr netip.Addr
	// RequestedIP and ServerID, when valid, are sent as options 50 and 54.
	RequestedIP, ServerID netip.Addr
	// Params is the parameter request list (option 55), if any.
	Params []byte
}

// AppendClientFrame appends c's frame to b: an Ethernet broadcast from the
// client's MAC, IPv4 from CIAddr (or 0.0.0.0) to 255.255.255.255, UDP from
// port 68 to port 67.
func AppendClientFrame(b []byte, c *ClientMessage) []byte {
	m := Message{Op: OpRequest, HType: 1, HLen: 6, XID: c.XID, CIAddr: c.CIAddr}
	if c.Broadcast {
		m.Flags = FlagBroadcast
	}
	copy(m.CHAddr[:], c.MAC[:])
	msg := AppendHeader(nil, &m)
	msg = AppendOption(msg, OptMessageType, []byte{byte(c.Type)})
	if c.RequestedIP.Is4() {
		msg = AppendOption(msg, OptRequestedIP, addrBytes(c.RequestedIP))
	}
	if c.ServerID.Is4() {
		msg = AppendOption(msg, OptServerID, addrBytes(c.ServerID))
	}
	if len(c.Params) > 0 {
		msg = AppendOption(msg, OptParamRequest, c.Params)
	}
	msg = AppendEnd(msg, 0)
	src := c.CIAddr
	if !src.Is4() {
		src = netip.IPv4Unspecified()
	}
	bcast := topology.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	return appendFrame(b, bcast, c.MAC, src, netip.AddrFrom4([4]byte{255, 255, 255, 255}), ClientPort, ServerPort, msg)
}
