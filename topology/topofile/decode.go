package topofile

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hivenet/hivenet/topology"
)

// fieldLoc is where a field is in the file.
type fieldLoc struct {
	path string
	node *yaml.Node
}

// objLoc is where an object is in the file, with the places of its fields
// keyed by their topology.Problem field names.
type objLoc struct {
	kind   topology.Kind
	name   string
	path   string
	node   *yaml.Node
	fields map[string]fieldLoc
}

func (l *objLoc) set(field, path string, n *yaml.Node) {
	if l == nil {
		return
	}
	if _, ok := l.fields[field]; !ok {
		l.fields[field] = fieldLoc{path, n}
	}
}

// find returns the place of field, or of its closest recorded parent, or of
// the object.
func (l *objLoc) find(field string) fieldLoc {
	for f := field; f != ""; f = parentField(f) {
		if fl, ok := l.fields[f]; ok {
			return fl
		}
	}
	return fieldLoc{l.path, l.node}
}

// parentField strips the last ".name" or "[i]" of a field path.
func parentField(f string) string {
	i := strings.LastIndexAny(f, ".[")
	if i < 0 {
		return ""
	}
	return f[:i]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// decoder turns a YAML node tree into a topology. References are resolved
// after every object is known, by the closures in fixes.
type decoder struct {
	file  string
	t     topology.Topology
	errs  ErrorList
	names map[topology.Kind]map[string]topology.ID
	ids   map[topology.Kind]map[topology.ID]bool
	locs  map[topology.ID][]*objLoc
	fixes []func()
	peers []peerDecl
	// json marks a JSON document: every value must also be of a JSON
	// type its key accepts, and null stands for nothing.
	json bool
	// one is set when decoding a single object (DecodeObject).
	one *ObjectOptions
	// out holds the objects outside a file it may refer to (LoadWith).
	out *outsideIndex
}

func newDecoder(file string) *decoder {
	return &decoder{
		file:  file,
		names: make(map[topology.Kind]map[string]topology.ID),
		ids:   make(map[topology.Kind]map[topology.ID]bool),
		locs:  make(map[topology.ID][]*objLoc),
	}
}

func (d *decoder) fail(n *yaml.Node, path string, err error) {
	e := &Error{File: d.file, Path: path, Err: err}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// expect reports whether n is of kind k. A null value counts as an empty
// mapping or list without complaint; anything else is reported.
func (d *decoder) expect(n *yaml.Node, k yaml.Kind, path string) bool {
	switch {
	case n.Kind == k:
		return true
	case n.Kind == yaml.AliasNode:
		d.fail(n, path, badValue("aliases (*%s) are not supported", n.Value))
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" && k != yaml.ScalarNode && !d.json:
	case d.json && n.Kind == yaml.ScalarNode:
		d.fail(n, path, wrongType("expected %s, found %s", jsonKindName(k), jsonTypeName(n)))
	case d.json:
		d.fail(n, path, wrongType("expected %s, found %s", jsonKindName(k), jsonTypeName(n)))
	default:
		d.fail(n, path, badValue("expected %s, found %s", kindName(k), kindName(n.Kind)))
	}
	return false
}

// scalarValue returns the text of a scalar node; null is "".
func scalarValue(n *yaml.Node) string {
	if n.ShortTag() == "!!null" {
		return ""
	}
	return n.Value
}

// keySet is the set of keys a mapping accepts.
type keySet map[string]bool

func keys(ks ...string) keySet {
	s := make(keySet, len(ks))
	for _, k := range ks {
		s[k] = true
	}
	return s
}

func (s keySet) with(ks ...string) keySet {
	n := make(keySet, len(s)+len(ks))
	for k := range s {
		n[k] = true
	}
	for _, k := range ks {
		n[k] = true
	}
	return n
}

// mapping is a decoded YAML mapping whose keys were checked.
type mapping struct {
	d    *decoder
	node *yaml.Node
	path string
	vals map[string]*yaml.Node
	keys map[string]*yaml.Node
	// loc receives the place of every field read; model prefixes the field
	// names and rename maps file keys to model field names where they
	// differ.
	loc    *objLoc
	model  string
	rename map[string]string
}

func (d *decoder) mapping(n *yaml.Node, path string, allowed keySet) *mapping {
	m := &mapping{d: d, node: n, path: path, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	if !d.expect(n, yaml.MappingNode, path) {
		return m
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, badValue("expected a key, found %s", kindName(k.Kind)))
			continue
		}
		kp := join(path, k.Value)
		if !allowed[k.Value] {
			d.fail(k, kp, fmt.Errorf("%w %q", ErrUnknownKey, k.Value))
			continue
		}
		if _, dup := m.vals[k.Value]; dup {
			d.fail(k, kp, fmt.Errorf("%w %q", ErrDuplicateKey, k.Value))
			continue
		}
		m.vals[k.Value], m.keys[k.Value] = v, k
	}
	return m
}

func (m *mapping) has(key string) bool { _, ok := m.vals[key]; return ok }

func (m *mapping) modelName(key string) string {
	if r, ok := m.rename[key]; ok {
		return m.model + r
	}
	return m.model + key
}

// value returns the value node of key and records its place.
func (m *mapping) value(key string) (*yaml.Node, string, bool) {
	v, ok := m.vals[key]
	if !ok {
		return nil, "", false
	}
	p := join(m.path, key)
	m.loc.set(m.modelName(key), p, v)
	return v, p, true
}

// scalar returns the text of key's value if it is present and a scalar
// of a JSON type in want.
func (m *mapping) scalar(key string, want jsonType) (string, *yaml.Node, bool) {
	v, p, ok := m.value(key)
	if !ok || !m.d.expect(v, yaml.ScalarNode, p) || !m.d.typed(v, p, want) {
		return "", v, false
	}
	return scalarValue(v), v, true
}

// get parses key's value with parse; ok is false when the key is absent or
// the value bad (which is reported).
func get[T any](m *mapping, key string, sc scalar[T]) (T, bool) {
	var zero T
	s, n, ok := m.scalar(key, sc.json)
	if !ok {
		return zero, false
	}
	v, err := sc.parse(s)
	if err != nil {
		m.d.fail(n, join(m.path, key), err)
		return zero, false
	}
	return v, true
}

func (m *mapping) str(key string, dst *string) {
	if s, _, ok := m.scalar(key, jsonString); ok {
		*dst = s
	}
}

func (m *mapping) flag(key string, dst *bool) {
	if v, ok := get(m, key, boolValue); ok {
		*dst = v
	}
}

func getUint[T ~uint8 | ~uint16 | ~uint32](m *mapping, key string, dst *T, bits int) {
	if v, ok := get(m, key, uintValue(bits)); ok {
		*dst = T(v)
	}
}

// seq returns the elements of key's list value.
func (m *mapping) seq(key string) ([]*yaml.Node, string) {
	v, p, ok := m.value(key)
	if !ok || !m.d.expect(v, yaml.SequenceNode, p) {
		return nil, p
	}
	return v.Content, p
}

// list parses every element of key's list value; elements that fail to
// parse are reported and skipped.
func list[T any](m *mapping, key string, sc scalar[T]) []T {
	elems, p := m.seq(key)
	var out []T
	for i, e := range elems {
		ep := index(p, i)
		m.loc.set(index(m.modelName(key), len(out)), ep, e)
		if !m.d.expect(e, yaml.ScalarNode, ep) || !m.d.typed(e, ep, sc.json) {
			continue
		}
		v, err := sc.parse(scalarValue(e))
		if err != nil {
			m.d.fail(e, ep, err)
			continue
		}
		out = append(out, v)
	}
	return out
}

// ref resolves key's value as a reference to an object of kind k once every
// object is known, and passes the ID to set.
func (m *mapping) ref(key string, k topology.Kind, set func(topology.ID)) {
	s, n, ok := m.scalar(key, jsonString)
	if !ok {
		return
	}
	p := join(m.path, key)
	m.d.fixes = append(m.d.fixes, func() {
		if id, ok := m.d.resolve(k, s, n, p); ok {
			set(id)
		}
	})
}

// refList is ref for a list of references.
func (m *mapping) refList(key string, k topology.Kind, set func([]topology.ID)) {
	elems, p := m.seq(key)
	var names []string
	var nodes []*yaml.Node
	for i, e := range elems {
		ep := index(p, i)
		m.loc.set(index(m.modelName(key), i), ep, e)
		if m.d.expect(e, yaml.ScalarNode, ep) && m.d.typed(e, ep, jsonString) {
			names, nodes = append(names, scalarValue(e)), append(nodes, e)
		}
	}
	if _, present := m.vals[key]; !present {
		return
	}
	m.d.fixes = append(m.d.fixes, func() {
		var ids []topology.ID // nil when empty, as everywhere in loaded topologies
		for i, s := range names {
			if id, ok := m.d.resolve(k, s, nodes[i], index(p, i)); ok {
				ids = append(ids, id)
			}
		}
		set(ids)
	})
}

// resolve finds the object of kind k named s, or whose ID s is.
func (d *decoder) resolve(k topology.Kind, s string, n *yaml.Node, path string) (topology.ID, bool) {
	if id, ok := d.names[k][s]; ok {
		return id, true
	}
	if id, err := topology.ParseID(s); err == nil && d.ids[k][id] {
		return id, true
	}
	if id, ok := d.resolveOutside(k, s); ok {
		return id, true
	}
	d.fail(n, path, fmt.Errorf("%s %q %w", k, s, ErrNotFound))
	return topology.ID{}, false
}

// exists reports whether s names or identifies an object of kind k.
func (d *decoder) exists(k topology.Kind, s string) bool {
	if _, ok := d.names[k][s]; ok {
		return true
	}
	id, err := topology.ParseID(s)
	if err == nil && d.ids[k][id] {
		return true
	}
	_, ok := d.resolveOutside(k, s)
	return ok
}

func (d *decoder) register(k topology.Kind, name string, id topology.ID, l *objLoc) {
	if name != "" {
		if d.names[k] == nil {
			d.names[k] = make(map[string]topology.ID)
		}
		if _, dup := d.names[k][name]; !dup {
			d.names[k][name] = id
		}
	}
	if d.ids[k] == nil {
		d.ids[k] = make(map[topology.ID]bool)
	}
	d.ids[k][id] = true
	d.locs[id] = append(d.locs[id], l)
}

func (d *decoder) newLoc(m *mapping, k topology.Kind, name string) *objLoc {
	l := &objLoc{kind: k, name: name, path: m.path, node: m.node, fields: map[string]fieldLoc{}}
	m.loc = l
	return l
}

// named reads the name and id of an object of a named kind. The ID is the
// explicit id, or derived from the name.
func (d *decoder) named(m *mapping, k topology.Kind) (topology.ID, string) {
	l := d.newLoc(m, k, "")
	var name string
	m.str("name", &name)
	l.name = name
	id, hasID := get(m, "id", idValue)
	if d.one != nil {
		id, hasID = d.oneID(m, id, hasID, func() (topology.ID, bool) {
			return topology.NameID(k, name), name != ""
		})
	}
	if !hasID {
		if name == "" {
			if !m.has("id") && (m.node.Kind == yaml.MappingNode || m.node.ShortTag() == "!!null") {
				d.fail(m.node, m.path, fmt.Errorf("%w: a %s needs a name or an id", ErrMissing, k))
			}
			return topology.ID{}, ""
		}
		id = topology.NameID(k, name)
	}
	d.register(k, name, id, l)
	return id, name
}

// child reads the id of an unnamed object, or derives it from its parent
// and position.
func (d *decoder) child(m *mapping, k topology.Kind, parent topology.ID, i int) topology.ID {
	l := d.newLoc(m, k, "")
	id, ok := get(m, "id", idValue)
	if d.one != nil {
		id, ok = d.oneID(m, id, ok, nil)
	}
	if !ok {
		id = ChildID(parent, k, i)
	}
	d.register(k, "", id, l)
	return id
}

func parseID(s string) (topology.ID, error) {
	id, err := topology.ParseID(s)
	if err != nil {
		return id, badValue("%q is not a UUID", s)
	}
	return id, nil
}

// each decodes every element of a top-level or nested list of mappings.
func (d *decoder) each(m *mapping, key string, allowed keySet, fn func(e *mapping, i int)) {
	elems, p := m.seq(key)
	for i, e := range elems {
		fn(d.mapping(e, index(p, i), allowed), i)
	}
}

// locate returns the place in the file of a validation problem.
func (d *decoder) locate(p *topology.Problem) fieldLoc {
	var best *objLoc
	for _, l := range d.locs[p.ID] {
		if l.kind == p.Kind && (l.name == p.Name || d.one != nil) {
			best = l // the later of duplicates is the one reported
		}
	}
	if best == nil {
		return fieldLoc{}
	}
	return best.find(p.Field)
}

// parseYAML reads one YAML document. The YAML library reports malformed
// input by panicking internally and recovering; should any other panic
// escape it, it is turned into a syntax error so that bad files never crash
// the caller.
func parseYAML(data []byte) (doc *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("%w: %v", ErrSyntax, r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var n yaml.Node
	if err := dec.Decode(&n); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: %s", ErrSyntax, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: a topology file holds one YAML document", ErrSyntax)
	}
	return &n, nil
}

// syntaxLine extracts "line N" from a YAML library message.
func syntaxLine(msg string) int {
	_, after, ok := strings.Cut(msg, "line ")
	if !ok {
		return 0
	}
	end := strings.IndexFunc(after, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(after)
	}
	n, _ := strconv.Atoi(after[:end])
	return n
}

// sortErrors orders errors by place in the file; errors without a place
// come last.
func sortErrors(l ErrorList) {
	slices.SortStableFunc(l, func(a, b *Error) int {
		if (a.Line == 0) != (b.Line == 0) {
			return cmp.Compare(b.Line, a.Line) // placeless last
		}
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}
