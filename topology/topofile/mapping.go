package topofile

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/hivenet/hivenet/topology"
)

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
	// ents holds the checked keys in file order. A mapping has a dozen
	// keys at most, and a large file has one mapping per object: a slice
	// searched in order costs less than two maps per object.
	ents []entry
	// loc receives the place of every field read; model prefixes the field
	// names and rename maps file keys to model field names where they
	// differ.
	loc    *objLoc
	model  string
	rename map[string]string
}

// entry is a key of a mapping and its value.
type entry struct {
	key  *yaml.Node
	val  *yaml.Node
	name string
}

func (d *decoder) mapping(n *yaml.Node, path string, allowed keySet) *mapping {
	m := &mapping{d: d, node: n, path: path}
	if !d.expect(n, yaml.MappingNode, path) {
		return m
	}
	m.ents = make([]entry, 0, len(n.Content)/2)
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
		if m.has(k.Value) {
			d.fail(k, kp, fmt.Errorf("%w %q", ErrDuplicateKey, k.Value))
			continue
		}
		m.ents = append(m.ents, entry{key: k, val: v, name: k.Value})
	}
	return m
}

// lookup returns the entry of key, or nil.
func (m *mapping) lookup(key string) *entry {
	for i := range m.ents {
		if m.ents[i].name == key {
			return &m.ents[i]
		}
	}
	return nil
}

func (m *mapping) has(key string) bool { return m.lookup(key) != nil }

// keyNode returns the key node of key, or nil.
func (m *mapping) keyNode(key string) *yaml.Node {
	if e := m.lookup(key); e != nil {
		return e.key
	}
	return nil
}

// valNode returns the value node of key, or nil.
func (m *mapping) valNode(key string) *yaml.Node {
	if e := m.lookup(key); e != nil {
		return e.val
	}
	return nil
}

func (m *mapping) modelName(key string) string {
	if r, ok := m.rename[key]; ok {
		return m.model + r
	}
	return m.model + key
}

// value returns the value node of key and records its place.
func (m *mapping) value(key string) (*yaml.Node, string, bool) {
	v := m.valNode(key)
	if v == nil {
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
	// The fix keeps the decoder and the place, not the mapping or its
	// nodes: the parse tree is collected once decoded.
	d, p, pl := m.d, join(m.path, key), at(n)
	d.fixes = append(d.fixes, func() {
		if id, ok := d.resolve(k, s, pl, p); ok {
			set(id)
		}
	})
}

// refList is ref for a list of references.
func (m *mapping) refList(key string, k topology.Kind, set func([]topology.ID)) {
	elems, p := m.seq(key)
	var names []string
	var places []place
	for i, e := range elems {
		ep := index(p, i)
		m.loc.set(index(m.modelName(key), i), ep, e)
		if m.d.expect(e, yaml.ScalarNode, ep) && m.d.typed(e, ep, jsonString) {
			names, places = append(names, scalarValue(e)), append(places, at(e))
		}
	}
	if !m.has(key) {
		return
	}
	d := m.d
	d.fixes = append(d.fixes, func() {
		var ids []topology.ID // nil when empty, as everywhere in loaded topologies
		for i, s := range names {
			if id, ok := d.resolve(k, s, places[i], index(p, i)); ok {
				ids = append(ids, id)
			}
		}
		set(ids)
	})
}
