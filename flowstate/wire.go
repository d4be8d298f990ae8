package flowstate

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/hivenet/hivenet/topology"
)

// The in-band state message.
//
// Agents push the connection-tracking and NAT keys a simulation created to
// the hosts that may see the connection's other packets, before the data
// packet itself, so that a reply reaching one of them finds the state there.
// One message is one UDP payload; a Message with more keys than fit is split
// into several self-contained parts, each repeating the sender and port IDs.
//
// Encoding, version 1 (all integers little-endian, IPv4 addresses in
// network byte order, IDs as their 16 UUID bytes):
//
//	offset  size  field
//	0       4     magic "HVFS"
//	4       1     version (1)
//	5       1     flags (0; receivers reject unknown flags)
//	6       2     number of conntrack keys C
//	8       2     number of NAT entries N
//	10      2     number of egress ports E
//	12      16    sender host ID
//	28      16    ingress port ID (zero when none)
//	44      16·E  egress port IDs
//	        29·C  conntrack keys: device ID (16), src IP (4), dst IP (4),
//	              src port (2), dst port (2), protocol (1)
//	        36·N  NAT entries: key type (1), conntrack-key layout (29),
//	              binding IP (4), binding port (2)
//
// A message is exactly as long as its counts say; trailing bytes are an
// error.
const (
	// Version is the encoding version this package writes and reads.
	Version = 1
	// HeaderSize is the fixed part of a message.
	HeaderSize = 44
	// NATEntrySize is the wire size of one NAT entry.
	NATEntrySize = NATKeySize + NATBindingSize
	// MaxPayload is the largest message that fits a 1,500-byte underlay
	// MTU once the fixed flow-state headers (Ethernet, IPv4, UDP: 42 bytes)
	// and the tunnel overhead (36 bytes) are accounted for, as in the
	// reference: 1500 - 36 - 42.
	MaxPayload = 1500 - 36 - 42
)

var magic = [4]byte{'H', 'V', 'F', 'S'}

// Errors returned by Message.UnmarshalBinary, wrapped with details.
var (
	ErrShortMessage   = errors.New("flowstate: message truncated")
	ErrBadMagic       = errors.New("flowstate: not a flow-state message")
	ErrBadVersion     = errors.New("flowstate: unsupported message version")
	ErrBadMessage     = errors.New("flowstate: malformed message")
	ErrMessageTooBig  = errors.New("flowstate: message exceeds the size limit")
	ErrPortsTooMany   = errors.New("flowstate: too many egress ports for one message")
	errTrailingOctets = fmt.Errorf("%w: trailing bytes", ErrBadMessage)
)

// NATEntry is a NAT key with its binding.
type NATEntry struct {
	Key     NATKey
	Binding NATBinding
}

// Message is the content of an in-band state message. Decoding into a
// Message reuses its slices, so a receiver that keeps one Message per worker
// decodes without allocating.
type Message struct {
	Sender      topology.ID
	IngressPort topology.ID
	EgressPorts []topology.ID
	Conns       []ConnKey
	NATs        []NATEntry
}

// Reset empties m, keeping its slices' capacity.
func (m *Message) Reset() {
	m.Sender, m.IngressPort = topology.ID{}, topology.ID{}
	m.EgressPorts, m.Conns, m.NATs = m.EgressPorts[:0], m.Conns[:0], m.NATs[:0]
}

// Size returns the encoded size of m as a single message.
func (m *Message) Size() int {
	return HeaderSize + 16*len(m.EgressPorts) + ConnKeySize*len(m.Conns) + NATEntrySize*len(m.NATs)
}

// AppendBinary appends m, encoded as one message, to b. It fails if the
// counts do not fit the format; it does not check the MTU (see AppendParts).
func (m *Message) AppendBinary(b []byte) ([]byte, error) {
	if len(m.EgressPorts) > 0xffff || len(m.Conns) > 0xffff || len(m.NATs) > 0xffff {
		return b, fmt.Errorf("%w: counts exceed 65535", ErrMessageTooBig)
	}
	return appendPart(b, m, m.Conns, m.NATs), nil
}

func appendPart(b []byte, m *Message, conns []ConnKey, nats []NATEntry) []byte {
	b = append(b, magic[:]...)
	b = append(b, Version, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(conns)))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(nats)))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(m.EgressPorts)))
	b = append(b, m.Sender[:]...)
	b = append(b, m.IngressPort[:]...)
	for i := range m.EgressPorts {
		b = append(b, m.EgressPorts[i][:]...)
	}
	for i := range conns {
		b = appendConnKey(b, &conns[i])
	}
	for i := range nats {
		n := &nats[i]
		b = append(b, byte(n.Key.Type))
		b = appendConnKey(b, &n.Key.ConnKey)
		b = append(b, n.Binding.IP[:]...)
		b = binary.LittleEndian.AppendUint16(b, n.Binding.Port)
	}
	return b
}

func appendConnKey(b []byte, k *ConnKey) []byte {
	b = append(b, k.Device[:]...)
	b = append(b, k.SrcIP[:]...)
	b = append(b, k.DstIP[:]...)
	b = binary.LittleEndian.AppendUint16(b, k.SrcPort)
	b = binary.LittleEndian.AppendUint16(b, k.DstPort)
	return append(b, k.Proto)
}

// AppendParts encodes m as one or more messages of at most max bytes each
// (MaxPayload when max is 0), calling emit with each. Every part repeats the
// sender and port IDs so it can be imported on its own. The parts are
// encoded one after another into buf (grown only if too small), so emit must
// consume or copy each part before returning. AppendParts does not allocate
// when buf has room for max bytes.
func (m *Message) AppendParts(buf []byte, max int, emit func(part []byte) error) error {
	if max <= 0 {
		max = MaxPayload
	}
	fixed := HeaderSize + 16*len(m.EgressPorts)
	if fixed+ConnKeySize > max && fixed+NATEntrySize > max || len(m.EgressPorts) > 0xffff {
		return fmt.Errorf("%w: %d egress ports leave no room for keys in %d bytes", ErrPortsTooMany, len(m.EgressPorts), max)
	}
	conns, nats := m.Conns, m.NATs
	for first := true; first || len(conns) > 0 || len(nats) > 0; first = false {
		room := max - fixed
		nc := min(len(conns), room/ConnKeySize, 0xffff)
		room -= nc * ConnKeySize
		nn := min(len(nats), room/NATEntrySize, 0xffff)
		part := appendPart(buf[:0], m, conns[:nc], nats[:nn])
		if err := emit(part); err != nil {
			return err
		}
		if cap(part) > cap(buf) {
			buf = part
		}
		conns, nats = conns[nc:], nats[nn:]
	}
	return nil
}

// EncodedSize returns the size of the message b starts with, as its
// header's counts say, so that messages laid end to end can be split
// apart: ErrShortMessage if b is shorter than the header or than that
// size, ErrBadMagic or ErrBadVersion if b does not start with a message.
// It checks only the header; UnmarshalBinary checks the rest.
func EncodedSize(b []byte) (int, error) {
	if len(b) < HeaderSize {
		return 0, fmt.Errorf("%w: %d bytes, the header alone is %d", ErrShortMessage, len(b), HeaderSize)
	}
	if [4]byte(b[0:4]) != magic {
		return 0, ErrBadMagic
	}
	if b[4] != Version {
		return 0, fmt.Errorf("%w: %d (this build reads %d)", ErrBadVersion, b[4], Version)
	}
	n := HeaderSize + 16*int(binary.LittleEndian.Uint16(b[10:])) + ConnKeySize*int(binary.LittleEndian.Uint16(b[6:])) +
		NATEntrySize*int(binary.LittleEndian.Uint16(b[8:]))
	if n > len(b) {
		return 0, fmt.Errorf("%w: %d bytes, counts need %d", ErrShortMessage, len(b), n)
	}
	return n, nil
}

// UnmarshalBinary decodes one message into m, reusing m's slices. On error m
// is left empty (Reset) and nothing else is changed.
func (m *Message) UnmarshalBinary(b []byte) error {
	m.Reset()
	if err := m.decode(b); err != nil {
		m.Reset()
		return err
	}
	return nil
}

func (m *Message) decode(b []byte) error {
	if len(b) < HeaderSize {
		return fmt.Errorf("%w: %d bytes, the header alone is %d", ErrShortMessage, len(b), HeaderSize)
	}
	if [4]byte(b[0:4]) != magic {
		return ErrBadMagic
	}
	if b[4] != Version {
		return fmt.Errorf("%w: %d (this build reads %d)", ErrBadVersion, b[4], Version)
	}
	if b[5] != 0 {
		return fmt.Errorf("%w: unknown flags %#x", ErrBadMessage, b[5])
	}
	nc := int(binary.LittleEndian.Uint16(b[6:]))
	nn := int(binary.LittleEndian.Uint16(b[8:]))
	ne := int(binary.LittleEndian.Uint16(b[10:]))
	want := HeaderSize + 16*ne + ConnKeySize*nc + NATEntrySize*nn
	switch {
	case len(b) < want:
		return fmt.Errorf("%w: %d bytes, counts need %d", ErrShortMessage, len(b), want)
	case len(b) > want:
		return errTrailingOctets
	}
	m.Sender = topology.ID(b[12:28])
	m.IngressPort = topology.ID(b[28:44])
	p := b[HeaderSize:]
	for range ne {
		m.EgressPorts = append(m.EgressPorts, topology.ID(p[:16]))
		p = p[16:]
	}
	for range nc {
		m.Conns = append(m.Conns, decodeConnKey(p))
		p = p[ConnKeySize:]
	}
	for i := range nn {
		t := NATKeyType(p[0])
		if !t.Valid() {
			return fmt.Errorf("%w: NAT entry %d has unknown type %d", ErrBadMessage, i, p[0])
		}
		e := NATEntry{Key: NATKey{Type: t, ConnKey: decodeConnKey(p[1:])}}
		q := p[1+ConnKeySize:]
		e.Binding = NATBinding{IP: IPv4(q[:4]), Port: binary.LittleEndian.Uint16(q[4:])}
		m.NATs = append(m.NATs, e)
		p = p[NATEntrySize:]
	}
	return nil
}

func decodeConnKey(p []byte) ConnKey {
	return ConnKey{
		Device:  topology.ID(p[:16]),
		SrcIP:   IPv4(p[16:20]),
		DstIP:   IPv4(p[20:24]),
		SrcPort: binary.LittleEndian.Uint16(p[24:]),
		DstPort: binary.LittleEndian.Uint16(p[26:]),
		Proto:   p[28],
	}
}

// Import stores the message's keys in the tables as peer state: connection
// keys (return-flow markers) and NAT entries, without references, so they
// idle and expire unless a local flow starts using them. onConn and onNAT,
// when not nil, are called for each key so the caller can invalidate flows
// tagged with it. Import does not allocate.
func (m *Message) Import(conns *ConnTable, nats *NATTable, onConn func(ConnKey), onNAT func(NATKey)) {
	for _, k := range m.Conns {
		conns.Import(k, struct{}{})
		if onConn != nil {
			onConn(k)
		}
	}
	for _, e := range m.NATs {
		nats.Import(e.Key, e.Binding)
		if onNAT != nil {
			onNAT(e.Key)
		}
	}
}
