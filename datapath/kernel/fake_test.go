//go:build linux

package kernel

import (
	"errors"
	"sync"
	"syscall"
	"testing"

	"github.com/hivenet/hivenet/internal/ovsh"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

// Family IDs handed out by the fake kernel.
const (
	fakeDPFamily     = 0x20
	fakeVportFamily  = 0x21
	fakeFlowFamily   = 0x22
	fakePacketFamily = 0x23
)

// fakeReq is one decoded openvswitch request seen by the fake kernel.
type fakeReq struct {
	family  uint16
	flags   netlink.HeaderFlags
	cmd     uint8
	version uint8
	ifindex int32
	attrs   []byte
}

// fakeHandler answers one openvswitch request with reply payloads (the
// attributes after the ovs header; the command and ifindex are copied from
// the request) or an errno.
type fakeHandler func(r fakeReq) ([][]byte, error)

// fakeKernel is an nltest-based stand-in for the openvswitch genetlink
// families. Replies are queued per datagram like the kernel does: one
// datagram per reply or acknowledgement, a whole dump in one datagram.
type fakeKernel struct {
	t        *testing.T
	families map[string]uint16
	handle   fakeHandler

	mu    sync.Mutex
	reqs  []fakeReq
	queue [][]netlink.Message
}

func newFakeKernel(t *testing.T, h fakeHandler) *fakeKernel {
	return &fakeKernel{t: t, handle: h, families: map[string]uint16{
		ovsh.DatapathFamily: fakeDPFamily, ovsh.VportFamily: fakeVportFamily,
		ovsh.FlowFamily: fakeFlowFamily, ovsh.PacketFamily: fakePacketFamily,
	}}
}

func (fk *fakeKernel) requests() []fakeReq {
	fk.mu.Lock()
	defer fk.mu.Unlock()
	return append([]fakeReq(nil), fk.reqs...)
}

func (fk *fakeKernel) client(t *testing.T) *Client {
	t.Helper()
	c, err := newClient(nltest.Dial(fk.serve), nil)
	if err != nil {
		t.Fatalf("newClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (fk *fakeKernel) serve(reqs []netlink.Message) ([]netlink.Message, error) {
	fk.mu.Lock()
	defer fk.mu.Unlock()
	for _, req := range reqs {
		fk.queue = append(fk.queue, fk.answer(req)...)
	}
	if len(fk.queue) == 0 {
		return nil, nil
	}
	next := fk.queue[0]
	fk.queue = fk.queue[1:]
	return next, nil
}

func errMsg(req netlink.Message, errno syscall.Errno) netlink.Message {
	hdr := make([]byte, 16)
	ne.PutUint32(hdr, req.Header.Length)
	ne.PutUint16(hdr[4:], uint16(req.Header.Type))
	data := ne.AppendUint32(nil, uint32(-int32(errno)))
	return netlink.Message{
		Header: netlink.Header{Type: netlink.Error, Sequence: req.Header.Sequence, PID: req.Header.PID},
		Data:   append(data, hdr...),
	}
}

func (fk *fakeKernel) answer(req netlink.Message) [][]netlink.Message {
	hdr := netlink.Header{Sequence: req.Header.Sequence, PID: req.Header.PID}
	if req.Header.Type == unix.GENL_ID_CTRL {
		var gm genetlink.Message
		if err := gm.UnmarshalBinary(req.Data); err != nil {
			fk.t.Errorf("fake: bad GETFAMILY: %v", err)
			return nil
		}
		ad, _ := netlink.NewAttributeDecoder(gm.Data)
		var name string
		for ad.Next() {
			if ad.Type() == unix.CTRL_ATTR_FAMILY_NAME {
				name = ad.String()
			}
		}
		id, ok := fk.families[name]
		if !ok {
			return [][]netlink.Message{{errMsg(req, unix.ENOENT)}}
		}
		ae := netlink.NewAttributeEncoder()
		ae.Uint16(unix.CTRL_ATTR_FAMILY_ID, id)
		ae.String(unix.CTRL_ATTR_FAMILY_NAME, name)
		ae.Uint32(unix.CTRL_ATTR_VERSION, 1)
		attrs, _ := ae.Encode()
		b, _ := genetlink.Message{Header: genetlink.Header{Command: unix.CTRL_CMD_NEWFAMILY}, Data: attrs}.MarshalBinary()
		hdr.Type = unix.GENL_ID_CTRL
		return [][]netlink.Message{{{Header: hdr, Data: b}}}
	}
	r, err := parseReply(req.Data)
	if err != nil {
		fk.t.Errorf("fake: short request: %v", err)
		return nil
	}
	fr := fakeReq{family: uint16(req.Header.Type), flags: req.Header.Flags, cmd: r.cmd, version: req.Data[1],
		ifindex: r.ifindex, attrs: append([]byte(nil), r.attrs...)}
	fk.reqs = append(fk.reqs, fr)
	payloads, err := fk.handle(fr)
	if err != nil {
		var errno syscall.Errno
		if !errors.As(err, &errno) {
			fk.t.Errorf("fake handler: %v", err)
			errno = unix.EIO
		}
		return [][]netlink.Message{{errMsg(req, errno)}}
	}
	var out [][]netlink.Message
	dump := req.Header.Flags&netlink.Dump == netlink.Dump
	var dumpMsgs []netlink.Message
	for _, p := range payloads {
		m := netlink.Message{Header: hdr, Data: request(nil, r.cmd, req.Data[1], r.ifindex, p)}
		m.Header.Type = req.Header.Type
		if dump {
			m.Header.Flags |= netlink.Multi
			dumpMsgs = append(dumpMsgs, m)
		} else {
			out = append(out, []netlink.Message{m})
		}
	}
	if dump {
		done := netlink.Message{Header: hdr, Data: make([]byte, 4)}
		done.Header.Type, done.Header.Flags = netlink.Done, netlink.Multi
		out = append(out, append(dumpMsgs, done))
	}
	if req.Header.Flags&netlink.Acknowledge != 0 {
		out = append(out, []netlink.Message{errMsg(req, 0)})
	}
	return out
}
