package inproc

import (
	"fmt"
	"net/netip"
	"syscall"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// pkt is a packet going through the actions.
type pkt struct {
	buf   []byte
	owned bool // buf may be written in place
	// key is the packet's metadata and headers; the headers are stale when
	// dirty (re-extracted when an upcall needs them).
	key   datapath.FlowKey
	dirty bool
	// lay is the simulation/packet layout of buf, valid when parsed.
	lay    packet.Layout
	parsed bool
	// egress is the tunnel set by set(tunnel) for later tunnel outputs.
	egress    datapath.TunnelKey
	hasEgress bool
	cutlen    int // bytes a trunc action removes at the next output
	acts      datapath.Actions
}

// own makes buf writable, copying the caller's frame once.
func (p *pkt) own() {
	if p.owned {
		return
	}
	nb := make([]byte, len(p.buf), len(p.buf)+8)
	copy(nb, p.buf)
	p.buf, p.owned = nb, true
}

var errNotIP = fmt.Errorf("set of an IP field on a frame without that IP header: %w", errno(syscall.EINVAL))

// layout parses buf with simulation/packet (once) for the rewrites.
func (p *pkt) layout() (*packet.Layout, error) {
	if !p.parsed {
		var m packet.Match
		if err := m.Parse(p.buf); err != nil {
			return nil, err
		}
		p.lay, p.parsed = m.Layout(), true
	}
	return &p.lay, nil
}

// cut returns the frame as the next output sees it (after trunc) and
// clears the truncation, as the kernel resets cutlen after an output.
func (p *pkt) cut() []byte {
	f := p.buf
	if p.cutlen > 0 {
		n := max(len(f)-p.cutlen, ethHdrLen)
		f = f[:min(n, len(f))]
		p.cutlen = 0
	}
	return f
}

func maskedMAC(old, v, m topology.MAC) topology.MAC {
	for i := range old {
		old[i] = old[i]&^m[i] | v[i]&m[i]
	}
	return old
}

func u32(a netip.Addr) uint32 { return uint32(v4(a)) }

var fullMAC = topology.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func (p *pkt) setEthernet(v, m *datapath.EthernetKey) error {
	p.own()
	var src, dst topology.MAC
	copy(dst[:], p.buf[0:6])
	copy(src[:], p.buf[6:12])
	if err := packet.SetEthSrc(p.buf, maskedMAC(src, v.Src, m.Src)); err != nil {
		return err
	}
	p.dirty = true
	return packet.SetEthDst(p.buf, maskedMAC(dst, v.Dst, m.Dst))
}

func (p *pkt) setIPv4(v, m *datapath.IPv4Key) error {
	l, err := p.layout()
	if err != nil {
		return err
	}
	if l.EtherType != ethIPv4 || l.L3 == 0 {
		return errNotIP
	}
	p.own()
	p.dirty = true
	f, l3 := p.buf, int(l.L3)
	if ms := u32(m.Src); ms != 0 {
		old := be.Uint32(f[l3+12:])
		if nw := old&^ms | u32(v.Src)&ms; nw != old {
			if err := packet.SetIPv4Src(f, *l, addr4(nw)); err != nil {
				return err
			}
		}
	}
	if md := u32(m.Dst); md != 0 {
		old := be.Uint32(f[l3+16:])
		if nw := old&^md | u32(v.Dst)&md; nw != old {
			if err := packet.SetIPv4Dst(f, *l, addr4(nw)); err != nil {
				return err
			}
		}
	}
	if m.TOS != 0 {
		if err := packet.SetIPv4TOS(f, *l, f[l3+1]&^m.TOS|v.TOS&m.TOS); err != nil {
			return err
		}
	}
	if m.TTL != 0 {
		if err := packet.SetIPv4TTL(f, *l, f[l3+8]&^m.TTL|v.TTL&m.TTL); err != nil {
			return err
		}
	}
	return nil
}

func addr4(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// setIPv6 rewrites the traffic class, flow label and hop limit, which no
// checksum covers. (Address rewrites are refused at validation.)
func (p *pkt) setIPv6(v, m *datapath.IPv6Key) error {
	l, err := p.layout()
	if err != nil {
		return err
	}
	if l.EtherType != ethIPv6 || l.L3 == 0 {
		return errNotIP
	}
	p.own()
	p.dirty = true
	h := p.buf[l.L3:]
	w := be.Uint32(h)
	tc := uint8(w>>20)&^m.TClass | v.TClass&m.TClass
	label := w&0xfffff&^m.Label | v.Label&m.Label
	be.PutUint32(h, w&0xf0000000|uint32(tc)<<20|label&0xfffff)
	h[7] = h[7]&^m.HLimit | v.HLimit&m.HLimit
	return nil
}

// setPorts rewrites TCP or UDP ports through simulation/packet. A frame
// without that transport header (a non-first fragment) is left alone.
func (p *pkt) setPorts(proto uint8, vs, vd, ms, md uint16) error {
	l, err := p.layout()
	if err != nil {
		return err
	}
	if l.L4 == 0 || l.Proto != proto {
		return nil
	}
	p.own()
	p.dirty = true
	f, l4 := p.buf, int(l.L4)
	if ms != 0 {
		old := be.Uint16(f[l4:])
		if nw := old&^ms | vs&ms; nw != old {
			if err := packet.SetL4Src(f, *l, nw); err != nil {
				return err
			}
		}
	}
	if md != 0 {
		old := be.Uint16(f[l4+2:])
		if nw := old&^md | vd&md; nw != old {
			if err := packet.SetL4Dst(f, *l, nw); err != nil {
				return err
			}
		}
	}
	return nil
}

// l2layout returns the packet's layout, or, when simulation/packet cannot
// parse the frame, a layout describing only its VLAN tags (enough for
// push_vlan/pop_vlan). ok reports whether the layout is the full one.
func (p *pkt) l2layout() (l packet.Layout, ok bool) {
	if lp, err := p.layout(); err == nil {
		return *lp, true
	}
	off := 12
	for l.VLANs < packet.MaxVLANs && len(p.buf) >= off+6 && isVLAN(be.Uint16(p.buf[off:])) {
		l.VLANs++
		off += 4
	}
	return l, false
}

func (p *pkt) pushVLAN(a datapath.PushVLAN) error {
	l, full := p.l2layout()
	p.own()
	nb, err := packet.PushVLAN(p.buf, &l, packet.VLANFromTCI(a.TPID, a.TCI&^vlanCFI))
	if err != nil {
		return err
	}
	p.buf, p.lay, p.parsed, p.dirty = nb, l, full, true
	return nil
}

func (p *pkt) popVLAN() error {
	l, full := p.l2layout()
	if l.VLANs == 0 {
		return nil // untagged: nothing to pop, as skb_vlan_pop
	}
	p.own()
	nb, err := packet.PopVLAN(p.buf, &l)
	if err != nil {
		return err
	}
	p.buf, p.lay, p.parsed, p.dirty = nb, l, full, true
	return nil
}

var (
	full4 = netip.AddrFrom4([4]byte{0xff, 0xff, 0xff, 0xff})
	// allIPv4 is the implicit mask of a non-masked set(ipv4): every field
	// the kernel's set_ipv4 writes.
	allIPv4 = datapath.IPv4Key{Src: full4, Dst: full4, TOS: 0xff, TTL: 0xff}
)
