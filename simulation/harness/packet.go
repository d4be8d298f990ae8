package harness

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// TCP flags for [Packet.WithFlags].
const (
	FIN uint16 = 0x001
	SYN uint16 = 0x002
	RST uint16 = 0x004
	PSH uint16 = 0x008
	ACK uint16 = 0x010
)

// Defaults of the fields a packet leaves out.
const (
	// DefaultSrcPort is the TCP or UDP source port of a packet that names
	// only its destination.
	DefaultSrcPort = 40000
	// DefaultTTL is the IPv4 TTL of the packets built.
	DefaultTTL = 64
	// DefaultEchoID is the identifier of echo requests.
	DefaultEchoID = 0x4876
)

type pktKind uint8

const (
	kindPing pktKind = iota + 1
	kindEchoReply
	kindTCP
	kindUDP
	kindARPRequest
	kindARPReply
	kindFrame
)

// Packet describes a packet to send. Build it with Ping, TCP, UDP,
// ARPRequest, ARPReply or Frame and adjust it with the With* methods; each
// returns a modified copy. Fields it leaves out are filled in from its
// sender when it is built ([Packet.Build]). A mistake in an argument (an
// address that does not parse) is reported by Build, and so by Send. The
// zero Packet is not usable.
type Packet struct {
	kind             pktKind
	to               string // VM name or address
	src              netip.Addr
	srcPort, dstPort uint16
	flags            uint16
	srcMAC, dstMAC   topology.MAC
	ttl              uint8
	vlan             uint16
	echoID           uint16
	payload          []byte
	frame            []byte
	err              error
}

// Ping is an ICMP echo request to to, a VM name or an IPv4 address.
func Ping(to string) Packet { return Packet{kind: kindPing, to: to, echoID: DefaultEchoID} }

// TCP is a TCP segment with the SYN flag. flow is "dst:port" ("vm4:22",
// "8.8.8.8:443"; source port DefaultSrcPort) or, as the trace command takes
// it, "src:port->dst:port" where src may be empty (":34567->8.8.8.8:443").
func TCP(flow string) Packet { return l4Packet(kindTCP, flow) }

// UDP is a UDP datagram; flow is as for TCP.
func UDP(flow string) Packet { return l4Packet(kindUDP, flow) }

func l4Packet(k pktKind, flow string) Packet {
	p := Packet{kind: k, srcPort: DefaultSrcPort}
	if k == kindTCP {
		p.flags = SYN
	}
	dst := flow
	if a, b, ok := strings.Cut(flow, "->"); ok {
		dst = b
		host, port, err := splitHostPort(a)
		if err != nil {
			p.err = fmt.Errorf("%w: %q: %w", ErrBadPacket, flow, err)
			return p
		}
		p.srcPort = port
		if host != "" {
			if p.src, err = netip.ParseAddr(host); err != nil {
				p.err = fmt.Errorf("%w: %q: the source must be an address: %w", ErrBadPacket, flow, err)
				return p
			}
		}
	}
	host, port, err := splitHostPort(dst)
	if err == nil && host == "" {
		err = fmt.Errorf("no destination")
	}
	if err != nil {
		p.err = fmt.Errorf("%w: %q is not [src:port->]dst:port: %w", ErrBadPacket, flow, err)
	}
	p.to, p.dstPort = host, port
	return p
}

// splitHostPort splits "host:port"; host may be empty.
func splitHostPort(s string) (string, uint16, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("%q has no port", s)
	}
	n, err := strconv.ParseUint(s[i+1:], 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("bad port in %q", s)
	}
	return s[:i], uint16(n), nil
}

// ARPRequest is a broadcast ARP request for the address of target, a VM
// name or an IPv4 address.
func ARPRequest(target string) Packet { return Packet{kind: kindARPRequest, to: target} }

// ARPReply is an ARP reply telling to (a VM name or an IPv4 address) that
// the sender's address is at the sender's MAC. Its destination MAC is the
// MAC of to's owner on the link unless WithDstMAC says otherwise.
func ARPReply(to string) Packet { return Packet{kind: kindARPReply, to: to} }

// Frame is a raw Ethernet frame, sent as is.
func Frame(frame []byte) Packet { return Packet{kind: kindFrame, frame: frame} }

// WithFlags sets the TCP flags (SYN, ACK, ...).
func (p Packet) WithFlags(flags uint16) Packet { p.flags = flags; return p }

// WithSrcPort sets the TCP or UDP source port.
func (p Packet) WithSrcPort(port uint16) Packet { p.srcPort = port; return p }

// WithSrc sets the source IPv4 address (the ARP sender address) instead of
// the sender's: a packet from the internet entering an uplink, or a
// spoofed one.
func (p Packet) WithSrc(addr string) Packet {
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is4() {
		p.err = fmt.Errorf("%w: source %q is not an IPv4 address", ErrBadPacket, addr)
	}
	p.src = a
	return p
}

// WithSrcMAC sets the Ethernet source (and ARP sender) MAC.
func (p Packet) WithSrcMAC(mac topology.MAC) Packet { p.srcMAC = mac; return p }

// WithDstMAC sets the Ethernet destination MAC.
func (p Packet) WithDstMAC(mac topology.MAC) Packet { p.dstMAC = mac; return p }

// WithTTL sets the IPv4 TTL.
func (p Packet) WithTTL(ttl uint8) Packet { p.ttl = ttl; return p }

// WithVLAN tags the frame with a VLAN id (1-4095).
func (p Packet) WithVLAN(id uint16) Packet {
	if id > 4095 {
		p.err = fmt.Errorf("%w: VLAN %d is above 4095", ErrBadPacket, id)
	}
	p.vlan = id
	return p
}

// WithEchoID sets the identifier of an echo request.
func (p Packet) WithEchoID(id uint16) Packet { p.echoID = id; return p }

// WithPayload sets the payload after the TCP, UDP or ICMP header.
func (p Packet) WithPayload(b []byte) Packet { p.payload = b; return p }

// Payload returns the payload set by WithPayload.
func (p Packet) Payload() []byte { return p.payload }

// String describes the packet as built from its arguments.
func (p Packet) String() string {
	var b strings.Builder
	switch p.kind {
	case kindPing:
		fmt.Fprintf(&b, "ping %s", p.to)
	case kindEchoReply:
		fmt.Fprintf(&b, "echo reply to %s", p.to)
	case kindTCP, kindUDP:
		proto := "tcp"
		if p.kind == kindUDP {
			proto = "udp"
		}
		src := ""
		if p.src.IsValid() {
			src = p.src.String()
		}
		fmt.Fprintf(&b, "%s %s:%d->%s:%d", proto, src, p.srcPort, p.to, p.dstPort)
		if p.kind == kindTCP {
			fmt.Fprintf(&b, " flags %#x", p.flags)
		}
	case kindARPRequest:
		fmt.Fprintf(&b, "arp who-has %s", p.to)
	case kindARPReply:
		fmt.Fprintf(&b, "arp reply to %s", p.to)
	case kindFrame:
		fmt.Fprintf(&b, "frame of %d bytes", len(p.frame))
	default:
		return "invalid packet"
	}
	if p.vlan != 0 {
		fmt.Fprintf(&b, " vlan %d", p.vlan)
	}
	return b.String()
}

// Sender is what building a packet needs to know about the machine that
// sends it and the network around it.
type Sender struct {
	// MAC is the sender's MAC.
	MAC topology.MAC
	// Addr is the sender's IPv4 address; invalid when unknown (the packet
	// must then name its source with WithSrc).
	Addr netip.Addr
	// Lookup returns the address of a VM by name; nil knows no names.
	Lookup func(name string) (netip.Addr, bool)
	// NextHop returns the destination MAC of a packet from src to dst: the
	// MAC of dst's owner on the sender's link, else the gateway's. Nil
	// means the packet must name it with WithDstMAC.
	NextHop func(src, dst netip.Addr) (topology.MAC, error)
}

// Build returns the frame of p as sent by s.
func (p Packet) Build(s Sender) ([]byte, error) {
	if p.err != nil {
		return nil, p.err
	}
	switch p.kind {
	case 0:
		return nil, fmt.Errorf("%w: the zero Packet", ErrBadPacket)
	case kindFrame:
		if len(p.frame) == 0 {
			return nil, fmt.Errorf("%w: empty frame", ErrBadPacket)
		}
		return append([]byte(nil), p.frame...), nil
	}
	dst, err := p.dst(s)
	if err != nil {
		return nil, err
	}
	src := p.src
	if !src.IsValid() {
		src = s.Addr
	}
	if !src.Is4() {
		return nil, fmt.Errorf("%w: the sender has no IPv4 address: give one with WithSrc", ErrBadPacket)
	}
	srcMAC := p.srcMAC
	if srcMAC.IsZero() {
		srcMAC = s.MAC
	}
	dstMAC := p.dstMAC
	if dstMAC.IsZero() {
		if p.kind == kindARPRequest {
			dstMAC = topology.BroadcastMAC
		} else if s.NextHop == nil {
			return nil, fmt.Errorf("%w: no destination MAC for %s: give one with WithDstMAC", ErrBadPacket, dst)
		} else if dstMAC, err = s.NextHop(src, dst); err != nil {
			return nil, err
		}
	}
	var m packet.Match
	m.SetEthSrc(srcMAC)
	m.SetEthDst(dstMAC)
	var payload []byte
	switch p.kind {
	case kindARPRequest, kindARPReply:
		m.SetEtherType(packet.EtherTypeARP)
		m.SetARPSHA(srcMAC)
		m.SetARPSPA(src)
		m.SetARPTPA(dst)
		m.SetARPOp(packet.ARPRequest)
		if p.kind == kindARPReply {
			m.SetARPOp(packet.ARPReply)
			m.SetARPTHA(dstMAC)
		}
	default:
		ttl := p.ttl
		if ttl == 0 {
			ttl = DefaultTTL
		}
		m.SetEtherType(packet.EtherTypeIPv4)
		m.SetIPSrc(src)
		m.SetIPDst(dst)
		m.SetIPTTL(ttl)
		payload = p.payload
		switch p.kind {
		case kindPing, kindEchoReply:
			m.SetIPProto(packet.ProtoICMP)
			m.SetICMPType(packet.ICMPEchoRequest)
			if p.kind == kindEchoReply {
				m.SetICMPType(packet.ICMPEchoReply)
			}
			m.SetICMPID(p.echoID)
		case kindTCP:
			m.SetIPProto(packet.ProtoTCP)
			m.SetTCPFlags(p.flags)
		case kindUDP:
			m.SetIPProto(packet.ProtoUDP)
		}
		if p.kind == kindTCP || p.kind == kindUDP {
			m.SetSrcPort(p.srcPort)
			m.SetDstPort(p.dstPort)
		}
	}
	if p.vlan != 0 {
		m.PushVLAN(packet.VLAN{TPID: packet.EtherTypeVLAN, ID: p.vlan})
	}
	f, err := packet.AppendFrame(nil, &m, payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPacket, err)
	}
	return f, nil
}

// dst resolves the destination: an IPv4 address or a VM's name.
func (p Packet) dst(s Sender) (netip.Addr, error) {
	if a, err := netip.ParseAddr(p.to); err == nil {
		if !a.Is4() {
			return a, fmt.Errorf("%w: destination %s is not IPv4", ErrBadPacket, a)
		}
		return a, nil
	}
	if s.Lookup != nil {
		if a, ok := s.Lookup(p.to); ok && a.Is4() {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%w: destination %q is neither an IPv4 address nor a VM with a known address", ErrBadPacket, p.to)
}
