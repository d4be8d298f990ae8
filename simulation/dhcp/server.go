package dhcp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/hivenet/hivenet/topology"
)

// Defaults of Config, the reference's values.
const (
	// DefaultLease is the lease time offered: one day.
	DefaultLease = 24 * time.Hour
	// DefaultMTU is the interface MTU offered when a subnet sets none
	// (the reference's dhcp_mtu).
	DefaultMTU = 1500
)

// DefaultServerMAC is the Ethernet source of the replies, the reference's
// fixed server MAC.
var DefaultServerMAC = topology.MAC{0x02, 0xa8, 0x9c, 0xde, 0x39, 0x27}

// Config configures a Server. The zero value is ready to use.
type Config struct {
	// ServerMAC is the Ethernet source address of replies (default
	// DefaultServerMAC).
	ServerMAC topology.MAC
	// DefaultMTU is the interface MTU offered on subnets that set none
	// (default DefaultMTU).
	DefaultMTU uint16
	// Lease is the lease time offered (default DefaultLease; at most
	// 2^32-2 seconds).
	Lease time.Duration
}

// Server answers DHCP requests. It keeps a scratch buffer between calls,
// so a warmed-up Server answers without allocating; it is not safe for
// concurrent use (use one per worker).
type Server struct {
	mac   topology.MAC
	mtu   uint16
	lease uint32
	msg   Message
	out   []byte
	opt   []byte
}

// New returns a Server configured by cfg.
func New(cfg Config) *Server {
	s := &Server{mac: cfg.ServerMAC, mtu: cfg.DefaultMTU, lease: uint32(DefaultLease / time.Second)}
	if s.mac.IsZero() {
		s.mac = DefaultServerMAC
	}
	if s.mtu == 0 {
		s.mtu = DefaultMTU
	}
	if cfg.Lease > 0 {
		s.lease = uint32(min(cfg.Lease/time.Second, 1<<32-2))
	}
	return s
}

// Input is one client message to answer.
type Input struct {
	// Table is the DHCP configuration of the topology.
	Table *Table
	// Bridge is the bridge whose exterior port the frame entered.
	Bridge topology.ID
	// Frame is the Ethernet frame the client sent.
	Frame []byte
	// TunnelMTU caps the interface MTU offered: the largest packet the
	// host's overlay tunnels carry without fragmenting (0: no cap).
	TunnelMTU uint16
}

// Answer is what the server made of a request.
type Answer struct {
	// Request is the client's message type.
	Request MessageType
	// Reply is the type of the reply sent, or 0 when the message is
	// consumed without a reply (RELEASE, DECLINE, a REQUEST for another
	// server, other types).
	Reply MessageType
	// Frame is the reply frame, to send out of the port the request
	// entered; nil without a reply.
	Frame []byte
	// Subnet and Host are the configuration that served the client.
	Subnet *topology.DHCPSubnet
	Host   *topology.DHCPHost
	// MTU is the interface MTU offered.
	MTU uint16
}

// Reply answers req, appending the reply frame to dst (Answer.Frame).
// It returns ErrNotDHCP for frames that are not DHCP client messages,
// ErrMalformed (wrapped) for client messages that do not decode, and
// ErrUnknownHost when no enabled subnet of the bridge has the client's
// MAC. A message consumed without a reply returns an Answer with Reply 0
// and a nil error.
func (s *Server) Reply(dst []byte, req *Input) (Answer, error) {
	var a Answer
	payload, err := ClientPayload(req.Frame)
	if err != nil {
		return a, err
	}
	m := &s.msg
	if err := m.Decode(payload); err != nil {
		return a, err
	}
	a.Request = m.Type
	if m.Op != OpRequest {
		return a, fmt.Errorf("%w: BOOTP operation %d in a client message", ErrMalformed, m.Op)
	}
	mac, ok := m.MAC()
	if !ok {
		return a, fmt.Errorf("%w: hardware type %d, length %d", ErrMalformed, m.HType, m.HLen)
	}
	sub, host, ok := req.Table.Lookup(req.Bridge, mac)
	if !ok {
		return a, ErrUnknownHost
	}
	a.Subnet, a.Host = sub, host
	a.MTU = s.mtuOf(sub, req.TunnelMTU)
	server := serverAddr(sub)
	var reply MessageType
	switch m.Type {
	case Discover:
		reply = Offer
	case Request:
		if id, ok := m.AddrOption(OptServerID); ok && id != server {
			return a, nil // the client took another server's offer
		}
		want, ok := m.AddrOption(OptRequestedIP)
		if !ok {
			want = m.CIAddr
		}
		reply = Ack
		if want != host.Addr {
			reply = Nak
		}
	case Inform:
		reply = Ack
	default:
		return a, nil
	}
	a.Reply = reply
	a.Frame = s.build(dst, m, reply, sub, host, server, a.MTU)
	return a, nil
}

// mtuOf returns the interface MTU offered on sub.
func (s *Server) mtuOf(sub *topology.DHCPSubnet, tunnel uint16) uint16 {
	mtu := sub.MTU
	if mtu == 0 {
		mtu = s.mtu
	}
	if tunnel != 0 && tunnel < mtu {
		mtu = tunnel
	}
	return mtu
}

// serverAddr is the subnet's server address, else its gateway, else the
// last host address of the subnet.
func serverAddr(sub *topology.DHCPSubnet) netip.Addr {
	switch {
	case sub.ServerAddr.Is4():
		return sub.ServerAddr
	case sub.Gateway.Is4():
		return sub.Gateway
	case sub.Subnet.Addr().Is4() && sub.Subnet.Bits() <= 30:
		return u32addr(u32(sub.Subnet.Masked().Addr()) | hostMask(sub.Subnet.Bits()) - 1)
	}
	return netip.IPv4Unspecified()
}

// build appends the reply frame to dst.
func (s *Server) build(dst []byte, m *Message, reply MessageType, sub *topology.DHCPSubnet, host *topology.DHCPHost, server netip.Addr, mtu uint16) []byte {
	r := Message{Op: OpReply, HType: m.HType, HLen: m.HLen, XID: m.XID, Flags: m.Flags, GIAddr: m.GIAddr, CHAddr: m.CHAddr,
		CIAddr: netip.IPv4Unspecified(), YIAddr: netip.IPv4Unspecified(), SIAddr: netip.IPv4Unspecified()}
	switch {
	case reply == Nak:
	case m.Type == Inform:
		r.CIAddr = m.CIAddr
	default:
		r.CIAddr, r.YIAddr, r.SIAddr = m.CIAddr, host.Addr, server
	}
	b := AppendHeader(s.out[:0], &r)
	b = AppendOption(b, OptMessageType, []byte{byte(reply)})
	b = AppendOption(b, OptServerID, addrBytes(server))
	if reply == Nak {
		b = AppendOption(b, OptMessage, []byte("requested address not assigned to this client"))
	} else {
		b = s.appendConfig(b, m.Type, sub, host, mtu)
	}
	b = AppendEnd(b, 0)
	s.out = b

	// Where the reply goes (RFC 2131 section 4.1): to the address the
	// client has, else broadcast when asked (and for NAKs), else to the
	// address offered at the client's hardware address.
	cmac, _ := m.MAC()
	dstIP, dstMAC := host.Addr, cmac
	switch {
	case reply != Nak && m.CIAddr.Is4() && !m.CIAddr.IsUnspecified():
		dstIP = m.CIAddr
	case reply == Nak || m.Flags&FlagBroadcast != 0:
		dstIP, dstMAC = netip.AddrFrom4([4]byte{255, 255, 255, 255}), topology.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	}
	return appendFrame(dst, dstMAC, s.mac, server, dstIP, ServerPort, ClientPort, b)
}

// appendConfig appends the configuration options of an OFFER or ACK,
// then the host's extra options; an extra option replaces a configuration
// option of the same code.
func (s *Server) appendConfig(b []byte, typ MessageType, sub *topology.DHCPSubnet, host *topology.DHCPHost, mtu uint16) []byte {
	skip := func(code uint8) bool {
		for i := range host.Options {
			if host.Options[i].Code == code {
				return true
			}
		}
		return false
	}
	var v [4]byte
	if typ != Inform && !skip(OptLeaseTime) {
		binary.BigEndian.PutUint32(v[:], s.lease)
		b = AppendOption(b, OptLeaseTime, v[:])
	}
	if p := sub.Subnet; p.Addr().Is4() {
		if !skip(OptSubnetMask) {
			binary.BigEndian.PutUint32(v[:], ^hostMask(p.Bits()))
			b = AppendOption(b, OptSubnetMask, v[:])
		}
		if !skip(OptBroadcast) {
			binary.BigEndian.PutUint32(v[:], u32(p.Masked().Addr())|hostMask(p.Bits()))
			b = AppendOption(b, OptBroadcast, v[:])
		}
	}
	if sub.Gateway.Is4() && !skip(OptRouter) {
		b = AppendOption(b, OptRouter, addrBytes(sub.Gateway))
	}
	if len(sub.DNSServers) > 0 && !skip(OptDNS) {
		s.opt = s.opt[:0]
		for _, a := range sub.DNSServers {
			if a.Is4() {
				s.opt = append4(s.opt, a)
			}
		}
		if len(s.opt) > 0 {
			b = AppendOption(b, OptDNS, s.opt)
		}
	}
	if !skip(OptInterfaceMTU) {
		b = AppendOption(b, OptInterfaceMTU, binary.BigEndian.AppendUint16(v[:0], mtu))
	}
	if len(sub.Routes) > 0 && !skip(OptClasslessRoute) {
		s.opt = s.opt[:0]
		for _, r := range sub.Routes {
			if r.Dst.Addr().Is4() {
				s.opt = appendRoute(s.opt, r.Dst, r.Gateway)
			}
		}
		// A client that gets option 121 ignores the router option (RFC
		// 3442): the default route goes into option 121 too.
		if sub.Gateway.Is4() {
			s.opt = appendRoute(s.opt, netip.PrefixFrom(netip.IPv4Unspecified(), 0), sub.Gateway)
		}
		b = AppendOption(b, OptClasslessRoute, s.opt)
	}
	if host.Name != "" && !skip(OptHostName) {
		b = AppendOption(b, OptHostName, []byte(host.Name))
	}
	for i := range host.Options {
		o := &host.Options[i]
		b = AppendOption(b, o.Code, o.Value)
	}
	return b
}

// appendRoute appends one RFC 3442 route: the prefix length, the
// significant octets of the destination, the router (0.0.0.0 when the
// destination is on the link).
func appendRoute(b []byte, dst netip.Prefix, gw netip.Addr) []byte {
	bits := dst.Bits()
	d := dst.Masked().Addr().As4()
	b = append(b, byte(bits))
	b = append(b, d[:(bits+7)/8]...)
	return append4(b, gw)
}

func addrBytes(a netip.Addr) []byte {
	v := a.As4()
	return v[:]
}

func u32(a netip.Addr) uint32 { return binary.BigEndian.Uint32(addrBytes(a)) }

func u32addr(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// hostMask returns the host bits of a prefix of length bits.
func hostMask(bits int) uint32 {
	if bits <= 0 {
		return ^uint32(0)
	}
	return ^uint32(0) >> bits
}
