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

// place is where a node is in the file. Locations keep a place rather
// than the node, so that the parse tree of the part of a file already
// decoded can be collected while the rest is decoded.
type place struct{ line, col int }

func at(n *yaml.Node) place {
	if n == nil {
		return place{}
	}
	return place{n.Line, n.Column}
}

// fieldLoc is where a field is in the file.
type fieldLoc struct {
	path string
	at   place
}

// objLoc is where an object is in the file, with the places of its fields
// keyed by their topology.Problem field names.
type objLoc struct {
	kind topology.Kind
	name string
	path string
	at   place
	// The first place recorded for each field: in a short list, as most
	// objects have a few fields, or once it grows (a chain places every
	// field of its rules) in an index.
	fields []namedLoc
	index  map[string]fieldLoc
}

// namedLoc is the place of one field.
type namedLoc struct {
	field string
	loc   fieldLoc
}

// maxFieldList is the number of places an objLoc keeps in its list before
// it moves them to an index.
const maxFieldList = 16

func (l *objLoc) set(field, path string, n *yaml.Node) {
	l.setAt(field, path, at(n))
}

func (l *objLoc) setAt(field, path string, pl place) {
	if l == nil {
		return
	}
	if _, ok := l.get(field); ok {
		return
	}
	if l.index != nil {
		l.index[field] = fieldLoc{path, pl}
		return
	}
	l.fields = append(l.fields, namedLoc{field, fieldLoc{path, pl}})
	if len(l.fields) > maxFieldList {
		l.index = make(map[string]fieldLoc, 2*len(l.fields))
		for _, f := range l.fields {
			l.index[f.field] = f.loc
		}
		l.fields = nil
	}
}

// get returns the place recorded for field.
func (l *objLoc) get(field string) (fieldLoc, bool) {
	if l.index != nil {
		fl, ok := l.index[field]
		return fl, ok
	}
	for _, f := range l.fields {
		if f.field == field {
			return f.loc, true
		}
	}
	return fieldLoc{}, false
}

// find returns the place of field, or of its closest recorded parent, or of
// the object.
func (l *objLoc) find(field string) fieldLoc {
	for f := field; f != ""; f = parentField(f) {
		if fl, ok := l.get(f); ok {
			return fl
		}
	}
	return fieldLoc{l.path, l.at}
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
	d.failAt(at(n), path, err)
}

func (d *decoder) failAt(pl place, path string, err error) {
	d.errs = append(d.errs, &Error{File: d.file, Path: path, Err: err, Line: pl.line, Column: pl.col})
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

// resolve finds the object of kind k named s, or whose ID s is.
func (d *decoder) resolve(k topology.Kind, s string, pl place, path string) (topology.ID, bool) {
	if id, ok := d.names[k][s]; ok {
		return id, true
	}
	if id, err := topology.ParseID(s); err == nil && d.ids[k][id] {
		return id, true
	}
	if id, ok := d.resolveOutside(k, s); ok {
		return id, true
	}
	d.failAt(pl, path, fmt.Errorf("%s %q %w", k, s, ErrNotFound))
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
	l := &objLoc{kind: k, name: name, path: m.path, at: at(m.node)}
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
