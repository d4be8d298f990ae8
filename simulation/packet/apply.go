package packet

import "math/bits"

// applyable lists the fields Apply can write into a frame. The input port is
// metadata and is ignored; any other modified field whose value differs from
// the parsed one makes Apply fail with ErrUnsupported.
const applyable FieldSet = 1<<FieldEthSrc | 1<<FieldEthDst | 1<<FieldVLAN |
	1<<FieldIPSrc | 1<<FieldIPDst | 1<<FieldIPTOS | 1<<FieldIPTTL |
	1<<FieldSrcPort | 1<<FieldDstPort | 1<<FieldICMPID | 1<<FieldICMPData

// Changed returns the fields of to that are marked modified and whose value
// differs from from's. The input port is never included.
func Changed(from, to *Match) FieldSet {
	var c FieldSet
	f, t := from.Peek(), to.Peek()
	for fs := to.modified &^ (1 << FieldInPort) & AllFields; fs != 0; fs &= fs - 1 {
		fld := Field(bits.TrailingZeros32(uint32(fs)))
		if !sameField(f, t, fld) {
			c |= 1 << fld
		}
	}
	return c
}

func sameField(a, b *View, f Field) bool {
	switch f {
	case FieldEthSrc:
		return a.ethSrc == b.ethSrc
	case FieldEthDst:
		return a.ethDst == b.ethDst
	case FieldVLAN:
		return a.vlans == b.vlans
	case FieldEtherType:
		return a.etherType == b.etherType
	case FieldARPOp:
		return a.arpOp == b.arpOp
	case FieldARPSHA:
		return a.arpSHA == b.arpSHA
	case FieldARPSPA:
		return a.arpSPA == b.arpSPA
	case FieldARPTHA:
		return a.arpTHA == b.arpTHA
	case FieldARPTPA:
		return a.arpTPA == b.arpTPA
	case FieldIPSrc:
		return a.ipSrc == b.ipSrc
	case FieldIPDst:
		return a.ipDst == b.ipDst
	case FieldIPProto:
		return a.ipProto == b.ipProto
	case FieldIPTOS:
		return a.ipTOS == b.ipTOS
	case FieldIPTTL:
		return a.ipTTL == b.ipTTL
	case FieldIPFrag:
		return a.ipFrag == b.ipFrag
	case FieldIPv6FlowLabel:
		return a.flowLabel == b.flowLabel
	case FieldSrcPort:
		return a.srcPort == b.srcPort
	case FieldDstPort:
		return a.dstPort == b.dstPort
	case FieldTCPFlags:
		return a.tcpFlags == b.tcpFlags
	case FieldICMPType:
		return a.icmpType == b.icmpType
	case FieldICMPCode:
		return a.icmpCode == b.icmpCode
	case FieldICMPID:
		return a.icmpID == b.icmpID
	case FieldICMPData:
		return a.inner == b.inner
	}
	return true
}

// Apply rewrites frame, which from was parsed from (from.Layout() must
// describe it), so that it carries every field of to that is marked modified
// and differs from from (see Changed): Ethernet addresses, the VLAN stack
// (pops and pushes), IPv4 source/destination/TOS/TTL, TCP/UDP ports, the
// ICMP echo identifier and the addresses, ports or echo identifier quoted in
// an ICMP error. Checksums are patched incrementally. It returns the frame,
// which is a new array only when a VLAN push needs more capacity than frame
// has.
//
// Apply is independent of the simulator: the in-process datapath uses it to
// execute set-field actions. It fails with ErrUnsupported, leaving frame
// unchanged, when a changed field cannot be written (IPv6 addresses, ARP
// fields, ethertype, protocol, fragment kind, flow label, TCP flags, ICMP
// type/code, ports of a frame without TCP/UDP, ...), and with ErrBadArgument
// when a value cannot be encoded (an IPv6 address in an IPv4 header).
func Apply(frame []byte, from, to *Match) ([]byte, error) {
	ch := Changed(from, to)
	if ch == 0 {
		return frame, nil
	}
	if err := checkApply(frame, from, to, ch); err != nil {
		return frame, err
	}
	l := from.layout
	t := to.Peek()
	if ch.Has(FieldEthSrc) {
		copy(frame[6:12], t.ethSrc[:])
	}
	if ch.Has(FieldEthDst) {
		copy(frame[0:6], t.ethDst[:])
	}
	// Errors below cannot happen after checkApply; they are still returned
	// rather than ignored.
	var err error
	set := func(e error) {
		if err == nil {
			err = e
		}
	}
	if ch.Has(FieldIPSrc) {
		set(SetIPv4Src(frame, l, t.ipSrc))
	}
	if ch.Has(FieldIPDst) {
		set(SetIPv4Dst(frame, l, t.ipDst))
	}
	if ch.Has(FieldIPTOS) {
		set(SetIPv4TOS(frame, l, t.ipTOS))
	}
	if ch.Has(FieldIPTTL) {
		set(SetIPv4TTL(frame, l, t.ipTTL))
	}
	if ch.Has(FieldSrcPort) {
		set(SetL4Src(frame, l, t.srcPort))
	}
	if ch.Has(FieldDstPort) {
		set(SetL4Dst(frame, l, t.dstPort))
	}
	if ch.Has(FieldICMPID) {
		set(SetICMPID(frame, l, t.icmpID))
	}
	if ch.Has(FieldICMPData) {
		fi, ti := from.inner, t.inner
		if fi.Src != ti.Src {
			set(SetInnerSrc(frame, l, ti.Src))
		}
		if fi.Dst != ti.Dst {
			set(SetInnerDst(frame, l, ti.Dst))
		}
		if fi.SrcPort != ti.SrcPort {
			set(SetInnerSrcPort(frame, l, ti.SrcPort))
		}
		if fi.DstPort != ti.DstPort {
			set(SetInnerDstPort(frame, l, ti.DstPort))
		}
		if fi.ICMPID != ti.ICMPID {
			set(SetInnerICMPID(frame, l, ti.ICMPID))
		}
	}
	if ch.Has(FieldVLAN) {
		fs, ts := from.vlans, t.vlans
		k := commonInner(fs, ts)
		for i := 0; i < fs.Len()-k; i++ {
			frame, _ = PopVLAN(frame, &l)
		}
		for i := ts.Len() - k - 1; i >= 0; i-- {
			var e error
			frame, e = PushVLAN(frame, &l, ts.At(i))
			set(e)
		}
	}
	return frame, err
}

// commonInner returns how many innermost tags a and b share.
func commonInner(a, b VLANStack) int {
	k := 0
	for k < a.Len() && k < b.Len() && a.At(a.Len()-1-k) == b.At(b.Len()-1-k) {
		k++
	}
	return k
}

// checkApply validates everything Apply will do, so that Apply either
// rewrites all changed fields or nothing.
func checkApply(frame []byte, from, to *Match, ch FieldSet) error {
	if ch&^applyable != 0 {
		return errApplyField
	}
	l := &from.layout
	t := to.Peek()
	if len(frame) < ethHeaderLen || int(l.End) > len(frame) {
		return errLayout
	}
	if ch&(1<<FieldIPSrc|1<<FieldIPDst|1<<FieldIPTOS|1<<FieldIPTTL) != 0 {
		if err := checkIPv4(frame, l); err != nil {
			return errApplyField
		}
		if (ch.Has(FieldIPSrc) && !t.ipSrc.Is4()) || (ch.Has(FieldIPDst) && !t.ipDst.Is4()) {
			return errAddrNot4
		}
	}
	if ch&(1<<FieldSrcPort|1<<FieldDstPort) != 0 {
		if l.L4 == 0 || (l.Proto != ProtoTCP && l.Proto != ProtoUDP) {
			return errNoL4
		}
		if cs, _ := l4Checksum(frame, l, int(l.L4), l.Proto); cs < 0 {
			return errLayout
		}
	}
	if ch.Has(FieldICMPID) {
		if err := checkICMP(frame, l); err != nil {
			return err
		}
		if !IsICMPEcho(frame[l.L4]) {
			return errNotEcho
		}
	}
	if ch.Has(FieldICMPData) {
		if err := checkInner(frame, l); err != nil {
			return err
		}
		fi, ti := from.inner, t.inner
		if (fi.Src != ti.Src && !ti.Src.Is4()) || (fi.Dst != ti.Dst && !ti.Dst.Is4()) {
			return errAddrNot4
		}
		if fi.Proto != ti.Proto || fi.ICMPType != ti.ICMPType {
			return errApplyField
		}
		q := int(l.InnerL4)
		if fi.SrcPort != ti.SrcPort || fi.DstPort != ti.DstPort {
			if (l.InnerProto != ProtoTCP && l.InnerProto != ProtoUDP) || q == 0 || !fits(frame, l, q, 4) {
				return errInnerShort
			}
		}
		if fi.ICMPID != ti.ICMPID {
			if l.InnerProto != ProtoICMP || q == 0 || !fits(frame, l, q, 6) || !IsICMPEcho(frame[q]) {
				return errInnerShort
			}
		}
	}
	if ch.Has(FieldVLAN) {
		fs, ts := from.vlans, t.vlans
		k := commonInner(fs, ts)
		if int(l.VLANs) != fs.Len() {
			return errLayout
		}
		for i := 0; i < ts.Len()-k; i++ {
			if v := ts.At(i); v.TPID != EtherTypeVLAN && v.TPID != EtherTypeQinQ {
				return errBadTPID
			}
		}
		if len(frame)-4*(fs.Len()-k)+4*(ts.Len()-k) > 0xffff {
			return errBuildTooLong
		}
	}
	return nil
}
