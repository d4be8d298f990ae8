package topofile

import (
	"errors"
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/hivenet/hivenet/topology"
)

// Single objects in JSON: the REST API's bodies. An object is written with
// the keys a file gives it, plus the key naming its owner where a file
// nests it (a port's bridge or router; the router of a route, BGP peer or
// BGP network; the bridge of a DHCP subnet; the load balancer of a pool;
// the pool of a member or VIP), and without the keys of what a file nests
// inside it (a bridge's ports, a pool's members, ...), which are objects of
// their own. Health monitors have no name: key (the file's handle for them).
// JSON values must be of the JSON type their key takes: numbers for
// numbers, true and false for flags, strings for the rest; ports,
// protocols, EtherTypes and masquerade take a number or a string
// (tp-dst: 22 or "1024-65535"), masquerade and rev-snat/rev-dnat also true.
// Null is never accepted.

// ObjectOptions configure DecodeObject and DecodeRule.
type ObjectOptions struct {
	// ID, when not zero, is the ID the object must have (say, from a URL):
	// the document may leave out its id or must repeat it.
	ID topology.ID
	// Resolve returns the ID of the object of kind k named or identified
	// (UUID) by ref among the objects outside the document, if there is
	// one. nil: references can only name the decoded object itself.
	Resolve func(k topology.Kind, ref string) (topology.ID, bool)
	// NewID returns a fresh ID for an object that has no id, when ID is
	// zero and the object has no name to derive one from
	// (topology.NameID). nil: such an object is an error.
	NewID func() topology.ID
}

// Decoded is one object decoded from a JSON document, with the places of
// its fields.
type Decoded struct {
	// Object is the decoded object, not yet validated.
	Object topology.Object
	d      *decoder
	m      *mapping
}

// Has reports whether the document has key at its top level.
func (x *Decoded) Has(key string) bool { return x.m.has(key) }

// Locate returns the path in the document ("rules[2].nw-src") of the field
// a validation problem of the object names, or "" when the problem is
// about another object or the object as a whole.
func (x *Decoded) Locate(p *topology.Problem) string {
	return x.d.locate(p).path
}

var (
	// objectKeys are the keys of each kind's JSON form (ports: see
	// portKeysOf).
	// The kinds a file holds at its top level also take scope:.
	objectKeys = map[topology.Kind]keySet{
		topology.KindHost:          hostKeys.with("scope"),
		topology.KindTunnelZone:    zoneKeys.with("scope"),
		topology.KindBridge:        bridgeKeys.without("ports", "dhcp").with("scope"),
		topology.KindRouter:        routerKeys.without("ports", "routes", "bgp-peers", "bgp-networks").with("scope"),
		topology.KindChain:         chainKeys.with("scope"),
		topology.KindRoute:         routeKeys.with("router"),
		topology.KindPortGroup:     portGroupKeys.with("scope"),
		topology.KindIPAddrGroup:   addrGroupKeys.with("scope"),
		topology.KindLoadBalancer:  lbKeys.without("pools").with("scope"),
		topology.KindPool:          poolKeys.without("members", "vips").with("load-balancer"),
		topology.KindPoolMember:    memberKeys.with("pool"),
		topology.KindVIP:           vipKeys.with("pool"),
		topology.KindHealthMonitor: monitorKeys.without("name").with("scope"),
		topology.KindVTEP:          vtepKeys.with("scope"),
		topology.KindDHCPSubnet:    dhcpKeys.with("bridge"),
		topology.KindBGPPeer:       bgpPeerKeys.with("router"),
		topology.KindBGPNetwork:    bgpNetworkKeys.with("router"),
	}
	apiBridgePortKeys = bridgePortKeys.with("bridge")
	apiRouterPortKeys = routerPortKeys.with("router")
)

func (s keySet) without(ks ...string) keySet {
	n := s.with()
	for _, k := range ks {
		delete(n, k)
	}
	return n
}

func (s keySet) sorted() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ObjectKeys returns the keys of the JSON form of objects of kind k, sorted;
// for ports, those of bridge ports and router ports together.
func ObjectKeys(k topology.Kind) []string {
	if k == topology.KindPort {
		return apiBridgePortKeys.with(apiRouterPortKeys.sorted()...).sorted()
	}
	return objectKeys[k].sorted()
}

// RuleKeys returns the keys of a rule, sorted.
func RuleKeys() []string { return ruleKeys.sorted() }

// hasKey reports whether the mapping n has key.
func hasKey(n *yaml.Node, key string) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

// newOneDecoder reads a JSON document that must hold one object.
func newOneDecoder(data []byte, opts *ObjectOptions) (*decoder, *yaml.Node, error) {
	doc, err := parseJSON(data)
	if err != nil {
		return nil, nil, ErrorList{{Line: syntaxLine(err.Error()), Err: err}}
	}
	d := newDecoder("")
	d.json, d.one = true, opts
	if doc.Kind != yaml.MappingNode {
		return nil, nil, ErrorList{{Line: doc.Line, Column: doc.Column, Err: wrongType("expected an object, found %s", jsonTypeName(doc))}}
	}
	return d, doc, nil
}

// finish resolves references and returns the decoder's problems.
func (d *decoder) finish() error {
	for _, f := range d.fixes {
		f()
	}
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return d.errs
	}
	return nil
}

// DecodeObject decodes one object of kind k from a JSON document. It
// resolves references through opts.Resolve, derives what a file would
// (router port MACs, rule IDs), and reports every problem of the document
// in an ErrorList whose errors carry the line, column and path of each
// (ErrSyntax, ErrUnknownKey, ErrBadValue for a wrong JSON type, ErrNotFound
// for a reference to nothing, ...). The object is not validated: writing it
// to a store does that, and Decoded.Locate places the problems found.
func DecodeObject(k topology.Kind, data []byte, opts ObjectOptions) (*Decoded, error) {
	keys, ok := objectKeys[k]
	if !ok && k != topology.KindPort {
		return nil, fmt.Errorf("topofile: no JSON form for kind %s", k)
	}
	d, doc, err := newOneDecoder(data, &opts)
	if err != nil {
		return nil, err
	}
	onRouter := k == topology.KindPort && hasKey(doc, "router")
	if k == topology.KindPort {
		keys = apiBridgePortKeys
		if onRouter {
			keys = apiRouterPortKeys
		}
	}
	m := d.mapping(doc, "", keys)
	d.object(k, m, onRouter)
	if err := d.finish(); err != nil {
		return nil, err
	}
	var obj topology.Object
	for o := range d.t.Objects() {
		obj = o
	}
	return &Decoded{Object: obj, d: d, m: m}, nil
}

// object decodes an object of kind k on its own.
func (d *decoder) object(k topology.Kind, m *mapping, onRouter bool) {
	var none topology.ID
	switch k {
	case topology.KindHost:
		d.host(m, 0)
	case topology.KindTunnelZone:
		d.tunnelZone(m, 0)
	case topology.KindBridge:
		d.bridge(m, 0)
	case topology.KindRouter:
		d.router(m, 0)
	case topology.KindPort:
		d.port(m, none, onRouter)
		if onRouter {
			d.owner(m, "router", topology.KindRouter, func(x topology.ID) { d.t.Ports[0].Router = x })
		} else {
			d.owner(m, "bridge", topology.KindBridge, func(x topology.ID) { d.t.Ports[0].Bridge = x })
		}
	case topology.KindChain:
		d.chain(m, 0)
	case topology.KindRoute:
		d.route(m, none, 0)
		d.owner(m, "router", topology.KindRouter, func(x topology.ID) { d.t.Routes[0].Router = x })
	case topology.KindPortGroup:
		d.portGroup(m, 0)
	case topology.KindIPAddrGroup:
		d.addrGroup(m, 0)
	case topology.KindLoadBalancer:
		d.loadBalancer(m, 0)
	case topology.KindPool:
		d.pool(m, none)
		d.owner(m, "load-balancer", topology.KindLoadBalancer, func(x topology.ID) { d.t.Pools[0].LoadBalancer = x })
	case topology.KindPoolMember:
		d.poolMember(m, none, 0)
		d.owner(m, "pool", topology.KindPool, func(x topology.ID) { d.t.PoolMembers[0].Pool = x })
	case topology.KindVIP:
		d.vip(m, none, 0)
		d.owner(m, "pool", topology.KindPool, func(x topology.ID) { d.t.VIPs[0].Pool = x })
	case topology.KindHealthMonitor:
		d.healthMonitor(m, 0)
	case topology.KindVTEP:
		d.vtep(m, 0)
	case topology.KindDHCPSubnet:
		d.dhcp(m, none, 0)
		d.owner(m, "bridge", topology.KindBridge, func(x topology.ID) { d.t.DHCPSubnets[0].Bridge = x })
	case topology.KindBGPPeer:
		d.bgpPeer(m, none, 0)
		d.owner(m, "router", topology.KindRouter, func(x topology.ID) { d.t.BGPPeers[0].Router = x })
	case topology.KindBGPNetwork:
		d.bgpNetworkFields(m, none, 0)
		d.owner(m, "router", topology.KindRouter, func(x topology.ID) { d.t.BGPNetworks[0].Router = x })
	}
}

// oneID settles the ID of a single decoded object: the body's id, which
// must be the expected one if there is one; else the expected ID; else the
// one derived (from a name); else a new one.
func (d *decoder) oneID(m *mapping, id topology.ID, has bool, derive func() (topology.ID, bool)) (topology.ID, bool) {
	want := d.one.ID
	switch {
	case has && !want.IsZero() && id != want:
		d.fail(m.valNode("id"), join(m.path, "id"), badValue("id %s is not the object's ID %s", id, want))
		return want, true
	case has:
		return id, true
	case m.has("id"): // present but bad: reported
		return topology.ID{}, false
	case !want.IsZero():
		return want, true
	}
	if derive != nil {
		if id, ok := derive(); ok {
			return id, true
		}
	}
	if d.one.NewID != nil {
		return d.one.NewID(), true
	}
	return topology.ID{}, false
}

// resolveOutside finds what a reference names among the objects outside a
// single decoded object, or outside a file (LoadWith).
func (d *decoder) resolveOutside(k topology.Kind, s string) (topology.ID, bool) {
	switch {
	case s == "":
	case d.out != nil:
		return d.out.resolve(k, s)
	case d.one != nil && d.one.Resolve != nil:
		return d.one.Resolve(k, s)
	}
	return topology.ID{}, false
}

// scope reads an object's scope: (the JSON form only: a file's objects
// take the scope the file is applied under).
func (d *decoder) scope(m *mapping, dst *string) {
	if s, n, ok := m.scalar("scope", jsonString); ok {
		if !topology.ValidScope(s) {
			d.fail(n, join(m.path, "scope"), badValue("scope %q: 1 to %d letters, digits, '-', '_' and '.'", s, topology.MaxScopeLen))
			return
		}
		*dst = s
	}
}

// owner reads the required reference to the object's owner.
func (d *decoder) owner(m *mapping, key string, k topology.Kind, set func(topology.ID)) {
	if !m.has(key) {
		d.fail(m.node, m.path, fmt.Errorf("%w: key %q: the %s that owns it", ErrMissing, key, k))
		return
	}
	m.ref(key, k, set)
}

// DecodeRule decodes one rule of a chain from a JSON document, as it would
// be the pos-th rule (from 0) of the chain: Locate places problems a
// validation reports on the chain's field rules[pos]. A rule without an
// id gets opts.ID, else opts.NewID(), else RuleID(chain, pos).
func DecodeRule(data []byte, chain topology.ID, pos int, opts ObjectOptions) (*topology.Rule, *Decoded, error) {
	d, doc, err := newOneDecoder(data, &opts)
	if err != nil {
		return nil, nil, err
	}
	f := index("rules", pos)
	m := d.mapping(doc, "", ruleKeys)
	l := &objLoc{kind: topology.KindChain, path: "", at: at(doc)}
	d.locs[chain] = append(d.locs[chain], l)
	m.loc, m.model = l, f+"."
	r := new(topology.Rule)
	d.rule(m, r, chain, pos)
	if err := d.finish(); err != nil {
		return nil, nil, err
	}
	if !m.has("id") {
		switch {
		case !opts.ID.IsZero():
			r.ID = opts.ID
		case opts.NewID != nil:
			r.ID = opts.NewID()
		}
	}
	return r, &Decoded{d: d, m: m}, nil
}

// EncodeObject returns the JSON form of o, the form DecodeObject reads:
// references by UUID, the id and a router port's mac always written, other
// fields left out at their defaults as in files.
func EncodeObject(o topology.Object) ([]byte, error) { return AppendObject(nil, o) }

// AppendObject appends the JSON form of o to b.
func AppendObject(b []byte, o topology.Object) ([]byte, error) {
	w := newAPIWriter()
	n := w.object(o)
	if n == nil {
		return b, fmt.Errorf("topofile: %w: %T", ErrNotRepresentable, o)
	}
	if len(w.errs) > 0 {
		return b, fmt.Errorf("topofile: %w", errors.Join(w.errs...))
	}
	return appendJSON(b, n), nil
}

// EncodeRule returns the JSON form of a rule, the form DecodeRule reads.
func EncodeRule(r *topology.Rule) ([]byte, error) { return AppendRule(nil, r) }

// AppendRule appends the JSON form of a rule to b.
func AppendRule(b []byte, r *topology.Rule) ([]byte, error) {
	w := newAPIWriter()
	m, err := ruleNode(w, r)
	if err != nil {
		return b, fmt.Errorf("topofile: %w", err)
	}
	m.Content = append([]*yaml.Node{plain("id"), plain(r.ID.String())}, m.Content...)
	return appendJSON(b, m.Node), nil
}

func newAPIWriter() *writer {
	return &writer{t: &topology.Topology{}, names: map[topology.Kind]map[topology.ID]string{},
		handles: map[topology.ID]string{}, kinds: map[topology.ID]kindSet{},
		peered: map[topology.ID]bool{}, api: true}
}

// object writes one object on its own, naming its owner.
func (w *writer) object(o topology.Object) *yaml.Node {
	switch v := o.(type) {
	case *topology.Host:
		return w.host(v)
	case *topology.TunnelZone:
		return w.tunnelZone(v)
	case *topology.Bridge:
		return w.bridge(v)
	case *topology.Router:
		return w.router(v)
	case *topology.Port:
		if !v.Router.IsZero() {
			return withOwner(w.port(v, true), "router", v.Router)
		}
		return withOwner(w.port(v, false), "bridge", v.Bridge)
	case *topology.Chain:
		return w.chain(v)
	case *topology.Route:
		return withOwner(w.route(v, v.Router, 0), "router", v.Router)
	case *topology.PortGroup:
		return w.portGroup(v)
	case *topology.IPAddrGroup:
		return w.addrGroup(v)
	case *topology.LoadBalancer:
		return w.loadBalancer(v)
	case *topology.Pool:
		return withOwner(w.pool(v), "load-balancer", v.LoadBalancer)
	case *topology.PoolMember:
		return withOwner(w.poolMember(v, v.Pool, 0), "pool", v.Pool)
	case *topology.VIP:
		return withOwner(w.vip(v, v.Pool, 0), "pool", v.Pool)
	case *topology.HealthMonitor:
		return w.healthMonitor(v)
	case *topology.VTEP:
		return w.vtep(v)
	case *topology.DHCPSubnet:
		return withOwner(w.dhcp(v, v.Bridge, 0), "bridge", v.Bridge)
	case *topology.BGPPeer:
		return withOwner(w.bgpPeer(v, v.Router, 0), "router", v.Router)
	case *topology.BGPNetwork:
		return withOwner(w.bgpNetwork(v, v.Router, 0), "router", v.Router)
	}
	return nil
}

// withOwner adds key: owner after the id and name of the mapping n.
func withOwner(n *yaml.Node, key string, owner topology.ID) *yaml.Node {
	if owner.IsZero() {
		return n
	}
	at := 0
	for at+1 < len(n.Content) && (n.Content[at].Value == "id" || n.Content[at].Value == "name") {
		at += 2
	}
	n.Content = slices.Insert(n.Content, at, plain(key), plain(owner.String()))
	return n
}
