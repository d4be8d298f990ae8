package inproc

import (
	"fmt"
	"net/netip"
	"slices"
	"syscall"

	"github.com/hivenet/hivenet/datapath"
)

// maxActionDepth is the kernel's OVS_COPY_ACTIONS_MAX_DEPTH for nested
// clone and sample actions.
const maxActionDepth = 16

// actionKey is what validateActions reads of a key: the exactly matched
// ethertype, and the IP protocol and fragment type.
type actionKey struct {
	ethType uint16
	proto   uint8
	frag    datapath.FragType
}

// actionKeyOf returns the actionKey of key.
func actionKeyOf(key *datapath.FlowKey) actionKey {
	var k actionKey
	if key.Fields&datapath.KeyEtherType != 0 {
		k.ethType = key.EtherType
	}
	switch k.ethType {
	case ethIPv4:
		k.proto, k.frag = key.IPv4.Proto, key.IPv4.Frag
	case ethIPv6:
		k.proto, k.frag = key.IPv6.Proto, key.IPv6.Frag
	}
	return k
}

// maskedActionKey returns the actionKey of key.Masked(mask) without
// building the masked key.
func maskedActionKey(key, mask *datapath.FlowKey) actionKey {
	var k actionKey
	f := key.Fields & mask.Fields
	if f&datapath.KeyEtherType != 0 {
		k.ethType = key.EtherType & mask.EtherType
	}
	switch {
	case k.ethType == ethIPv4 && f&datapath.KeyIPv4 != 0:
		k.proto, k.frag = key.IPv4.Proto&mask.IPv4.Proto, key.IPv4.Frag&mask.IPv4.Frag
	case k.ethType == ethIPv6 && f&datapath.KeyIPv6 != 0:
		k.proto, k.frag = key.IPv6.Proto&mask.IPv6.Proto, key.IPv6.Frag&mask.IPv6.Frag
	}
	return k
}

// validateActions checks acts as the kernel's ovs_nla_copy_actions would
// for a flow whose masked key's actionKey is key (for Execute, the
// packet's key), and rejects what this datapath cannot execute.
func validateActions(acts datapath.Actions, key actionKey, depth int) error {
	if depth > maxActionDepth {
		return fmt.Errorf("actions nested deeper than %d: %w", maxActionDepth, errno(syscall.EOVERFLOW))
	}
	ethType, proto, frag := key.ethType, key.proto, key.frag
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
