package kernel

import (
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/ovsh"
)

// decodeActions decodes a list of OVS_ACTION_ATTR_* attributes.
func decodeActions(b []byte) (datapath.Actions, error) {
	return decodeActionsDepth(b, 0)
}

func decodeActionsDepth(b []byte, depth int) (datapath.Actions, error) {
	if depth > maxNestedDepth {
		return nil, fmt.Errorf("%w: actions nested deeper than %d", datapath.ErrMalformed, maxNestedDepth)
	}
	acts := datapath.Actions{}
	a := attrs{b: b}
	for a.next() {
		var act datapath.Action
		// unknownNested is set when a modelled action carries a nested
		// attribute this package does not know: the whole action is then
		// kept as an UnknownAction so that it round-trips.
		unknownNested := false
		switch a.typ {
		case ovsh.ActionAttrOutput:
			act = datapath.Output{Port: datapath.PortNumber(a.u32())}
		case ovsh.ActionAttrUserspace:
			var u datapath.Userspace
			n := attrs{b: a.data}
			for n.next() {
				switch n.typ {
				case ovsh.UserspaceAttrPID:
					u.PID = n.u32()
				case ovsh.UserspaceAttrUserdata:
					u.Userdata = append([]byte{}, n.data...)
				case ovsh.UserspaceAttrEgressTunPort:
					u.EgressTunnelPort = datapath.PortNumber(n.u32())
				case ovsh.UserspaceAttrActions:
					u.WithActions = true
				default:
					unknownNested = true
				}
			}
			if n.err != nil {
				return nil, n.err
			}
			act = u
		case ovsh.ActionAttrSet, ovsh.ActionAttrSetMasked:
			var err error
			act, err = decodeSet(&a)
			if err != nil {
				return nil, err
			}
		case ovsh.ActionAttrPushVLAN:
			if a.size(4) {
				act = datapath.PushVLAN{TPID: be.Uint16(a.data), TCI: be.Uint16(a.data[2:])}
			}
		case ovsh.ActionAttrPopVLAN:
			if a.size(0) {
				act = datapath.PopVLAN{}
			}
		case ovsh.ActionAttrRecirc:
			act = datapath.Recirc{ID: a.u32()}
		case ovsh.ActionAttrHash:
			if a.size(8) {
				act = datapath.Hash{Alg: ne.Uint32(a.data), Basis: ne.Uint32(a.data[4:])}
			}
		case ovsh.ActionAttrSample:
			var s datapath.Sample
			var hasActs bool
			n := attrs{b: a.data}
			for n.next() {
				switch n.typ {
				case ovsh.SampleAttrProbability:
					s.Probability = n.u32()
				case ovsh.SampleAttrActions:
					var err error
					if s.Actions, err = decodeActionsDepth(n.data, depth+1); err != nil {
						return nil, err
					}
					hasActs = true
				default:
					unknownNested = true
				}
			}
			if n.err != nil {
				return nil, n.err
			}
			if !hasActs {
				s.Actions = datapath.Actions{}
			}
			act = s
		case ovsh.ActionAttrClone:
			nested, err := decodeActionsDepth(a.data, depth+1)
			if err != nil {
				return nil, err
			}
			act = datapath.Clone{Actions: nested}
		case ovsh.ActionAttrCheckPktLen:
			cpl, unknown, err := decodeCheckPktLen(a.data, depth)
			if err != nil {
				return nil, err
			}
			act, unknownNested = cpl, unknown
		case ovsh.ActionAttrCT:
			ct, unknown, err := decodeCT(a.data)
			if err != nil {
				return nil, err
			}
			act, unknownNested = ct, unknown
		case ovsh.ActionAttrCTClear:
			if a.size(0) {
				act = datapath.CTClear{}
			}
		case ovsh.ActionAttrTrunc:
			act = datapath.Trunc{MaxLen: a.u32()}
		case ovsh.ActionAttrMeter:
			act = datapath.Meter{ID: a.u32()}
		default:
			act = datapath.UnknownAction{Type: a.ftyp, Data: append([]byte{}, a.data...)}
		}
		if a.err != nil {
			return nil, a.err
		}
		if unknownNested {
			act = datapath.UnknownAction{Type: a.ftyp, Data: append([]byte{}, a.data...)}
		}
		acts = append(acts, act)
	}
	if a.err != nil {
		return nil, a.err
	}
	return acts, nil
}

// decodeSet decodes the single key attribute of a SET or SET_MASKED action.
// Key groups this package cannot set become UnknownAction.
func decodeSet(a *attrs) (datapath.Action, error) {
	masked := a.typ == ovsh.ActionAttrSetMasked
	unknown := func() datapath.Action {
		return datapath.UnknownAction{Type: a.ftyp, Data: append([]byte{}, a.data...)}
	}
	n := attrs{b: a.data}
	if !n.next() {
		if n.err != nil {
			return nil, n.err
		}
		return nil, fmt.Errorf("%w: empty set action", datapath.ErrMalformed)
	}
	if len(n.b) != 0 {
		return nil, fmt.Errorf("%w: set action with more than one attribute", datapath.ErrMalformed)
	}
	var v, m datapath.FlowKey
	if !masked {
		if err := decodeKey(a.data, &v); err != nil {
			return nil, err
		}
	} else {
		if len(n.data)%2 != 0 {
			return nil, fmt.Errorf("%w: set_masked payload of odd length %d", datapath.ErrMalformed, len(n.data))
		}
		h := len(n.data) / 2
		var vb, mb [2*nlaHdrLen + 2*128]byte
		if h > 128 {
			return unknown(), nil
		}
		val := appendAttr(vb[:0], n.ftyp, n.data[:h])
		msk := appendAttr(mb[:0], n.ftyp, n.data[h:])
		if err := decodeKey(val, &v); err != nil {
			return nil, err
		}
		if err := decodeKey(msk, &m); err != nil {
			return nil, err
		}
	}
	if v.Unknown != "" || v.Fields&(v.Fields-1) != 0 {
		return unknown(), nil // not a single modelled group
	}
	switch v.Fields {
	case datapath.KeyEthernet:
		return pick(masked, v.Ethernet, m.Ethernet), nil
	case datapath.KeyIPv4:
		return pick(masked, v.IPv4, m.IPv4), nil
	case datapath.KeyIPv6:
		return pick(masked, v.IPv6, m.IPv6), nil
	case datapath.KeyTCP:
		return pick(masked, v.TCP, m.TCP), nil
	case datapath.KeyUDP:
		return pick(masked, v.UDP, m.UDP), nil
	case datapath.KeySCTP:
		return pick(masked, v.SCTP, m.SCTP), nil
	case datapath.KeyND:
		return pick(masked, v.ND, m.ND), nil
	case datapath.KeyTunnel:
		return pick(masked, v.Tunnel, m.Tunnel), nil
	case datapath.KeySKBMark:
		return pick(masked, v.SKBMark, m.SKBMark), nil
	case datapath.KeyPriority:
		return pick(masked, v.Priority, m.Priority), nil
	}
	return unknown(), nil
}

func pick[T datapath.SetGroup](masked bool, v, m T) datapath.Action {
	if masked {
		return datapath.SetMasked[T]{Value: v, Mask: m}
	}
	return datapath.Set[T]{Value: v}
}

func decodeCT(b []byte) (ct datapath.CT, unknown bool, err error) {
	a := attrs{b: b}
	for a.next() {
		switch a.typ {
		case ovsh.CTAttrCommit:
			ct.Commit = true
		case ovsh.CTAttrForceCommit:
			ct.ForceCommit = true
		case ovsh.CTAttrZone:
			ct.Zone = a.u16()
		case ovsh.CTAttrMark:
			if a.size(8) {
				ct.Mark, ct.MarkMask = ne.Uint32(a.data), ne.Uint32(a.data[4:])
			}
		case ovsh.CTAttrLabels:
			if a.size(32) {
				copy(ct.Labels[:], a.data[:16])
				copy(ct.LabelsMask[:], a.data[16:])
			}
		case ovsh.CTAttrHelper:
			ct.Helper = cString(a.data)
		case ovsh.CTAttrTimeout:
			ct.Timeout = cString(a.data)
		case ovsh.CTAttrEventmask:
			ct.EventMask, ct.HasEventMask = a.u32(), true
		case ovsh.CTAttrNAT:
			nat := &datapath.NAT{}
			n := attrs{b: a.data}
			for n.next() {
				switch n.typ {
				case ovsh.NATAttrSrc:
					nat.Kind = datapath.NATSource
				case ovsh.NATAttrDst:
					nat.Kind = datapath.NATDest
				case ovsh.NATAttrIPMin, ovsh.NATAttrIPMax:
					var ip netip.Addr
					switch len(n.data) {
					case 4:
						ip = addr4(n.data)
					case 16:
						ip = addr16(n.data)
					default:
						return ct, false, fmt.Errorf("%w: NAT address of %d bytes", datapath.ErrMalformed, len(n.data))
					}
					if n.typ == ovsh.NATAttrIPMin {
						nat.IPMin = ip
					} else {
						nat.IPMax = ip
					}
				case ovsh.NATAttrProtoMin:
					nat.ProtoMin = n.u16()
				case ovsh.NATAttrProtoMax:
					nat.ProtoMax = n.u16()
				case ovsh.NATAttrPersistent:
					nat.Persistent = true
				case ovsh.NATAttrProtoHash:
					nat.ProtoHash = true
				case ovsh.NATAttrProtoRandom:
					nat.ProtoRandom = true
				default:
					unknown = true
				}
			}
			if n.err != nil {
				return ct, false, n.err
			}
			ct.NAT = nat
		default:
			unknown = true
		}
	}
	return ct, unknown, a.err
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
