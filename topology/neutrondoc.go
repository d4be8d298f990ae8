package topology

import (
	"encoding/json"
	"iter"
	"slices"
)

// NeutronDoc is an object of the OpenStack Neutron model as a store holds it:
// the resource type ("network", "port", ...) and the object's JSON document.
// Package topology/neutron defines the documents and translates them to
// native objects; a store keeps each document beside its translation so
// that one transaction writes both. Documents refer to each other inside
// their JSON only, so they have no [Ref]s and no name (Neutron names need
// not be unique).
type NeutronDoc struct {
	ID ID
	// Resource is the Neutron resource type, a non-empty word.
	Resource string
	// Doc is the object's JSON document, a JSON object.
	Doc json.RawMessage
}

// ObjectID returns the document's ID.
func (d *NeutronDoc) ObjectID() ID { return d.ID }

// ObjectKind returns KindNeutron.
func (d *NeutronDoc) ObjectKind() Kind { return KindNeutron }

// ObjectName returns "": Neutron names are not unique.
func (d *NeutronDoc) ObjectName() string { return "" }

// Clone returns a deep copy.
func (d *NeutronDoc) Clone() Object { c := *d; c.Doc = slices.Clone(d.Doc); return &c }

// Refs yields nothing: documents refer to each other inside Doc.
func (d *NeutronDoc) Refs() iter.Seq[Ref] { return refs() }

// DropRef does nothing: a document holds no Ref.
func (d *NeutronDoc) DropRef(ID) {}

// Validate checks the ID, the resource type and that Doc is a JSON object.
func (d *NeutronDoc) Validate() error { return validateObject(d) }

func (d *NeutronDoc) validate(ps *problems) {
	requireID(ps, d)
	if d.Resource == "" {
		ps.add(d, "resource", ErrInvalidField, "missing")
	}
	for _, c := range d.Resource {
		if !('a' <= c && c <= 'z' || c == '_' || c == '-') {
			ps.add(d, "resource", ErrInvalidField, "a resource type is made of a-z, _ and -")
			break
		}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(d.Doc, &m); err != nil || m == nil {
		ps.add(d, "doc", ErrInvalidField, "not a JSON object")
	}
}
