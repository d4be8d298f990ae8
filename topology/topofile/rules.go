package topofile

import (
	"fmt"
	"net/netip"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/hivenet/hivenet/topology"
)

// namer turns references into the strings a file uses for them.
type namer interface {
	ref(k topology.Kind, id topology.ID) string
	// device names a bridge or router (a traversed-device condition).
	device(id topology.ID) string
}

// fieldValue is the file form of one condition field: one value or a list.
type fieldValue struct {
	vals []string
	list bool
	// quoted marks user-chosen strings (names), which are emitted as YAML
	// strings, quoted when they would otherwise read as something else.
	quoted bool
}

// condField describes one field of topology.Condition in a file.
type condField struct {
	name string
	// invertible fields also accept not-<name>, which sets the invert flag.
	invertible bool
	decode     func(d *decoder, m *mapping, key string, invert bool, c *topology.Condition)
	// encode returns the field's value, whether it is inverted and whether
	// it is set at all.
	encode func(n namer, c *topology.Condition) (v fieldValue, invert, set bool)
}

func one(s string) fieldValue { return fieldValue{vals: []string{s}} }

func flagField(name string, at func(*topology.Condition) *bool) condField {
	return condField{name: name,
		decode: func(_ *decoder, m *mapping, key string, _ bool, c *topology.Condition) { m.flag(key, at(c)) },
		encode: func(_ namer, c *topology.Condition) (fieldValue, bool, bool) { return one("true"), false, *at(c) },
	}
}

func valueField[T any](name string, at func(*topology.Condition) *topology.Cond[T],
	parse scalar[T], format func(T) string) condField {
	return condField{name: name, invertible: true,
		decode: func(_ *decoder, m *mapping, key string, inv bool, c *topology.Condition) {
			if v, ok := get(m, key, parse); ok {
				*at(c) = topology.Cond[T]{Value: v, Set: true, Invert: inv}
			}
		},
		encode: func(_ namer, c *topology.Condition) (fieldValue, bool, bool) {
			x := at(c)
			if !x.Set {
				return fieldValue{}, false, false
			}
			return one(format(x.Value)), x.Invert, true
		},
	}
}

func refField(name string, k topology.Kind, get func(*topology.Condition) *topology.Cond[topology.ID]) condField {
	return condField{name: name, invertible: true,
		decode: func(_ *decoder, m *mapping, key string, inv bool, c *topology.Condition) {
			m.ref(key, k, func(id topology.ID) { *get(c) = topology.Cond[topology.ID]{Value: id, Set: true, Invert: inv} })
		},
		encode: func(n namer, c *topology.Condition) (fieldValue, bool, bool) {
			x := get(c)
			if !x.Set {
				return fieldValue{}, false, false
			}
			return fieldValue{vals: []string{n.ref(k, x.Value)}, quoted: true}, x.Invert, true
		},
	}
}

func portsField(name string, get func(*topology.Condition) *topology.Cond[[]topology.ID]) condField {
	return condField{name: name, invertible: true,
		decode: func(_ *decoder, m *mapping, key string, inv bool, c *topology.Condition) {
			m.refList(key, topology.KindPort, func(ids []topology.ID) {
				*get(c) = topology.Cond[[]topology.ID]{Value: ids, Set: true, Invert: inv}
			})
		},
		encode: func(n namer, c *topology.Condition) (fieldValue, bool, bool) {
			x := get(c)
			if !x.Set {
				return fieldValue{}, false, false
			}
			v := fieldValue{list: true, quoted: true}
			for _, id := range x.Value {
				v.vals = append(v.vals, n.ref(topology.KindPort, id))
			}
			return v, x.Invert, true
		},
	}
}

func fmtUint[T ~uint8 | ~uint16](v T) string { return strconv.Itoa(int(v)) }

func uintAs[T ~uint8 | ~uint16](bits int) scalar[T] {
	p := parseUint(bits)
	return scalar[T]{func(s string) (T, error) {
		v, err := p(s)
		return T(v), err
	}, jsonInt}
}

func fmtPrefix(p netip.Prefix) string { return p.String() }

// condFields lists every field of topology.Condition in the order files and
// summaries show them.
var condFields = []condField{
	flagField("match-forward-flow", func(c *topology.Condition) *bool { return &c.MatchForwardFlow }),
	flagField("match-return-flow", func(c *topology.Condition) *bool { return &c.MatchReturnFlow }),
	portsField("in-ports", func(c *topology.Condition) *topology.Cond[[]topology.ID] { return &c.InPorts }),
	portsField("out-ports", func(c *topology.Condition) *topology.Cond[[]topology.ID] { return &c.OutPorts }),
	refField("port-group", topology.KindPortGroup, func(c *topology.Condition) *topology.Cond[topology.ID] { return &c.PortGroup }),
	refField("in-port-group", topology.KindPortGroup, func(c *topology.Condition) *topology.Cond[topology.ID] { return &c.InPortGroup }),
	refField("out-port-group", topology.KindPortGroup, func(c *topology.Condition) *topology.Cond[topology.ID] { return &c.OutPortGroup }),
	refField("ip-addr-group-src", topology.KindIPAddrGroup, func(c *topology.Condition) *topology.Cond[topology.ID] { return &c.IPAddrGroupSrc }),
	refField("ip-addr-group-dst", topology.KindIPAddrGroup, func(c *topology.Condition) *topology.Cond[topology.ID] { return &c.IPAddrGroupDst }),
	valueField("ether-type", func(c *topology.Condition) *topology.Cond[uint16] { return &c.EtherType }, etherTypeValue, formatEtherType),
	valueField("eth-src", func(c *topology.Condition) *topology.Cond[topology.MACMatch] { return &c.EthSrc }, macMatchValue, formatMACMatch),
	valueField("eth-dst", func(c *topology.Condition) *topology.Cond[topology.MACMatch] { return &c.EthDst }, macMatchValue, formatMACMatch),
	valueField("no-vlan", func(c *topology.Condition) *topology.Cond[bool] { return &c.NoVLAN }, boolValue, strconv.FormatBool),
	valueField("vlan", func(c *topology.Condition) *topology.Cond[uint16] { return &c.VLAN }, uintAs[uint16](16), fmtUint[uint16]),
	valueField("nw-tos", func(c *topology.Condition) *topology.Cond[uint8] { return &c.NwTOS }, uintAs[uint8](8), fmtUint[uint8]),
	valueField("nw-proto", func(c *topology.Condition) *topology.Cond[uint8] { return &c.NwProto }, protoValue, formatProto),
	valueField("nw-src", func(c *topology.Condition) *topology.Cond[netip.Prefix] { return &c.NwSrc }, prefixValue, fmtPrefix),
	valueField("nw-dst", func(c *topology.Condition) *topology.Cond[netip.Prefix] { return &c.NwDst }, prefixValue, fmtPrefix),
	valueField("tp-src", func(c *topology.Condition) *topology.Cond[topology.PortRange] { return &c.TpSrc }, portRangeValue, formatPortRange),
	valueField("tp-dst", func(c *topology.Condition) *topology.Cond[topology.PortRange] { return &c.TpDst }, portRangeValue, formatPortRange),
	valueField("icmp-data-src", func(c *topology.Condition) *topology.Cond[netip.Prefix] { return &c.ICMPDataSrc }, prefixValue, fmtPrefix),
	valueField("icmp-data-dst", func(c *topology.Condition) *topology.Cond[netip.Prefix] { return &c.ICMPDataDst }, prefixValue, fmtPrefix),
	{name: "traversed-device", invertible: true, decode: decodeTraversed,
		encode: func(n namer, c *topology.Condition) (fieldValue, bool, bool) {
			x := c.TraversedDevice
			return fieldValue{vals: []string{n.device(x.Value)}, quoted: true}, x.Invert, x.Set
		}},
	valueField("nw-dst-rewritten", func(c *topology.Condition) *topology.Cond[bool] { return &c.NwDstRewritten }, boolValue, strconv.FormatBool),
	{name: "fragment-policy",
		decode: func(_ *decoder, m *mapping, key string, _ bool, c *topology.Condition) {
			if v, ok := get(m, key, fragmentPolicies.value()); ok {
				c.FragmentPolicy = v
			}
		},
		encode: func(_ namer, c *topology.Condition) (fieldValue, bool, bool) {
			s, ok := fragmentPolicies.format(c.FragmentPolicy)
			return one(s), false, ok
		}},
	flagField("conjunction-invert", func(c *topology.Condition) *bool { return &c.ConjunctionInvert }),
}

// decodeTraversed resolves a bridge or router name.
func decodeTraversed(d *decoder, m *mapping, key string, inv bool, c *topology.Condition) {
	s, n, ok := m.scalar(key, jsonString)
	if !ok {
		return
	}
	p, pl := join(m.path, key), at(n)
	d.fixes = append(d.fixes, func() {
		inBridges, inRouters := d.exists(topology.KindBridge, s), d.exists(topology.KindRouter, s)
		var id topology.ID
		switch {
		case inBridges && inRouters:
			d.failAt(pl, p, fmt.Errorf("%w: both a bridge and a router are %q", ErrAmbiguous, s))
			return
		case inBridges:
			id, _ = d.resolve(topology.KindBridge, s, pl, p)
		case inRouters:
			id, _ = d.resolve(topology.KindRouter, s, pl, p)
		default:
			d.fail(n, p, fmt.Errorf("bridge or router %q %w", s, ErrNotFound))
			return
		}
		c.TraversedDevice = topology.Cond[topology.ID]{Value: id, Set: true, Invert: inv}
	})
}

// ruleKinds are the keys that make a rule a jump or NAT rule.
var ruleKinds = []string{"jump", "snat", "dnat", "rev-snat", "rev-dnat", "masquerade"}

var (
	ruleKeys   = ruleKeySet()
	ruleRename = ruleRenames()
)

func ruleKeySet() keySet {
	ks := keys("id", "action")
	for _, k := range ruleKinds {
		ks[k] = true
	}
	for _, f := range condFields {
		ks[f.name] = true
		if f.invertible {
			ks["not-"+f.name] = true
		}
	}
	return ks
}

func ruleRenames() map[string]string {
	r := map[string]string{"jump": "jump-chain", "snat": "nat.targets", "dnat": "nat.targets",
		"rev-snat": "nat.targets", "rev-dnat": "nat.targets", "masquerade": "nat.masquerade"}
	for _, f := range condFields {
		r[f.name] = "condition." + f.name
		r["not-"+f.name] = "condition." + f.name
	}
	return r
}

func (d *decoder) chain(m *mapping, _ int) {
	id, name := d.named(m, topology.KindChain)
	c := topology.Chain{ID: id, Name: name}
	d.scope(m, &c.Scope)
	elems, p := m.seq("rules")
	if len(elems) > 0 {
		// Allocated once: fixups keep pointers into it.
		c.Rules = make([]topology.Rule, len(elems))
	}
	for i, e := range elems {
		f := index("rules", i)
		m.loc.set(f, index(p, i), e)
		rm := d.mapping(e, index(p, i), ruleKeys)
		rm.loc, rm.model = m.loc, f+"."
		d.rule(rm, &c.Rules[i], id, i)
	}
	d.t.Chains = append(d.t.Chains, c)
}

func (d *decoder) rule(m *mapping, r *topology.Rule, chain topology.ID, i int) {
	m.rename = ruleRename
	r.ID = RuleID(chain, i)
	if v, ok := get(m, "id", idValue); ok {
		r.ID = v
	}
	var kind string
	for _, k := range ruleKinds {
		if !m.has(k) {
			continue
		}
		if kind != "" {
			d.fail(m.keyNode(k), join(m.path, k), badValue("a rule has only one of jump, snat, dnat, rev-snat, rev-dnat and masquerade; %s and %s given", kind, k))
			continue
		}
		kind = k
	}
	switch kind {
	case "jump":
		r.Type, r.Action = topology.RuleJump, topology.ActionJump
		m.ref("jump", topology.KindChain, func(id topology.ID) { r.JumpChain = id })
	case "snat", "dnat":
		r.Type, r.Action = topology.RuleNAT, topology.ActionAccept
		r.NAT.DNAT = kind == "dnat"
		r.NAT.Targets = d.natTargets(m, kind)
	case "rev-snat", "rev-dnat":
		r.Type, r.Action = topology.RuleNAT, topology.ActionAccept
		r.NAT.DNAT, r.NAT.Reverse = kind == "rev-dnat", true
		if v := m.valNode(kind); d.isBool(v) {
			m.value(kind)
			if v.Value == "false" {
				d.fail(v, join(m.path, kind), badValue("%s: false makes no rule; remove the rule", kind))
			}
		} else {
			r.NAT.Targets = d.natTargets(m, kind)
		}
	case "masquerade":
		// masquerade: true, or the port range: masquerade: 1024-65535.
		r.Type, r.Action = topology.RuleNAT, topology.ActionAccept
		r.NAT.Masquerade = true
		v, p, _ := m.value(kind)
		isBool := d.isBool(v)
		if !d.expect(v, yaml.ScalarNode, p) || !isBool && !d.typed(v, p, jsonBool|jsonString|jsonInt) {
			break
		}
		switch s := scalarValue(v); {
		case isBool && s == "true":
		case isBool:
			d.fail(v, p, badValue("masquerade: false makes no rule; remove the rule"))
		default:
			pr, err := parsePortRange(s)
			if err != nil {
				d.fail(v, p, badValue("masquerade takes true or a port range (1024-65535), not %q", s))
				break
			}
			r.NAT.Targets = []topology.NATTarget{{PortStart: pr.Start, PortEnd: pr.End}}
			m.loc.set(m.model+"nat.targets[0]", p, v)
		}
	default:
		r.Type = topology.RuleLiteral
		if !m.has("action") {
			d.fail(m.node, m.path, fmt.Errorf("%w: a rule needs one of the keys action, jump, snat, dnat, rev-snat, rev-dnat and masquerade", ErrMissing))
		}
	}
	if v, ok := get(m, "action", actions.value()); ok {
		r.Action = v
	}
	d.condition(m, &r.Condition)
}

// natTargets reads one target or a list of targets.
func (d *decoder) natTargets(m *mapping, key string) []topology.NATTarget {
	v, p, _ := m.value(key)
	elems := []*yaml.Node{v}
	paths := []string{p}
	if v.Kind == yaml.SequenceNode {
		elems, paths = v.Content, nil
		for i := range elems {
			paths = append(paths, index(p, i))
		}
	}
	var out []topology.NATTarget
	for i, e := range elems {
		if !d.expect(e, yaml.ScalarNode, paths[i]) || !d.typed(e, paths[i], jsonString) {
			continue
		}
		t, err := parseNATTarget(scalarValue(e))
		if err != nil {
			d.fail(e, paths[i], err)
			continue
		}
		m.loc.set(index(m.model+"nat.targets", len(out)), paths[i], e)
		out = append(out, t)
	}
	return out
}

func (d *decoder) condition(m *mapping, c *topology.Condition) {
	for _, f := range condFields {
		pos, neg := m.has(f.name), f.invertible && m.has("not-"+f.name)
		if pos && neg {
			d.fail(m.keyNode("not-"+f.name), join(m.path, "not-"+f.name), badValue("%s and not-%s exclude each other", f.name, f.name))
			continue
		}
		switch {
		case pos:
			f.decode(d, m, f.name, false, c)
		case neg:
			f.decode(d, m, "not-"+f.name, true, c)
		}
	}
}
