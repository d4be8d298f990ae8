package simulation

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// Trace is a readable record of one simulation, in the spirit of
// ovn-trace: every port and device visited, every chain and rule evaluated
// with its result, routing decisions, rewrites, generated packets and the
// final verdict. It is deterministic (same input, same trace) and
// encoding/json-friendly. Only traced simulations (Input.Trace) build one;
// tracing allocates.
type Trace struct {
	// Packet describes the input packet.
	Packet string `json:"packet"`
	// Steps lists what happened, in order.
	Steps []TraceStep `json:"steps"`
	// Verdict, Reason and Flow are the final outcome (Result's values as
	// strings).
	Verdict string `json:"verdict"`
	Reason  string `json:"reason,omitempty"`
	Flow    string `json:"flow"`
	// Outputs lists the output ports and each one's rewrites.
	Outputs []TraceOutput `json:"outputs,omitempty"`
	// Generated describes the generated packets.
	Generated []TraceGenerated `json:"generated,omitempty"`
	// Seen lists the fields examined: the megaflow mask.
	Seen []string `json:"seen"`
	// Tags lists the flow's tags.
	Tags []string `json:"tags,omitempty"`
	// Learned lists the MAC learnings; Writes the state-table writes.
	Learned []string `json:"learned,omitempty"`
	Writes  []string `json:"writes,omitempty"`
	// Waiting names the next hop a NotYet verdict waits for.
	Waiting string `json:"waiting,omitempty"`
	// Devices is the number of port ingresses.
	Devices int `json:"devices"`
}

// TraceStep is one line of a trace.
type TraceStep struct {
	// Depth is the number of ports the packet had entered at this step.
	Depth int `json:"depth"`
	// Kind says what the step is: "ingress", "egress", "filter", "chain",
	// "rule", "learn", "forward", "flood", "fork", "route", "next-hop",
	// "arp", "icmp", "vlan", "generate", "output", a verdict name, ...
	Kind string `json:"kind"`
	// Object names the port, device or chain concerned, if any.
	Object string `json:"object,omitempty"`
	Text   string `json:"text"`
	// Chain and Rule identify the rule of a "rule" step: the chain's ID
	// and the rule's index in it.
	Chain string `json:"chain,omitempty"`
	Rule  *int   `json:"rule,omitempty"`
}

// TraceOutput is one output of a traced simulation.
type TraceOutput struct {
	Port     string   `json:"port"`
	Rewrites []string `json:"rewrites,omitempty"`
}

// TraceGenerated is one generated packet of a traced simulation.
type TraceGenerated struct {
	Port   string `json:"port"`
	Packet string `json:"packet"`
}

// noteRule appends the step of rule i of chain c. Callers check e.tracing
// first.
func (e *Engine) noteRule(c *topology.Chain, i int, r *topology.Rule, what string) {
	idx := i
	e.tr.Steps = append(e.tr.Steps, TraceStep{Depth: e.devices, Kind: "rule", Object: chainObj(c),
		Text: ruleLabel(i, r) + ": " + what, Chain: c.ID.String(), Rule: &idx})
}

// note appends a trace step. Callers check e.tracing first.
func (e *Engine) note(kind, obj, text string) {
	e.tr.Steps = append(e.tr.Steps, TraceStep{Depth: e.devices, Kind: kind, Object: obj, Text: text})
}

// notef is note with formatting. Callers check e.tracing first, so the
// arguments are only boxed when tracing.
func (e *Engine) notef(kind, obj, format string, args ...any) {
	e.note(kind, obj, fmt.Sprintf(format, args...))
}

func (e *Engine) finishTrace() {
	r, t := e.r, e.tr
	t.Verdict = r.Verdict.String()
	if r.Reason != ReasonNone {
		t.Reason = r.Reason.String()
	}
	t.Flow = r.Flow.String()
	t.Devices = r.Devices
	for i := range r.Outputs {
		o := &r.Outputs[i]
		t.Outputs = append(t.Outputs, TraceOutput{Port: e.portName(o.Port), Rewrites: rewriteList(e.orig, &o.Match)})
	}
	for _, g := range r.Generated {
		var m packet.Match
		d := "unparsable frame"
		if m.Parse(g.Frame) == nil {
			d = describe(m.Peek())
		}
		t.Generated = append(t.Generated, TraceGenerated{Port: e.portName(g.Port), Packet: d})
	}
	t.Seen = fieldNames(r.Seen)
	for _, tag := range r.Tags {
		t.Tags = append(t.Tags, e.tagText(tag))
	}
	for _, l := range r.Learned {
		t.Learned = append(t.Learned, fmt.Sprintf("bridge %s vlan %d %s -> port %s",
			e.objName(topology.KindBridge, l.Bridge), l.VLAN, l.MAC, e.portName(l.Port)))
	}
	for _, w := range r.ARPWrites {
		t.Writes = append(t.Writes, fmt.Sprintf("router %s ARP %s -> %s", e.objName(topology.KindRouter, w.Router), w.IP, w.MAC))
	}
	for _, w := range r.IP4MACWrites {
		t.Writes = append(t.Writes, fmt.Sprintf("bridge %s IPv4-MAC %s -> %s", e.objName(topology.KindBridge, w.Bridge), w.IP, w.MAC))
	}
	if !r.Waiting.IsZero() {
		t.Waiting = fmt.Sprintf("router %s ARP for %s via port %s", e.objName(topology.KindRouter, r.Waiting.Router),
			r.Waiting.IP, e.portName(r.Waiting.Port))
	}
}

func fieldNames(s packet.FieldSet) []string {
	out := []string{}
	for v := uint32(s); v != 0; v &= v - 1 {
		out = append(out, packet.Field(bits.TrailingZeros32(v)).String())
	}
	return out
}

// tagText formats a tag with object names where they are known.
func (e *Engine) tagText(t Tag) string {
	s := t.String()
	if n := e.anyName(t.ID()); n != "" {
		s = strings.Replace(s, t.ID().String(), n, 1)
	}
	if n := e.anyName(t.Port()); n != "" {
		s = strings.Replace(s, t.Port().String(), n, 1)
	}
	return s
}

// anyName returns the name of the object with id, of any named kind, or ""
// (tags then keep the ID: every tag reads kind:object[,detail]).
func (e *Engine) anyName(id topology.ID) string {
	if id.IsZero() || e.snap == nil {
		return ""
	}
	for _, k := range []topology.Kind{topology.KindPort, topology.KindBridge, topology.KindRouter, topology.KindChain} {
		if o, ok := e.snap.Object(k, id); ok {
			return o.ObjectName()
		}
	}
	return ""
}

func (e *Engine) objName(k topology.Kind, id topology.ID) string {
	if o, ok := e.snap.Object(k, id); ok && o.ObjectName() != "" {
		return o.ObjectName()
	}
	return id.String()
}

func (e *Engine) portName(id topology.ID) string { return e.objName(topology.KindPort, id) }

func (e *Engine) chainName(id topology.ID) string { return e.objName(topology.KindChain, id) }

func (e *Engine) deviceName(p *portInfo) string {
	if p.IsRouterPort() {
		return "router " + e.objName(topology.KindRouter, p.Router)
	}
	return "bridge " + e.objName(topology.KindBridge, p.Bridge)
}

func portLabel(p *topology.Port) string {
	if p.Name != "" {
		return "port " + p.Name
	}
	return "port " + p.ID.String()
}

func bridgeLabel(b *topology.Bridge) string {
	if b.Name != "" {
		return "bridge " + b.Name
	}
	return "bridge " + b.ID.String()
}

func routerLabel(r *topology.Router) string {
	if r.Name != "" {
		return "router " + r.Name
	}
	return "router " + r.ID.String()
}

func chainLabel(c *topology.Chain) string {
	if c.Name != "" {
		return "chain " + c.Name
	}
	return "chain " + c.ID.String()
}

// rewrites formats the header rewrites of m relative to orig for a trace
// line: "" or " after eth_dst=..., ip_ttl=63".
func rewrites(orig, m *packet.Match) string {
	l := rewriteList(orig, m)
	if len(l) == 0 {
		return ""
	}
	return " after " + strings.Join(l, ", ")
}

func rewriteList(orig, m *packet.Match) []string {
	var out []string
	ch := packet.Changed(orig, m)
	v := m.Peek()
	for f := uint32(ch); f != 0; f &= f - 1 {
		fld := packet.Field(bits.TrailingZeros32(f))
		var val string
		switch fld {
		case packet.FieldEthSrc:
			val = v.EthSrc().String()
		case packet.FieldEthDst:
			val = v.EthDst().String()
		case packet.FieldVLAN:
			val = vlanText(v.VLANs())
		case packet.FieldIPSrc:
			val = v.IPSrc().String()
		case packet.FieldIPDst:
			val = v.IPDst().String()
		case packet.FieldIPTTL:
			val = strconv.Itoa(int(v.IPTTL()))
		case packet.FieldIPTOS:
			val = strconv.Itoa(int(v.IPTOS()))
		case packet.FieldSrcPort:
			val = strconv.Itoa(int(v.SrcPort()))
		case packet.FieldDstPort:
			val = strconv.Itoa(int(v.DstPort()))
		case packet.FieldICMPID:
			val = strconv.Itoa(int(v.ICMPID()))
		default:
			val = "changed"
		}
		out = append(out, fld.String()+"="+val)
	}
	return out
}

func vlanText(s packet.VLANStack) string {
	if s.Len() == 0 {
		return "none"
	}
	var parts []string
	for i := range s.Len() {
		parts = append(parts, strconv.Itoa(int(s.At(i).ID)))
	}
	return strings.Join(parts, "/")
}

// describe summarises a packet in one line.
func describe(v *packet.View) string {
	var b strings.Builder
	fmt.Fprintf(&b, "eth %s -> %s", v.EthSrc(), v.EthDst())
	if v.VLANs().Len() > 0 {
		b.WriteString(" vlan ")
		b.WriteString(vlanText(v.VLANs()))
	}
	switch v.EtherType() {
	case packet.EtherTypeARP:
		switch v.ARPOp() {
		case packet.ARPRequest:
			fmt.Fprintf(&b, " arp who-has %s tell %s (%s)", v.ARPTPA(), v.ARPSPA(), v.ARPSHA())
		case packet.ARPReply:
			fmt.Fprintf(&b, " arp reply %s is-at %s to %s (%s)", v.ARPSPA(), v.ARPSHA(), v.ARPTPA(), v.ARPTHA())
		default:
			fmt.Fprintf(&b, " arp op %d", v.ARPOp())
		}
	case packet.EtherTypeIPv4, packet.EtherTypeIPv6:
		if v.EtherType() == packet.EtherTypeIPv4 {
			b.WriteString(" ipv4 ")
		} else {
			b.WriteString(" ipv6 ")
		}
		fmt.Fprintf(&b, "%s -> %s ttl %d", v.IPSrc(), v.IPDst(), v.IPTTL())
		if v.IPFrag() != packet.FragNone {
			b.WriteString(" frag ")
			b.WriteString(v.IPFrag().String())
		}
		switch v.IPProto() {
		case packet.ProtoTCP:
			fmt.Fprintf(&b, " tcp %d -> %d", v.SrcPort(), v.DstPort())
		case packet.ProtoUDP:
			fmt.Fprintf(&b, " udp %d -> %d", v.SrcPort(), v.DstPort())
		case packet.ProtoICMP:
			switch t := v.ICMPType(); t {
			case packet.ICMPEchoRequest:
				fmt.Fprintf(&b, " icmp echo request id %d", v.ICMPID())
			case packet.ICMPEchoReply:
				fmt.Fprintf(&b, " icmp echo reply id %d", v.ICMPID())
			default:
				fmt.Fprintf(&b, " icmp %d/%d", t, v.ICMPCode())
				if in := v.ICMPData(); in.Valid() {
					fmt.Fprintf(&b, " about %s -> %s proto %d", in.Src, in.Dst, in.Proto)
				}
			}
		default:
			fmt.Fprintf(&b, " proto %d", v.IPProto())
		}
	default:
		fmt.Fprintf(&b, " ethertype 0x%04x", v.EtherType())
	}
	return b.String()
}

// chainObj names a chain as the object of "chain" and "rule" trace steps.
func chainObj(c *topology.Chain) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID.String()
}
