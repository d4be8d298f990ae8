package inproc

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"syscall"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// maxActionDepth is the kernel's OVS_COPY_ACTIONS_MAX_DEPTH for nested
// clone and sample actions.
const maxActionDepth = 16

// validateActions checks acts as the kernel's ovs_nla_copy_actions would
// for a flow whose masked key is key (for Execute, the packet's key), and
// rejects what this datapath cannot execute.
func validateActions(acts datapath.Actions, key *datapath.FlowKey, depth int) error {
	if depth > maxActionDepth {
		return fmt.Errorf("actions nested deeper than %d: %w", maxActionDepth, errno(syscall.EOVERFLOW))
	}
	var ethType uint16
	if key.Fields&datapath.KeyEtherType != 0 {
		ethType = key.EtherType
	}
	var proto uint8
	var frag datapath.FragType
	switch ethType {
	case ethIPv4:
		proto, frag = key.IPv4.Proto, key.IPv4.Frag
	case ethIPv6:
		proto, frag = key.IPv6.Proto, key.IPv6.Frag
	}
	needIP := func(what string, et uint16) error {
		if ethType != et {
			return invalid("%s without an exact match on ethertype %#04x", what, et)
		}
		return nil
	}
	needL4 := func(what string, p uint8) error {
		if (ethType != ethIPv4 && ethType != ethIPv6) || proto != p {
			return invalid("%s without an exact match on IP protocol %d", what, p)
		}
		return nil
	}
	for i, a := range acts {
		var err error
		switch a := a.(type) {
		case datapath.Output:
			if a.Port >= maxPorts {
				err = invalid("output to port %d", a.Port)
			}
		case datapath.Userspace:
		case datapath.Set[datapath.EthernetKey]:
		case datapath.SetMasked[datapath.EthernetKey]:
			err = checkMasked(a.Value, a.Mask)
		case datapath.Set[datapath.IPv4Key]:
			if err = needIP("set(ipv4)", ethIPv4); err == nil && (a.Value.Proto != proto || a.Value.Frag != frag) {
				err = invalid("set(ipv4) changes the protocol or fragment type")
			}
		case datapath.SetMasked[datapath.IPv4Key]:
			if err = needIP("set(ipv4)", ethIPv4); err == nil && (a.Mask.Proto != 0 || a.Mask.Frag != 0) {
				err = invalid("set(ipv4) of the protocol or fragment type")
			}
			if err == nil {
				err = checkMasked(a.Value, a.Mask)
			}
		case datapath.Set[datapath.IPv6Key]:
			if err = needIP("set(ipv6)", ethIPv6); err == nil {
				err = unsupported("set(ipv6) without a mask (it rewrites the addresses)")
			}
		case datapath.SetMasked[datapath.IPv6Key]:
			err = needIP("set(ipv6)", ethIPv6)
			switch {
			case err != nil:
			case a.Mask.Proto != 0 || a.Mask.Frag != 0:
				err = invalid("set(ipv6) of the protocol or fragment type")
			case a.Mask.Label&0xfff00000 != 0 || a.Value.Label&0xfff00000 != 0:
				err = invalid("set(ipv6) flow label beyond 20 bits")
			case !isZeroAddr(a.Mask.Src) || !isZeroAddr(a.Mask.Dst):
				err = unsupported("set(ipv6) of addresses")
			default:
				err = checkMasked(a.Value, a.Mask)
			}
		case datapath.Set[datapath.TCPKey]:
			err = needL4("set(tcp)", protoTCP)
		case datapath.SetMasked[datapath.TCPKey]:
			if err = needL4("set(tcp)", protoTCP); err == nil {
				err = checkMasked(a.Value, a.Mask)
			}
		case datapath.Set[datapath.UDPKey]:
			err = needL4("set(udp)", protoUDP)
		case datapath.SetMasked[datapath.UDPKey]:
			if err = needL4("set(udp)", protoUDP); err == nil {
				err = checkMasked(a.Value, a.Mask)
			}
		case datapath.Set[datapath.SCTPKey], datapath.SetMasked[datapath.SCTPKey]:
			if err = needL4("set(sctp)", protoSCTP); err == nil {
				err = unsupported("set(sctp) (CRC32c checksum)")
			}
		case datapath.Set[datapath.NDKey], datapath.SetMasked[datapath.NDKey]:
			err = invalid("set(nd) is not a kernel datapath action")
		case datapath.Set[datapath.TunnelKey]:
			switch t := a.Value; {
			case !t.Dst.IsValid() || t.Dst.IsUnspecified():
				err = invalid("set(tunnel) without a destination address")
			case t.Src.IsValid() && t.Src.Is4() != t.Dst.Is4():
				err = invalid("set(tunnel) with addresses of different families")
			case t.GeneveOpts != "" || t.Unknown != "":
				err = unsupported("set(tunnel) with Geneve options or unknown attributes")
			}
		case datapath.SetMasked[datapath.TunnelKey]:
			err = invalid("masked set(tunnel)")
		case datapath.Set[datapath.Mark], datapath.Set[datapath.Priority]:
		case datapath.SetMasked[datapath.Mark]:
			err = checkMasked(a.Value, a.Mask)
		case datapath.SetMasked[datapath.Priority]:
			err = checkMasked(a.Value, a.Mask)
		case datapath.PushVLAN:
			switch {
			case !isVLAN(a.TPID):
				err = invalid("push_vlan TPID %#04x", a.TPID)
			case a.TCI&vlanCFI == 0:
				err = invalid("push_vlan TCI %#04x without the CFI bit", a.TCI)
			}
		case datapath.PopVLAN:
		case datapath.Trunc:
			if a.MaxLen < ethHdrLen {
				err = invalid("trunc to %d bytes", a.MaxLen)
			}
		case datapath.Clone:
			err = validateActions(a.Actions, key, depth+1)
		case datapath.CheckPktLen:
			if a.PktLen == 0 {
				err = invalid("check_pkt_len of size 0")
				break
			}
			if err = validateActions(a.Greater, key, depth+1); err == nil {
				err = validateActions(a.LessEqual, key, depth+1)
			}
		case datapath.Sample:
			err = validateActions(a.Actions, key, depth+1)
		case datapath.CTClear, datapath.Meter:
			// No connection is ever tracked and no meter exists: both are
			// no-ops, exactly as in the kernel for an untracked packet and
			// an unknown meter.
		case datapath.Recirc:
			err = unsupported("recirc")
		case datapath.Hash:
			err = unsupported("hash")
		case datapath.CT:
			err = unsupported("ct (connection tracking)")
		case datapath.UnknownAction:
			err = unsupported(fmt.Sprintf("action type %d", a.Type))
		default:
			err = unsupported(fmt.Sprintf("action %T", a))
		}
		if err != nil {
			return fmt.Errorf("action %d: %w", i, err)
		}
	}
	return nil
}

func isZeroAddr(a netip.Addr) bool { return !a.IsValid() || a.IsUnspecified() }

// groupKey puts one set-able header group into a FlowKey, so that masked
// values can be checked with the flattened form.
func groupKey(v any) datapath.FlowKey {
	var k datapath.FlowKey
	switch v := v.(type) {
	case datapath.EthernetKey:
		k.Ethernet = v
	case datapath.IPv4Key:
		k.IPv4 = v
	case datapath.IPv6Key:
		k.IPv6 = v
	case datapath.TCPKey:
		k.TCP = v
	case datapath.UDPKey:
		k.UDP = v
	case datapath.Mark:
		k.SKBMark = v
	case datapath.Priority:
		k.Priority = v
	}
	return k
}

// checkMasked rejects a masked set whose value has bits outside its mask
// (the kernel's validate_masked).
func checkMasked(v, m any) error {
	kv, km := groupKey(v), groupKey(m)
	var fv, fm flatKey
	flatten(&kv, &fv, false)
	flatten(&km, &fm, false)
	for i := range fv {
		if fv[i]&^fm[i] != 0 {
			return invalid("masked set value has bits outside the mask")
		}
	}
	return nil
}

// cloneActions deep-copies the parts of an action list a caller could
// mutate later (userdata, nested lists).
func cloneActions(acts datapath.Actions) datapath.Actions {
	if acts == nil {
		return nil
	}
	out := make(datapath.Actions, len(acts))
	for i, a := range acts {
		switch a := a.(type) {
		case datapath.Userspace:
			a.Userdata = slices.Clone(a.Userdata)
			out[i] = a
		case datapath.Clone:
			out[i] = datapath.Clone{Actions: cloneActions(a.Actions)}
		case datapath.CheckPktLen:
			out[i] = datapath.CheckPktLen{PktLen: a.PktLen, Greater: cloneActions(a.Greater), LessEqual: cloneActions(a.LessEqual)}
		case datapath.Sample:
			out[i] = datapath.Sample{Probability: a.Probability, Actions: cloneActions(a.Actions)}
		default:
			out[i] = a
		}
	}
	return out
}

// appendActions appends a deep copy of acts (as cloneActions) to dst.
func appendActions(dst, acts datapath.Actions) datapath.Actions {
	for _, a := range acts {
		switch a.(type) {
		case datapath.Userspace, datapath.Clone, datapath.CheckPktLen, datapath.Sample:
			dst = append(dst, cloneActions(datapath.Actions{a})[0])
		default:
			dst = append(dst, a)
		}
	}
	return dst
}

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

// run executes acts on p. It returns the first error (the packet is then
// dropped, as the kernel drops a packet whose action fails).
func (d *Datapath) run(p *pkt, acts datapath.Actions) error {
	for _, a := range acts {
		var err error
		switch a := a.(type) {
		case datapath.Output:
			d.output(p, a.Port)
		case datapath.Userspace:
			d.userspace(p, &a)
		case datapath.Set[datapath.EthernetKey]:
			err = p.setEthernet(&a.Value, &datapath.EthernetKey{Src: fullMAC, Dst: fullMAC})
		case datapath.SetMasked[datapath.EthernetKey]:
			err = p.setEthernet(&a.Value, &a.Mask)
		case datapath.Set[datapath.IPv4Key]:
			err = p.setIPv4(&a.Value, &allIPv4)
		case datapath.SetMasked[datapath.IPv4Key]:
			err = p.setIPv4(&a.Value, &a.Mask)
		case datapath.SetMasked[datapath.IPv6Key]:
			err = p.setIPv6(&a.Value, &a.Mask)
		case datapath.Set[datapath.TCPKey]:
			err = p.setPorts(protoTCP, a.Value.Src, a.Value.Dst, 0xffff, 0xffff)
		case datapath.SetMasked[datapath.TCPKey]:
			err = p.setPorts(protoTCP, a.Value.Src, a.Value.Dst, a.Mask.Src, a.Mask.Dst)
		case datapath.Set[datapath.UDPKey]:
			err = p.setPorts(protoUDP, a.Value.Src, a.Value.Dst, 0xffff, 0xffff)
		case datapath.SetMasked[datapath.UDPKey]:
			err = p.setPorts(protoUDP, a.Value.Src, a.Value.Dst, a.Mask.Src, a.Mask.Dst)
		case datapath.Set[datapath.TunnelKey]:
			p.egress, p.hasEgress = a.Value, true
		case datapath.Set[datapath.Mark]:
			p.key.SKBMark = a.Value
		case datapath.SetMasked[datapath.Mark]:
			p.key.SKBMark = p.key.SKBMark&^a.Mask | a.Value&a.Mask
		case datapath.Set[datapath.Priority]:
			p.key.Priority = a.Value
		case datapath.SetMasked[datapath.Priority]:
			p.key.Priority = p.key.Priority&^a.Mask | a.Value&a.Mask
		case datapath.PushVLAN:
			err = p.pushVLAN(a)
		case datapath.PopVLAN:
			err = p.popVLAN()
		case datapath.Trunc:
			if n := len(p.buf); n > int(a.MaxLen) {
				p.cutlen = n - int(a.MaxLen)
			}
		case datapath.Clone:
			err = d.runCopy(p, a.Actions)
		case datapath.CheckPktLen:
			// The frame's length as it is now, as the kernel's skb->len.
			if len(p.buf) > int(a.PktLen) {
				err = d.runCopy(p, a.Greater)
			} else {
				err = d.runCopy(p, a.LessEqual)
			}
		case datapath.Sample:
			if a.Probability == ^uint32(0) || (a.Probability != 0 && rand.Uint32() <= a.Probability) {
				err = d.runCopy(p, a.Actions)
			}
		case datapath.CTClear:
			p.key.CTState, p.key.CTZone, p.key.CTMark, p.key.CTLabels = 0, 0, 0, [16]byte{}
			p.key.CTOrigTuple = datapath.CTTuple{}
			p.key.Fields &^= datapath.KeyCTOrigTupleIPv4 | datapath.KeyCTOrigTupleIPv6
		case datapath.Meter:
		default:
			err = unsupported(fmt.Sprintf("action %T", a)) // refused by validation
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// runCopy runs acts on a copy of p (clone, sample), leaving p untouched.
func (d *Datapath) runCopy(p *pkt, acts datapath.Actions) error {
	q := *p
	q.owned = false
	return d.run(&q, acts)
}

// output sends the packet to port n; a missing port drops it silently, as
// in the kernel.
func (d *Datapath) output(p *pkt, n datapath.PortNumber) {
	f := p.cut()
	if pt := d.port(n); pt != nil {
		pt.transmit(f, p)
	}
}

// userspace queues an UpcallAction upcall for a Userspace action.
func (d *Datapath) userspace(p *pkt, a *datapath.Userspace) {
	full := len(p.buf)
	f := p.cut()
	if p.dirty {
		extractHeaders(p.buf, &p.key)
		p.dirty = false
	}
	m := d.getMsg()
	m.kind = datapath.UpcallAction
	m.key = p.key
	m.packet = append(m.packet[:0], f...)
	m.userdata = append(m.userdata[:0], a.Userdata...)
	m.len = 0
	if len(f) < full {
		m.len = uint32(full)
	}
	m.hasEgress, m.egress = false, datapath.TunnelKey{}
	if a.EgressTunnelPort != 0 && p.hasEgress {
		if tp := d.port(a.EgressTunnelPort); tp != nil && tp.vx != nil {
			m.egress, m.hasEgress = tp.vx.egressKey(tp, &p.egress), true
		}
	}
	m.actions = nil
	if a.WithActions {
		// A copy: the flow's own list is reused once the flow is gone.
		m.actions = cloneActions(p.acts)
	}
	d.queueUpcall(a.PID, m)
}
