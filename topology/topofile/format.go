package topofile

import (
	"net/netip"
	"strings"

	"github.com/hivenet/hivenet/topology"
)

// Formatter renders objects of one topology in short readable forms for
// tools, logs and traces, naming the objects they refer to as files do (by
// name, or by UUID when the name is empty or shared).
//
// The forms are for people; they are not parsed back.
type Formatter struct {
	w *writer
}

// NewFormatter returns a Formatter for the objects of t. Later changes to
// t's names are not seen.
func NewFormatter(t *topology.Topology) *Formatter { return &Formatter{w: newWriter(t)} }

// Name returns how files refer to the object of kind k with id.
func (f *Formatter) Name(k topology.Kind, id topology.ID) string { return f.w.ref(k, id) }

// Condition renders a condition as "key value and key value ...", keys as
// in files, with "not key value" for inverted fields and "" for a condition
// that matches everything. ConjunctionInvert is not shown (Rule shows it as
// "unless" instead of "if"); an explicit fragment policy, which the
// conjunction does not cover, is shown apart as "[fragment-policy p]".
func (f *Formatter) Condition(c *topology.Condition) string {
	conj, frag := f.condition(c)
	if frag == "" || conj == "" {
		return conj + frag
	}
	return conj + " " + frag
}

func (f *Formatter) condition(c *topology.Condition) (conj, frag string) {
	var parts []string
	for _, fd := range condFields {
		if fd.name == "conjunction-invert" {
			continue
		}
		v, inv, set := fd.encode(f.w, c)
		if !set {
			continue
		}
		if fd.name == "fragment-policy" {
			frag = "[fragment-policy " + v.vals[0] + "]"
			continue
		}
		var b strings.Builder
		if inv {
			b.WriteString("not ")
		}
		b.WriteString(fd.name)
		switch {
		case v.list:
			b.WriteString(" [" + strings.Join(v.vals, " ") + "]")
		case v.vals[0] != "true" || fd.name == "no-vlan" || fd.name == "nw-dst-rewritten":
			b.WriteString(" " + v.vals[0])
		}
		parts = append(parts, b.String())
	}
	return strings.Join(parts, " and "), frag
}

// Rule renders a rule on one line:
//
//	accept if nw-proto tcp and tp-dst 22
//	drop
//	jump sg-common if not nw-src 10.0.0.0/8
//	snat to 203.0.113.10:1024-65535 (dynamic) if out-ports [uplink]
//	rev-snat (reverse), then continue if in-ports [uplink]
//	accept unless nw-src 10.0.0.0/8 and nw-proto tcp
//
// "unless" marks an inverted conjunction.
func (f *Formatter) Rule(r *topology.Rule) string {
	var b strings.Builder
	switch r.Type {
	case topology.RuleJump:
		b.WriteString("jump " + f.w.ref(topology.KindChain, r.JumpChain))
		if r.Action != topology.ActionJump {
			b.WriteString(", then " + r.Action.String())
		}
	case topology.RuleNAT:
		kind := "snat"
		if r.NAT.DNAT {
			kind = "dnat"
		}
		if r.NAT.Reverse {
			kind = "rev-" + kind
		}
		if r.NAT.Masquerade {
			kind = "masquerade"
		}
		b.WriteString(kind)
		if r.NAT.Masquerade {
			pr := topology.MasqueradePorts
			if len(r.NAT.Targets) > 0 {
				pr = topology.PortRange{Start: r.NAT.Targets[0].PortStart, End: r.NAT.Targets[0].PortEnd}
			}
			b.WriteString(" to the egress port's address:" + formatPortRange(pr))
		} else if len(r.NAT.Targets) > 0 {
			b.WriteString(" to ")
			for i, t := range r.NAT.Targets {
				if i > 0 {
					b.WriteString(", ")
				}
				s, err := formatNATTarget(t)
				if err != nil {
					s = "?"
				}
				b.WriteString(s)
			}
		}
		b.WriteString(" (" + r.NATKind().String() + ")")
		if r.Action != topology.ActionAccept {
			b.WriteString(", then " + r.Action.String())
		}
	default:
		b.WriteString(r.Action.String())
	}
	conj, frag := f.condition(&r.Condition)
	switch {
	case conj != "" && r.Condition.ConjunctionInvert:
		b.WriteString(" unless " + conj)
	case conj != "":
		b.WriteString(" if " + conj)
	case r.Condition.ConjunctionInvert:
		b.WriteString(" never")
	}
	if frag != "" {
		b.WriteString(" " + frag)
	}
	return b.String()
}

// Route renders a route: "dst via port gw gateway", "dst blackhole",
// "dst local", with "from src" and "weight w" when set.
func (f *Formatter) Route(r *topology.Route) string {
	var b strings.Builder
	b.WriteString(r.Dst.String())
	if r.Src.IsValid() && r.Src.Bits() > 0 {
		b.WriteString(" from " + r.Src.String())
	}
	switch r.NextHop {
	case topology.NextHopPort:
		b.WriteString(" via " + f.w.ref(topology.KindPort, r.NextHopPort))
	default:
		b.WriteString(" " + r.NextHop.String())
		if !r.NextHopPort.IsZero() {
			b.WriteString(" (" + f.w.ref(topology.KindPort, r.NextHopPort) + ")")
		}
	}
	if r.HasGateway() {
		b.WriteString(" gw " + r.Gateway.String())
	}
	if r.Weight != 0 {
		b.WriteString(" weight " + uintString(r.Weight))
	}
	return b.String()
}

// PortAddress renders a router port's address with its prefix length
// ("10.0.0.1/24"), or the bare address when it is in none of its subnets.
func PortAddress(p *topology.Port) string {
	if !p.Address.IsValid() {
		return ""
	}
	if s := p.Subnet(); s.IsValid() {
		return netip.PrefixFrom(p.Address, s.Bits()).String()
	}
	return p.Address.String()
}

func uintString[T ~uint8 | ~uint16 | ~uint32](v T) string { return uintNode(v).Value }
