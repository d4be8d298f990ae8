package dhcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/hivenet/hivenet/topology"
)

// Sentinel errors.
var (
	// ErrMalformed: the bytes are not a well-formed DHCP message.
	ErrMalformed = errors.New("dhcp: malformed message")
	// ErrNotDHCP: the frame is not a DHCP client message (UDP 68 to 67
	// in untagged Ethernet/IPv4).
	ErrNotDHCP = errors.New("dhcp: not a DHCP client message")
	// ErrUnknownHost: no enabled DHCP subnet of the bridge has a host
	// entry for the client's MAC.
	ErrUnknownHost = errors.New("dhcp: no host entry for the client")
)

// BOOTP operations.
const (
	OpRequest = 1
	OpReply   = 2
)

// UDP ports of DHCP.
const (
	ServerPort = 67
	ClientPort = 68
)

// Option codes the server reads or writes.
const (
	OptPad            = 0
	OptSubnetMask     = 1
	OptRouter         = 3
	OptDNS            = 6
	OptHostName       = 12
	OptInterfaceMTU   = 26
	OptBroadcast      = 28
	OptRequestedIP    = 50
	OptLeaseTime      = 51
	OptOverload       = 52
	OptMessageType    = 53
	OptServerID       = 54
	OptParamRequest   = 55
	OptMessage        = 56
	OptClasslessRoute = 121
	OptEnd            = 255
)

// MessageType is the DHCP message type (option 53).
type MessageType uint8

// Message types (RFC 2132 section 9.6).
const (
	Discover MessageType = 1
	Offer    MessageType = 2
	Request  MessageType = 3
	Decline  MessageType = 4
	Ack      MessageType = 5
	Nak      MessageType = 6
	Release  MessageType = 7
	Inform   MessageType = 8
)

var typeNames = [...]string{"", "discover", "offer", "request", "decline", "ack", "nak", "release", "inform"}

// String returns the type's lower-case name ("discover", "ack", ...).
func (t MessageType) String() string {
	if int(t) < len(typeNames) && t != 0 {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// HeaderLen is the length of the fixed part of a message, magic cookie
// included; MinMessageLen the BOOTP minimum a message is padded to.
const (
	HeaderLen     = 240
	MinMessageLen = 300
	// MaxMessageLen bounds what Decode accepts: the largest UDP payload of
	// an unfragmented datagram on a 9000-byte link.
	MaxMessageLen = 9000 - 28
)

var magic = [4]byte{99, 130, 83, 99}

// Message is a decoded DHCP message. The options stay in the decoded
// buffer: a Message is valid as long as that buffer is unchanged.
type Message struct {
	Op, HType, HLen, Hops uint8
	XID                   uint32
	Secs, Flags           uint16
	CIAddr, YIAddr        netip.Addr
	SIAddr, GIAddr        netip.Addr
	CHAddr                [16]byte
	// Type is the message type (option 53).
	Type MessageType
	opts []byte
}

// FlagBroadcast is the BOOTP broadcast flag: the client wants replies
// broadcast.
const FlagBroadcast = 0x8000

// Decode decodes b into m. The options area must be well formed (each
// option's length within the message, an end option or the end of the
// message closing it) and carry exactly one message type. Sname and file
// overloading (option 52) is not supported: such options stay unread.
func (m *Message) Decode(b []byte) error {
	*m = Message{}
	if len(b) < HeaderLen {
		return fmt.Errorf("%w: %d bytes, want at least %d", ErrMalformed, len(b), HeaderLen)
	}
	if len(b) > MaxMessageLen {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(b), MaxMessageLen)
	}
	if [4]byte(b[236:240]) != magic {
		return fmt.Errorf("%w: no magic cookie", ErrMalformed)
	}
	m.Op, m.HType, m.HLen, m.Hops = b[0], b[1], b[2], b[3]
	m.XID = binary.BigEndian.Uint32(b[4:])
	m.Secs = binary.BigEndian.Uint16(b[8:])
	m.Flags = binary.BigEndian.Uint16(b[10:])
	m.CIAddr = addr4(b[12:])
	m.YIAddr = addr4(b[16:])
	m.SIAddr = addr4(b[20:])
	m.GIAddr = addr4(b[24:])
	m.CHAddr = [16]byte(b[28:44])
	opts := b[HeaderLen:]
	types := 0
	i := 0
	for i < len(opts) {
		c := opts[i]
		if c == OptPad {
			i++
			continue
		}
		if c == OptEnd {
			break
		}
		if i+1 >= len(opts) || i+2+int(opts[i+1]) > len(opts) {
			return fmt.Errorf("%w: option %d runs past the message", ErrMalformed, c)
		}
		n := int(opts[i+1])
		if c == OptMessageType {
			if n != 1 {
				return fmt.Errorf("%w: message type option of %d bytes", ErrMalformed, n)
			}
			m.Type = MessageType(opts[i+2])
			types++
		}
		i += 2 + n
	}
	if types != 1 {
		return fmt.Errorf("%w: %d message type options, want 1", ErrMalformed, types)
	}
	m.opts = opts[:min(i, len(opts))]
	return nil
}

// Option returns the value of the first option with code, without
// copying.
func (m *Message) Option(code uint8) ([]byte, bool) {
	o := m.opts
	for i := 0; i < len(o); {
		c := o[i]
		if c == OptPad {
			i++
			continue
		}
		n := int(o[i+1])
		if c == code {
			return o[i+2 : i+2+n], true
		}
		i += 2 + n
	}
	return nil, false
}

// AddrOption returns the IPv4 address in option code, if it holds exactly
// one.
func (m *Message) AddrOption(code uint8) (netip.Addr, bool) {
	v, ok := m.Option(code)
	if !ok || len(v) != 4 {
		return netip.Addr{}, false
	}
	return addr4(v), true
}

// MAC returns the client's Ethernet address, or false when the hardware
// type is not Ethernet.
func (m *Message) MAC() (topology.MAC, bool) {
	if m.HType != 1 || m.HLen != 6 {
		return topology.MAC{}, false
	}
	return topology.MAC(m.CHAddr[:6]), true
}

// AppendHeader appends the fixed part of m (BOOTP header and magic cookie)
// to b. Options follow with AppendOption; AppendEnd closes the message.
// Type is not written: add it with AppendOption(OptMessageType, ...).
func AppendHeader(b []byte, m *Message) []byte {
	b = append(b, m.Op, m.HType, m.HLen, m.Hops)
	b = binary.BigEndian.AppendUint32(b, m.XID)
	b = binary.BigEndian.AppendUint16(b, m.Secs)
	b = binary.BigEndian.AppendUint16(b, m.Flags)
	for _, a := range [...]netip.Addr{m.CIAddr, m.YIAddr, m.SIAddr, m.GIAddr} {
		b = append4(b, a)
	}
	b = append(b, m.CHAddr[:]...)
	b = append(b, make([]byte, 64+128)...) // sname, file
	return append(b, magic[:]...)
}

// AppendOption appends option code with value v. A value longer than 255
// bytes is split into several options of the same code, which the client
// concatenates (RFC 3396).
func AppendOption(b []byte, code uint8, v []byte) []byte {
	for {
		n := min(len(v), 255)
		b = append(b, code, byte(n))
		b = append(b, v[:n]...)
		v = v[n:]
		if len(v) == 0 {
			return b
		}
	}
}

// AppendEnd appends the end option to the message that starts at b[start]
// and pads it to MinMessageLen bytes.
func AppendEnd(b []byte, start int) []byte {
	b = append(b, OptEnd)
	for len(b)-start < MinMessageLen {
		b = append(b, 0)
	}
	return b
}

func addr4(b []byte) netip.Addr { return netip.AddrFrom4([4]byte(b[:4])) }

// append4 appends a's four bytes, or zeros when a is not IPv4.
func append4(b []byte, a netip.Addr) []byte {
	if !a.Is4() {
		return append(b, 0, 0, 0, 0)
	}
	v := a.As4()
	return append(b, v[:]...)
}
