package translate

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// ErrUntranslatable reports a simulation result that datapath actions cannot
// express: a header rewrite the datapath has no set action for (ARP fields,
// IPv6 addresses, ICMP identifiers, ...). The agent then executes the packet
// from userspace, output by output, with the rewrites applied to the bytes
// (see Translator.OutputActions), and installs no flow.
var ErrUntranslatable = errors.New("agent: rewrite not expressible as datapath actions")

// Location says where an exterior virtual port is: bound on this host as a
// datapath port, or on another host behind an overlay tunnel.
type Location struct {
	// Local reports that the port is bound here, as datapath port DPPort.
	Local  bool
	DPPort datapath.PortNumber
	// Tunnel is the way to the port's host when it is not local.
	Tunnel Tunnel
}

// Tunnel is the overlay route to a port bound on another host.
type Tunnel struct {
	// Key is the port's tunnel key, announced by its host in the port's
	// active state.
	Key uint32
	// Src and Dst are the underlay addresses of this host and the port's
	// host in a tunnel zone they share.
	Src, Dst netip.Addr
	// Port is the local overlay tunnel port (VXLAN or GRE) of the zone's
	// type.
	Port datapath.PortNumber
}

// Locator finds exterior ports. The agent's implementation reads its local
// bindings, the ports' active states and the tunnel zones.
type Locator interface {
	// Locate returns where port is, or false when it is nowhere reachable
	// (not bound, not active, no shared tunnel zone): outputs to it are
	// dropped.
	Locate(port topology.ID) (Location, bool)
}

// TunnelTTL and TunnelTOS are the outer IP header fields of overlay
// packets, as the reference sets them.
const (
	TunnelTTL = 255
	TunnelTOS = 0
)

// Translation is the datapath form of one simulation result.
type Translation struct {
	// Actions are the datapath actions for the whole result, rewrites and
	// outputs in simulation order. Empty for drops.
	Actions datapath.Actions
	// Mask is the megaflow mask: the fields the simulation examined, their
	// prerequisites, the prerequisites of the rewrites, and the input port.
	Mask datapath.FlowKey
	// Seen is the field set Mask was computed from: Mask equals
	// Megaflow(key, Seen).
	Seen packet.FieldSet
	// Tags are the translation's own invalidation tags: the datapath ports
	// output to and the tunnel routes used.
	Tags []simulation.Tag
	// Userspace reports that some output needs a rewrite the datapath
	// cannot do: no flow may be installed, and the packet is executed per
	// output with OutputActions on a frame rewritten with packet.Apply.
	Userspace bool
	// Unreachable counts outputs dropped because their port could not be
	// located.
	Unreachable int
}

// Translator turns simulation results into datapath actions and megaflow
// masks. It keeps its buffers between calls: the Actions and Tags of a
// Translation are valid until the next call. A Translator is not safe for
// concurrent use; use one per worker.
type Translator struct {
	// UpcallPID is the upcall socket that packets too large for a flow's
	// path MTU (simulation.Result.MTU) are sent to by the flow's
	// check_pkt_len action. Zero: such results are not expressible and
	// translate as Userspace (no flow; every packet comes up).
	UpcallPID uint32

	acts datapath.Actions
	tags []simulation.Tag
}

// headers are the header fields datapath set actions can rewrite.
type headers struct {
	ethSrc, ethDst topology.MAC
	vlans          packet.VLANStack
	ipSrc, ipDst   netip.Addr
	tos, ttl       uint8
	sport, dport   uint16
}

func headersOf(v *packet.View) headers {
	return headers{
		ethSrc: v.EthSrc(), ethDst: v.EthDst(), vlans: v.VLANs(),
		ipSrc: v.IPSrc(), ipDst: v.IPDst(), tos: v.IPTOS(), ttl: v.IPTTL(),
		sport: v.SrcPort(), dport: v.DstPort(),
	}
}

// kernelRewritable are the fields Translate turns into set actions.
const kernelRewritable = 1<<packet.FieldEthSrc | 1<<packet.FieldEthDst | 1<<packet.FieldVLAN |
	1<<packet.FieldIPSrc | 1<<packet.FieldIPDst | 1<<packet.FieldIPTOS | 1<<packet.FieldIPTTL |
	1<<packet.FieldSrcPort | 1<<packet.FieldDstPort

// Translate translates r, the result of simulating the packet whose
// datapath key is key, into out. Outputs are located with loc: a local port
// becomes output(port); a remote one set(tunnel{key, src, dst, TTL 255}) and
// output(tunnel port). Before each output come the set actions that turn
// the packet, as the previous outputs left it, into that output's headers
// (set_masked of Ethernet, IPv4 and TCP/UDP fields, pop/push VLAN).
//
// Only Forward results have outputs; other verdicts translate to no actions
// (a drop flow). The mask is computed for every verdict. When a rewrite is
// not expressible, out.Userspace is set and out.Actions hold no rewrites.
func (t *Translator) Translate(r *simulation.Result, key *datapath.FlowKey, loc Locator, out *Translation) {
	t.acts = t.acts[:0]
	t.tags = t.tags[:0]
	out.Userspace = false
	out.Unreachable = 0
	seen := r.Seen
	if r.Verdict == simulation.Forward {
		orig := r.Original.Peek()
		cur := headersOf(orig)
		var changed packet.FieldSet
		for i := range r.Outputs {
			o := &r.Outputs[i]
			ch := packet.Changed(&r.Original, &o.Match)
			changed |= ch
			if ch&^kernelRewritable != 0 {
				out.Userspace = true
			}
		}
		if !out.Userspace {
			seen |= prerequisites(changed)
			for i := range r.Outputs {
				o := &r.Outputs[i]
				l, ok := loc.Locate(o.Port)
				if !ok {
					out.Unreachable++
					continue
				}
				tgt := headersOf(o.Match.Peek())
				if err := t.rewrite(&cur, &tgt, orig.IPProto(), orig.EtherType()); err != nil {
					out.Userspace = true
					t.acts = t.acts[:0]
					break
				}
				t.output(l)
			}
		}
		if out.Userspace {
			t.acts = t.acts[:0]
			t.tags = t.tags[:0]
			out.Unreachable = 0
		}
	}
	if r.MTU != 0 && !out.Userspace {
		t.limit(r, out)
	}
	out.Actions = t.acts
	out.Tags = t.tags
	out.Seen = seen
	MegaflowTo(&out.Mask, key, seen)
}

// limit wraps the actions of a result that holds only for packets of at
// most r.MTU IP bytes: check_pkt_len(size=<frame length of such a packet>,
// gt(userspace(pid=UpcallPID)), le(<the actions>)). Larger packets go to
// userspace, where the simulation drops them (and answers DF ones with
// ICMP fragmentation needed). The length counts the frame's bytes before
// the IP header (Ethernet and VLAN tags), which the key pins. The branch
// lists are allocated afresh: the installed flow keeps them.
func (t *Translator) limit(r *simulation.Result, out *Translation) {
	if t.UpcallPID == 0 {
		out.Userspace = true
		t.acts = t.acts[:0]
		t.tags = t.tags[:0]
		out.Unreachable = 0
		return
	}
	size := int(r.MTU) + int(r.Original.Layout().L3)
	le := append(make(datapath.Actions, 0, len(t.acts)), t.acts...)
	t.acts = append(t.acts[:0], datapath.CheckPktLen{
		PktLen:    uint16(min(size, 65535)),
		Greater:   datapath.Actions{datapath.Userspace{PID: t.UpcallPID}},
		LessEqual: le,
	})
}

// OutputActions returns the actions that send an already rewritten packet
// to the port at l (for userspace execution), and appends l's tags to
// tags. The result is valid until the next call on t.
func (t *Translator) OutputActions(l Location, tags []simulation.Tag) (datapath.Actions, []simulation.Tag) {
	t.acts = t.acts[:0]
	t.tags = t.tags[:0]
	t.output(l)
	return t.acts, append(tags, t.tags...)
}

func (t *Translator) output(l Location) {
	if l.Local {
		t.acts = append(t.acts, datapath.Output{Port: l.DPPort})
		t.tags = append(t.tags, simulation.TagDPPort(uint32(l.DPPort)))
		return
	}
	tun := &l.Tunnel
	t.acts = append(t.acts,
		datapath.Set[datapath.TunnelKey]{Value: TunnelKeyFor(tun.Key, tun.Src, tun.Dst)},
		datapath.Output{Port: tun.Port})
	t.tags = append(t.tags, simulation.TagTunnelRoute(tun.Src, tun.Dst))
}

// TunnelKeyFor returns the outer header of an overlay packet with tunnel
// key id from src to dst.
func TunnelKeyFor(id uint32, src, dst netip.Addr) datapath.TunnelKey {
	return datapath.TunnelKey{
		ID: uint64(id), Src: src, Dst: dst, TTL: TunnelTTL, TOS: TunnelTOS,
		Flags: datapath.TunnelKeyPresent,
	}
}

var (
	zero4  = netip.IPv4Unspecified()
	ones4  = netip.AddrFrom4([4]byte{0xff, 0xff, 0xff, 0xff})
	onesM  = topology.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	ipProt = [...]uint8{packet.ProtoTCP, packet.ProtoUDP}
)

// rewrite appends the set actions that turn cur into tgt, and updates cur.
func (t *Translator) rewrite(cur, tgt *headers, proto uint8, etherType uint16) error {
	if cur.ethSrc != tgt.ethSrc || cur.ethDst != tgt.ethDst {
		var v, m datapath.EthernetKey
		if cur.ethSrc != tgt.ethSrc {
			v.Src, m.Src = tgt.ethSrc, onesM
		}
		if cur.ethDst != tgt.ethDst {
			v.Dst, m.Dst = tgt.ethDst, onesM
		}
		t.acts = append(t.acts, datapath.SetMasked[datapath.EthernetKey]{Value: v, Mask: m})
	}
	if cur.ipSrc != tgt.ipSrc || cur.ipDst != tgt.ipDst || cur.tos != tgt.tos || cur.ttl != tgt.ttl {
		if etherType != packet.EtherTypeIPv4 || !tgt.ipSrc.Is4() || !tgt.ipDst.Is4() {
			return fmt.Errorf("%w: IP rewrite of a non-IPv4 packet", ErrUntranslatable)
		}
		v := datapath.IPv4Key{Src: zero4, Dst: zero4}
		m := datapath.IPv4Key{Src: zero4, Dst: zero4}
		if cur.ipSrc != tgt.ipSrc {
			v.Src, m.Src = tgt.ipSrc, ones4
		}
		if cur.ipDst != tgt.ipDst {
			v.Dst, m.Dst = tgt.ipDst, ones4
		}
		if cur.tos != tgt.tos {
			v.TOS, m.TOS = tgt.tos, 0xff
		}
		if cur.ttl != tgt.ttl {
			v.TTL, m.TTL = tgt.ttl, 0xff
		}
		t.acts = append(t.acts, datapath.SetMasked[datapath.IPv4Key]{Value: v, Mask: m})
	}
	if cur.sport != tgt.sport || cur.dport != tgt.dport {
		var vs, vd, ms, md uint16
		if cur.sport != tgt.sport {
			vs, ms = tgt.sport, 0xffff
		}
		if cur.dport != tgt.dport {
			vd, md = tgt.dport, 0xffff
		}
		switch proto {
		case ipProt[0]:
			t.acts = append(t.acts, datapath.SetMasked[datapath.TCPKey]{
				Value: datapath.TCPKey{Src: vs, Dst: vd}, Mask: datapath.TCPKey{Src: ms, Dst: md}})
		case ipProt[1]:
			t.acts = append(t.acts, datapath.SetMasked[datapath.UDPKey]{
				Value: datapath.UDPKey{Src: vs, Dst: vd}, Mask: datapath.UDPKey{Src: ms, Dst: md}})
		default:
			return fmt.Errorf("%w: port rewrite of IP protocol %d", ErrUntranslatable, proto)
		}
	}
	if cur.vlans != tgt.vlans {
		for range cur.vlans.Len() {
			t.acts = append(t.acts, datapath.PopVLAN{})
		}
		for i := tgt.vlans.Len() - 1; i >= 0; i-- {
			v := tgt.vlans.At(i)
			tpid := v.TPID
			if tpid == 0 {
				tpid = packet.EtherTypeVLAN
			}
			t.acts = append(t.acts, datapath.PushVLAN{TPID: tpid, TCI: v.TCI() | vlanCFI})
		}
	}
	*cur = *tgt
	return nil
}

// vlanCFI is the "tag present" bit the datapath requires in VLAN TCIs.
const vlanCFI = 0x1000

// prerequisites returns the fields a datapath must match exactly for set
// actions on changed to be accepted: the ethertype for IP rewrites, plus
// the IP protocol (and fragment kind) for port rewrites.
func prerequisites(changed packet.FieldSet) packet.FieldSet {
	return changed.WithPrerequisites() &^ changed &^ (1 << packet.FieldVLAN)
}
