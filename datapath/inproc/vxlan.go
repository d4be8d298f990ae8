package inproc

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/hivenet/hivenet/datapath"
)

// VXLAN ports (RFC 7348) carry Ethernet frames in UDP datagrams: an 8-byte
// VXLAN header (flags with the I bit 0x08, 24 reserved bits, the 24-bit
// VNI, 8 reserved bits) followed by the inner frame. The in-process
// datapath sends and receives them on a real UDP socket bound to
// Config.TunnelAddr and the port's DstPort; the host's UDP/IP stack builds
// the outer headers.
//
// Egress (output to a VXLAN port after set(tunnel)): the datagram goes to
// the tunnel key's Dst address, UDP port TPDst if non-zero (as the kernel's
// vxlan driver honours tp_dst) else the port's DstPort. The VNI is the low
// 24 bits of the tunnel ID. TOS (with the inner packet's ECN bits, as
// ip_tunnel_ecn_encap) and TTL (when non-zero) are applied per datagram on
// Linux. The outer source address and UDP port are the socket's: the
// tunnel key's Src and TPSrc are not honoured, nor are TunnelCsum and
// TunnelDontFragment. Output to a VXLAN port without a preceding
// set(tunnel) drops the packet (TxErrors), as the kernel does.
//
// Ingress: a datagram whose VXLAN header has the I flag and which holds at
// least an Ethernet header is processed as a packet received on the port,
// with tunnel metadata ID = VNI, Src/TPSrc = the sender's address and port,
// Dst/TPDst = the socket's, TOS/TTL = the outer header's (Linux), and the
// TunnelKeyPresent flag. Reserved bits are ignored, as RFC 7348 requires
// of receivers (the Linux driver is stricter and drops such datagrams).
// Anything else counts as RxErrors.
//
// In tests, a tunnel IP is simply the loopback address another datapath's
// Config.TunnelAddr binds (127.0.0.2, 127.0.0.3, ...), or the same address
// with a different DstPort given in the tunnel key's TPDst.

// VXLANHeaderLen is the length of the VXLAN header.
const VXLANHeaderLen = 8

// ErrBadVXLAN is wrapped by DecapVXLAN's errors.
var ErrBadVXLAN = errors.New("inproc: bad VXLAN datagram")

// DecapVXLAN parses the UDP payload of a VXLAN datagram and returns its
// VNI and inner Ethernet frame (aliasing b). It fails, wrapping ErrBadVXLAN,
// when the payload is shorter than the header plus an Ethernet header or
// the I flag is clear. It does not allocate.
func DecapVXLAN(b []byte) (vni uint32, inner []byte, err error) {
	if len(b) < VXLANHeaderLen+ethHdrLen {
		return 0, nil, errShortVXLAN
	}
	if b[0]&0x08 == 0 {
		return 0, nil, errNoVNI
	}
	return uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6]), b[VXLANHeaderLen:], nil
}

var (
	errShortVXLAN = fmt.Errorf("%w: shorter than the VXLAN and Ethernet headers", ErrBadVXLAN)
	errNoVNI      = fmt.Errorf("%w: I flag clear", ErrBadVXLAN)
)

// AppendVXLAN appends the VXLAN header for vni (low 24 bits) and the inner
// frame to b.
func AppendVXLAN(b []byte, vni uint32, inner []byte) []byte {
	b = append(b, 0x08, 0, 0, 0, byte(vni>>16), byte(vni>>8), byte(vni), 0)
	return append(b, inner...)
}

type vxlanPort struct {
	conn  *net.UDPConn
	local netip.AddrPort
	v6    bool
	done  chan struct{}
	wg    sync.WaitGroup
	bufs  sync.Pool // *sendBuf
}

type sendBuf struct{ b, oob []byte }

// LocalAddr returns the address a VXLAN port's socket is bound to.
func (d *Datapath) LocalAddr(n datapath.PortNumber) (netip.AddrPort, error) {
	p := d.port(n)
	if p == nil {
		return netip.AddrPort{}, opErr("vport get", errno(syscall.ENODEV))
	}
	if p.vx == nil {
		return netip.AddrPort{}, opErr("vport get", invalid("port %d is not a tunnel port", n))
	}
	return p.vx.local, nil
}

func (d *Datapath) openVXLAN(p *port) error {
	network := "udp4"
	if d.tunIP.Is6() && !d.tunIP.Is4In6() {
		network = "udp6"
	}
	ap := netip.AddrPortFrom(d.tunIP.Unmap(), p.dstPort)
	conn, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return fmt.Errorf("vxlan port %s on %v: %w", p.name, ap, err)
	}
	vx := &vxlanPort{conn: conn, local: ap, v6: network == "udp6", done: make(chan struct{})}
	if err := setRecvOptions(conn, vx.v6); err != nil {
		d.log.Debug("inproc: no outer TOS/TTL on received VXLAN datagrams", "port", p.name, "err", err)
	}
	p.vx = vx
	vx.wg.Add(1)
	go func() {
		defer vx.wg.Done()
		d.vxlanLoop(p, vx)
	}()
	return nil
}

func (vx *vxlanPort) close() {
	close(vx.done)
	vx.conn.Close()
	vx.wg.Wait()
}

func (d *Datapath) vxlanLoop(p *port, vx *vxlanPort) {
	buf := make([]byte, 1<<16)
	oob := make([]byte, 128)
	for {
		n, oobn, _, src, err := vx.conn.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			select {
			case <-vx.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			p.rxErrors.Add(1)
			d.log.Debug("inproc: vxlan receive", "port", p.name, "err", err)
			continue
		}
		vni, inner, err := DecapVXLAN(buf[:n])
		if err != nil {
			p.rxErrors.Add(1)
			continue
		}
		tun := datapath.TunnelKey{
			ID:    uint64(vni),
			Src:   src.Addr().Unmap(),
			Dst:   vx.local.Addr(),
			Flags: datapath.TunnelKeyPresent,
			TPSrc: src.Port(),
			TPDst: vx.local.Port(),
		}
		if tun.Dst.IsUnspecified() {
			tun.Dst = netip.Addr{}
		}
		tun.TOS, tun.TTL = parseRecvOptions(oob[:oobn])
		d.receive(p, inner, &tun)
	}
}

// innerECN returns the ECN bits of the inner IP header, if any.
func innerECN(f []byte) uint8 {
	off := 12
	for i := 0; i < 2 && len(f) >= off+6 && isVLAN(be.Uint16(f[off:])); i++ {
		off += 4
	}
	if len(f) < off+4 {
		return 0
	}
	switch be.Uint16(f[off:]) {
	case ethIPv4:
		return f[off+3] & 3
	case ethIPv6:
		return uint8(be.Uint32(f[off+2:])>>20) & 3
	}
	return 0
}

// outerTOS is ip_tunnel_ecn_encap: the tunnel TOS with the inner ECN bits,
// a congestion-experienced inner packet giving ECT(0).
func outerTOS(tos uint8, inner []byte) uint8 {
	ecn := innerECN(inner)
	if ecn == 3 {
		ecn = 2
	}
	return tos&^3 | ecn
}

func (vx *vxlanPort) send(p *port, frame []byte, pk *pkt) {
	if !pk.hasEgress {
		p.txErrors.Add(1)
		return
	}
	t := &pk.egress
	dst := t.Dst.Unmap()
	if dst.Is6() != vx.v6 {
		p.txErrors.Add(1)
		return
	}
	dport := t.TPDst
	if dport == 0 {
		dport = p.dstPort
	}
	sb, _ := vx.bufs.Get().(*sendBuf)
	if sb == nil {
		sb = &sendBuf{b: make([]byte, 0, 2048), oob: make([]byte, 0, 64)}
	}
	sb.b = AppendVXLAN(sb.b[:0], uint32(t.ID)&0xffffff, frame)
	sb.oob = appendSendOptions(sb.oob[:0], vx.v6, outerTOS(t.TOS, frame), t.TTL)
	_, _, err := vx.conn.WriteMsgUDPAddrPort(sb.b, sb.oob, netip.AddrPortFrom(dst, dport))
	vx.bufs.Put(sb)
	if err != nil {
		p.txErrors.Add(1)
		return
	}
	p.txPackets.Add(1)
	p.txBytes.Add(uint64(len(frame)))
}

// egressKey is the tunnel key a packet with tunnel t would leave through
// this port with, as the kernel fills it for a userspace action's
// egress_tun_port: source address and ports of the port's socket.
func (vx *vxlanPort) egressKey(p *port, t *datapath.TunnelKey) datapath.TunnelKey {
	k := *t
	if !k.Src.IsValid() || k.Src.IsUnspecified() {
		k.Src = vx.local.Addr()
	}
	k.TPSrc = vx.local.Port()
	k.TPDst = p.dstPort
	return k
}
