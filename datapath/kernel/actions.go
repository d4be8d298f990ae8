package kernel

import (
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/ovsh"
)

// appendActions appends the OVS_ACTION_ATTR_* attributes of acts to b.
func appendActions(b []byte, acts datapath.Actions) ([]byte, error) {
	return appendActionsDepth(b, acts, 0)
}

func appendActionsDepth(b []byte, acts datapath.Actions, depth int) ([]byte, error) {
	if depth > maxNestedDepth {
		return b, fmt.Errorf("%w: actions nested deeper than %d", datapath.ErrInvalid, maxNestedDepth)
	}
	var err error
	for _, act := range acts {
		switch a := act.(type) {
		case datapath.Output:
			b = appendU32(b, ovsh.ActionAttrOutput, uint32(a.Port))
		case datapath.Userspace:
			var s int
			b, s = beginNested(b, ovsh.ActionAttrUserspace)
			b = appendU32(b, ovsh.UserspaceAttrPID, a.PID)
			if a.Userdata != nil {
				b = appendAttr(b, ovsh.UserspaceAttrUserdata, a.Userdata)
			}
			if a.EgressTunnelPort != 0 {
				b = appendU32(b, ovsh.UserspaceAttrEgressTunPort, uint32(a.EgressTunnelPort))
			}
			if a.WithActions {
				b = appendFlag(b, ovsh.UserspaceAttrActions)
			}
			b = endNested(b, s)
		case datapath.PushVLAN:
			b = appendAttrHdr(b, ovsh.ActionAttrPushVLAN, 4)
			b = be.AppendUint16(b, a.TPID)
			b = be.AppendUint16(b, a.TCI)
		case datapath.PopVLAN:
			b = appendFlag(b, ovsh.ActionAttrPopVLAN)
		case datapath.Recirc:
			b = appendU32(b, ovsh.ActionAttrRecirc, a.ID)
		case datapath.Hash:
			b = appendAttrHdr(b, ovsh.ActionAttrHash, 8)
			b = ne.AppendUint32(b, a.Alg)
			b = ne.AppendUint32(b, a.Basis)
		case datapath.Sample:
			var s, s2 int
			b, s = beginNested(b, ovsh.ActionAttrSample)
			b = appendU32(b, ovsh.SampleAttrProbability, a.Probability)
			b, s2 = beginNested(b, ovsh.SampleAttrActions)
			if b, err = appendActionsDepth(b, a.Actions, depth+1); err != nil {
				return b, err
			}
			b = endNested(b, s2)
			b = endNested(b, s)
		case datapath.Clone:
			var s int
			b, s = beginNested(b, ovsh.ActionAttrClone)
			if b, err = appendActionsDepth(b, a.Actions, depth+1); err != nil {
				return b, err
			}
			b = endNested(b, s)
		case datapath.CheckPktLen:
			if b, err = appendCheckPktLen(b, &a, depth); err != nil {
				return b, err
			}
		case datapath.CT:
			b = appendCT(b, &a)
		case datapath.CTClear:
			b = appendFlag(b, ovsh.ActionAttrCTClear)
		case datapath.Trunc:
			b = appendU32(b, ovsh.ActionAttrTrunc, a.MaxLen)
		case datapath.Meter:
			b = appendU32(b, ovsh.ActionAttrMeter, a.ID)
		case datapath.UnknownAction:
			b = appendAttr(b, a.Type, a.Data)
		case datapath.Set[datapath.EthernetKey]:
			b = appendSet(b, false, setKey(datapath.KeyEthernet, func(k *datapath.FlowKey) { k.Ethernet = a.Value }), nil)
		case datapath.SetMasked[datapath.EthernetKey]:
			b = appendSet(b, true, setKey(datapath.KeyEthernet, func(k *datapath.FlowKey) { k.Ethernet = a.Value }),
				setKey(datapath.KeyEthernet, func(k *datapath.FlowKey) { k.Ethernet = a.Mask }))
		case datapath.Set[datapath.IPv4Key]:
			b = appendSet(b, false, setKey(datapath.KeyIPv4, func(k *datapath.FlowKey) { k.IPv4 = a.Value }), nil)
		case datapath.SetMasked[datapath.IPv4Key]:
			b = appendSet(b, true, setKey(datapath.KeyIPv4, func(k *datapath.FlowKey) { k.IPv4 = a.Value }),
				setKey(datapath.KeyIPv4, func(k *datapath.FlowKey) { k.IPv4 = a.Mask }))
		case datapath.Set[datapath.IPv6Key]:
			b = appendSet(b, false, setKey(datapath.KeyIPv6, func(k *datapath.FlowKey) { k.IPv6 = a.Value }), nil)
		case datapath.SetMasked[datapath.IPv6Key]:
			b = appendSet(b, true, setKey(datapath.KeyIPv6, func(k *datapath.FlowKey) { k.IPv6 = a.Value }),
				setKey(datapath.KeyIPv6, func(k *datapath.FlowKey) { k.IPv6 = a.Mask }))
		case datapath.Set[datapath.TCPKey]:
			b = appendSet(b, false, setKey(datapath.KeyTCP, func(k *datapath.FlowKey) { k.TCP = a.Value }), nil)
		case datapath.SetMasked[datapath.TCPKey]:
			b = appendSet(b, true, setKey(datapath.KeyTCP, func(k *datapath.FlowKey) { k.TCP = a.Value }),
				setKey(datapath.KeyTCP, func(k *datapath.FlowKey) { k.TCP = a.Mask }))
		case datapath.Set[datapath.UDPKey]:
			b = appendSet(b, false, setKey(datapath.KeyUDP, func(k *datapath.FlowKey) { k.UDP = a.Value }), nil)
		case datapath.SetMasked[datapath.UDPKey]:
			b = appendSet(b, true, setKey(datapath.KeyUDP, func(k *datapath.FlowKey) { k.UDP = a.Value }),
				setKey(datapath.KeyUDP, func(k *datapath.FlowKey) { k.UDP = a.Mask }))
		case datapath.Set[datapath.SCTPKey]:
			b = appendSet(b, false, setKey(datapath.KeySCTP, func(k *datapath.FlowKey) { k.SCTP = a.Value }), nil)
		case datapath.SetMasked[datapath.SCTPKey]:
			b = appendSet(b, true, setKey(datapath.KeySCTP, func(k *datapath.FlowKey) { k.SCTP = a.Value }),
				setKey(datapath.KeySCTP, func(k *datapath.FlowKey) { k.SCTP = a.Mask }))
		case datapath.Set[datapath.NDKey]:
			b = appendSet(b, false, setKey(datapath.KeyND, func(k *datapath.FlowKey) { k.ND = a.Value }), nil)
		case datapath.SetMasked[datapath.NDKey]:
			b = appendSet(b, true, setKey(datapath.KeyND, func(k *datapath.FlowKey) { k.ND = a.Value }),
				setKey(datapath.KeyND, func(k *datapath.FlowKey) { k.ND = a.Mask }))
		case datapath.Set[datapath.TunnelKey]:
			b = appendSet(b, false, setKey(datapath.KeyTunnel, func(k *datapath.FlowKey) { k.Tunnel = a.Value }), nil)
		case datapath.SetMasked[datapath.TunnelKey]:
			b = appendSet(b, true, setKey(datapath.KeyTunnel, func(k *datapath.FlowKey) { k.Tunnel = a.Value }),
				setKey(datapath.KeyTunnel, func(k *datapath.FlowKey) { k.Tunnel = a.Mask }))
		case datapath.Set[datapath.Mark]:
			b = appendSet(b, false, setKey(datapath.KeySKBMark, func(k *datapath.FlowKey) { k.SKBMark = a.Value }), nil)
		case datapath.SetMasked[datapath.Mark]:
			b = appendSet(b, true, setKey(datapath.KeySKBMark, func(k *datapath.FlowKey) { k.SKBMark = a.Value }),
				setKey(datapath.KeySKBMark, func(k *datapath.FlowKey) { k.SKBMark = a.Mask }))
		case datapath.Set[datapath.Priority]:
			b = appendSet(b, false, setKey(datapath.KeyPriority, func(k *datapath.FlowKey) { k.Priority = a.Value }), nil)
		case datapath.SetMasked[datapath.Priority]:
			b = appendSet(b, true, setKey(datapath.KeyPriority, func(k *datapath.FlowKey) { k.Priority = a.Value }),
				setKey(datapath.KeyPriority, func(k *datapath.FlowKey) { k.Priority = a.Mask }))
		case nil:
			return b, fmt.Errorf("%w: nil action", datapath.ErrInvalid)
		default:
			return b, fmt.Errorf("%w: unsupported action %T", datapath.ErrInvalid, act)
		}
	}
	return b, nil
}

func setKey(f datapath.KeyFields, fill func(*datapath.FlowKey)) *datapath.FlowKey {
	k := &datapath.FlowKey{Fields: f}
	fill(k)
	return k
}

// appendSet appends a SET (value only) or SET_MASKED (value then mask, in
// one key attribute) action for the single group present in v.
func appendSet(b []byte, masked bool, v, m *datapath.FlowKey) []byte {
	typ := uint16(ovsh.ActionAttrSet)
	if masked {
		typ = ovsh.ActionAttrSetMasked
	}
	var s int
	b, s = beginNested(b, typ)
	if !masked {
		b = appendKey(b, v)
		return endNested(b, s)
	}
	// SET_MASKED carries one key attribute whose payload is the value
	// followed by the mask: encode both and splice the mask's payload.
	ks := len(b)
	b = appendKey(b, v)
	ms := len(b)
	b = appendKey(b, m)
	vl := int(ne.Uint16(b[ks:]))
	ml := int(ne.Uint16(b[ms:]))
	var mask [256]byte
	n := copy(mask[:], b[ms+nlaHdrLen:ms+ml])
	b = b[:ks+vl]
	b = append(b, mask[:n]...)
	b = pad(b)
	nl := vl + n
	b[ks] = byte(nl)
	b[ks+1] = byte(nl >> 8)
	return endNested(b, s)
}

func appendCT(b []byte, a *datapath.CT) []byte {
	var s int
	b, s = beginNested(b, ovsh.ActionAttrCT)
	if a.Commit {
		b = appendFlag(b, ovsh.CTAttrCommit)
	}
	if a.ForceCommit {
		b = appendFlag(b, ovsh.CTAttrForceCommit)
	}
	if a.Zone != 0 {
		b = appendU16(b, ovsh.CTAttrZone, a.Zone)
	}
	if a.Mark != 0 || a.MarkMask != 0 { // as decoded, even with a zero mask
		b = appendAttrHdr(b, ovsh.CTAttrMark, 8)
		b = ne.AppendUint32(b, a.Mark)
		b = ne.AppendUint32(b, a.MarkMask)
	}
	if a.Labels != [16]byte{} || a.LabelsMask != [16]byte{} {
		b = appendAttrHdr(b, ovsh.CTAttrLabels, 32)
		b = append(b, a.Labels[:]...)
		b = append(b, a.LabelsMask[:]...)
	}
	if a.Helper != "" {
		b = appendAttrHdr(b, ovsh.CTAttrHelper, len(a.Helper)+1)
		b = pad(append(append(b, a.Helper...), 0))
	}
	if a.HasEventMask {
		b = appendU32(b, ovsh.CTAttrEventmask, a.EventMask)
	}
	if a.Timeout != "" {
		b = appendAttrHdr(b, ovsh.CTAttrTimeout, len(a.Timeout)+1)
		b = pad(append(append(b, a.Timeout...), 0))
	}
	if n := a.NAT; n != nil {
		var ns int
		b, ns = beginNested(b, ovsh.CTAttrNAT)
		switch n.Kind {
		case datapath.NATSource:
			b = appendFlag(b, ovsh.NATAttrSrc)
		case datapath.NATDest:
			b = appendFlag(b, ovsh.NATAttrDst)
		}
		b = appendNATAddr(b, ovsh.NATAttrIPMin, n.IPMin)
		b = appendNATAddr(b, ovsh.NATAttrIPMax, n.IPMax)
		if n.ProtoMin != 0 {
			b = appendU16(b, ovsh.NATAttrProtoMin, n.ProtoMin)
		}
		if n.ProtoMax != 0 {
			b = appendU16(b, ovsh.NATAttrProtoMax, n.ProtoMax)
		}
		if n.Persistent {
			b = appendFlag(b, ovsh.NATAttrPersistent)
		}
		if n.ProtoHash {
			b = appendFlag(b, ovsh.NATAttrProtoHash)
		}
		if n.ProtoRandom {
			b = appendFlag(b, ovsh.NATAttrProtoRandom)
		}
		b = endNested(b, ns)
	}
	return endNested(b, s)
}

func appendNATAddr(b []byte, typ uint16, a netip.Addr) []byte {
	switch {
	case a.Is4():
		return append4(appendAttrHdr(b, typ, 4), a)
	case a.Is6():
		return append16(appendAttrHdr(b, typ, 16), a)
	}
	return b
}
