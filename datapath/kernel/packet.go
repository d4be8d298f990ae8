package kernel

import (
	"context"
	"fmt"
	"sync"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/ovsh"
	"github.com/mdlayher/netlink"
)

// Execute implements datapath.Datapath with OVS_PACKET_CMD_EXECUTE. A nil
// key means no metadata (the packet comes from no port, as a packet the
// caller generated).
func (d *Datapath) Execute(ctx context.Context, packet []byte, key *datapath.FlowKey, actions datapath.Actions) error {
	attrs, err := appendExecute(make([]byte, 0, len(packet)+256), packet, key, actions)
	if err != nil {
		return &datapath.OpError{Op: "packet execute", Err: err}
	}
	return d.c.exchange(ctx, "packet execute", d.c.packetFamily, ovsh.PacketCmdExecute, ovsh.PacketVersion, 0, d.ifindex, attrs,
		func(reply) error { return nil })
}

func appendExecute(b, packet []byte, key *datapath.FlowKey, actions datapath.Actions) ([]byte, error) {
	if len(packet) == 0 {
		return b, fmt.Errorf("%w: empty packet", datapath.ErrInvalid)
	}
	if len(packet) > 0xffff-nlaHdrLen {
		return b, fmt.Errorf("%w: packet of %d bytes", datapath.ErrInvalid, len(packet))
	}
	b = appendAttr(b, ovsh.PacketAttrPacket, packet)
	var s int
	b, s = beginNested(b, ovsh.PacketAttrKey)
	if key != nil {
		b = appendKey(b, key)
	}
	b = endNested(b, s)
	b, s = beginNested(b, ovsh.PacketAttrActions)
	b, err := appendActions(b, actions)
	if err != nil {
		return b, err
	}
	return endNested(b, s), nil
}

// decodeUpcall decodes the generic netlink payload (genl header, ovs header
// and attributes) of an OVS_PACKET_CMD_MISS or _ACTION message into u,
// reusing u's buffers.
func decodeUpcall(b []byte, u *datapath.Upcall) error {
	r, err := parseReply(b)
	if err != nil {
		return err
	}
	pkt, ud := u.Packet[:0], u.Userdata[:0]
	*u = datapath.Upcall{}
	switch r.cmd {
	case ovsh.PacketCmdMiss:
		u.Kind = datapath.UpcallMiss
	case ovsh.PacketCmdAction:
		u.Kind = datapath.UpcallAction
	default:
		return fmt.Errorf("%w: packet command %d is not an upcall", datapath.ErrMalformed, r.cmd)
	}
	var hasPacket, hasKey bool
	a := attrs{b: r.attrs}
	for a.next() {
		switch a.typ {
		case ovsh.PacketAttrPacket:
			pkt = append(pkt, a.data...)
			hasPacket = true
		case ovsh.PacketAttrKey:
			if err := decodeKey(a.data, &u.Key); err != nil {
				return err
			}
			hasKey = true
		case ovsh.PacketAttrUserdata:
			ud = append(ud, a.data...)
			u.Userdata = ud
		case ovsh.PacketAttrEgressTunKey:
			if err := decodeTunnel(a.data, &u.EgressTunnel); err != nil {
				return err
			}
			u.HasEgressTunnel = true
		case ovsh.PacketAttrActions:
			acts, err := decodeActions(a.data)
			if err != nil {
				return err
			}
			u.Actions = acts
		case ovsh.PacketAttrMRU:
			u.MRU = a.u16()
		case ovsh.PacketAttrLen:
			u.Len = a.u32()
		case ovsh.PacketAttrHash:
			u.Hash = a.u64()
		}
	}
	if a.err != nil {
		return a.err
	}
	if !hasPacket || !hasKey {
		return fmt.Errorf("%w: upcall without packet or key", datapath.ErrMalformed)
	}
	u.Packet = pkt
	return nil
}

// UpcallSocket is a dedicated generic netlink socket whose port ID is
// registered as an upcall PID. It implements datapath.UpcallSocket.
//
// Per-CPU dispatch: open one UpcallSocket per CPU and register their PIDs
// with Datapath.SetPerCPUUpcallPIDs; each socket is then read by its own
// goroutine. Per-vport dispatch: register the PID in PortSpec.UpcallPIDs.
type UpcallSocket struct {
	family uint16
	conn   *netlink.Conn
	// mu guards pending and serializes Receive.
	mu      sync.Mutex
	pending []netlink.Message
}

var _ datapath.UpcallSocket = (*UpcallSocket)(nil)

// OpenUpcalls implements datapath.Datapath.
func (d *Datapath) OpenUpcalls() (datapath.UpcallSocket, error) { return d.c.OpenUpcallSocket() }

// OpenUpcallSocket opens an upcall socket with a 4 MiB receive buffer.
func (c *Client) OpenUpcallSocket() (*UpcallSocket, error) {
	if c.dial == nil {
		return nil, &datapath.OpError{Op: "open upcall socket", Err: fmt.Errorf("%w: client has no dialer", datapath.ErrNotSupported)}
	}
	conn, err := c.dial()
	if err != nil {
		return nil, &datapath.OpError{Op: "open upcall socket", Err: err}
	}
	_ = conn.SetReadBuffer(4 << 20)
	return &UpcallSocket{family: c.packetFamily, conn: conn}, nil
}

// PID returns the socket's netlink port ID.
func (s *UpcallSocket) PID() uint32 { return s.conn.PID() }

// Close closes the socket, unblocking Receive.
func (s *UpcallSocket) Close() error { return s.conn.Close() }

// Receive implements datapath.UpcallSocket. Messages that are not upcalls
// are skipped. An ENOBUFS error means the kernel dropped upcalls because the
// socket buffer was full; the socket stays usable.
func (s *UpcallSocket) Receive(ctx context.Context, u *datapath.Upcall) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		for len(s.pending) > 0 {
			m := s.pending[0]
			s.pending = s.pending[1:]
			if m.Header.Type != netlink.HeaderType(s.family) {
				continue
			}
			if err := decodeUpcall(m.Data, u); err != nil {
				return &datapath.OpError{Op: "upcall receive", Err: err}
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return &datapath.OpError{Op: "upcall receive", Err: err}
		}
		stop := deadline(ctx, s.conn)
		msgs, err := s.conn.Receive()
		stop()
		if err != nil {
			return wrapErr(ctx, "upcall receive", err)
		}
		s.pending = msgs
	}
}
