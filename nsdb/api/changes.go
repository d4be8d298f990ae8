package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// ApplyResult is the answer of PUT /v1/topology: what the apply changed
// (or, with dry-run, would change).
type ApplyResult struct {
	// Scope is the scope applied ("" for every object).
	Scope  string `json:"scope"`
	DryRun bool   `json:"dry-run"`
	// Version is the revision of the apply's transaction; absent for a
	// dry run or when nothing changed.
	Version nsdb.Version `json:"version,omitempty"`
	// Created, Updated, Deleted and Unchanged count objects.
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Deleted   int `json:"deleted"`
	Unchanged int `json:"unchanged"`
	// Changes lists every object created, updated or deleted, in the
	// transaction's order.
	Changes []Change `json:"changes"`
}

// Change is one object an apply creates, updates or deletes.
type Change struct {
	// Op is create, update or delete.
	Op   string      `json:"op"`
	Kind string      `json:"kind"`
	ID   topology.ID `json:"id"`
	Name string      `json:"name,omitempty"`
	// Owner names the object a part belongs to ("router r1"), for parts
	// such as routes that have no name.
	Owner string `json:"owner,omitempty"`
	// Consequence marks a change the file does not make itself but the
	// NSDB's bindings do: a reference cleared or an object deleted with
	// what it refers to, the other side of a peering.
	Consequence bool `json:"consequence,omitempty"`
	// Fields are the keys of the object's JSON form that differ (every key
	// of a created or deleted object), references given by name.
	Fields []FieldChange `json:"fields,omitempty"`
}

// FieldChange is one key of an object's JSON form, before and after: Old
// is absent for a key the object gains, New for one it loses. A list of
// objects (a chain's rules) changes element by element: "rules[2]".
type FieldChange struct {
	Field string `json:"field"`
	Old   any    `json:"old,omitempty"`
	New   any    `json:"new,omitempty"`
}

// result describes the plan as an ApplyResult.
func (p *plan) result(dryRun bool, version nsdb.Version) ApplyResult {
	res := ApplyResult{Scope: p.scope, DryRun: dryRun, Version: version, Unchanged: p.unchanged, Changes: []Change{}}
	for _, c := range p.changes {
		o := c.after
		switch c.op {
		case "create":
			res.Created++
		case "update":
			res.Updated++
		case "delete":
			res.Deleted++
			o = c.before
		}
		ch := Change{Op: c.op, Kind: o.ObjectKind().String(), ID: o.ObjectID(), Name: o.ObjectName(), Consequence: c.consequence}
		if k, id, ok := ownerOf(o); ok {
			ch.Owner = k.String() + " " + p.nameOf(id)
		}
		ch.Fields = fieldChanges(p.fields(c.before), p.fields(c.after))
		res.Changes = append(res.Changes, ch)
	}
	return res
}

func (p *plan) nameOf(id topology.ID) string {
	if n, ok := p.names[id]; ok {
		return n
	}
	return id.String()
}

// fields returns o's JSON form as a map without its id, with references
// by name (nil for no object).
func (p *plan) fields(o topology.Object) map[string]any {
	if o == nil {
		return nil
	}
	b, err := topofile.AppendObject(nil, o)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	delete(m, "id")
	for k, v := range m {
		m[k] = p.named(v)
	}
	return m
}

// named replaces the UUIDs in v that name known objects by their names,
// and drops the ids of nested objects (rules).
func (p *plan) named(v any) any {
	switch x := v.(type) {
	case string:
		if id, err := topology.ParseID(x); err == nil {
			if n, ok := p.names[id]; ok {
				return n
			}
		}
	case []any:
		for i := range x {
			x[i] = p.named(x[i])
		}
	case map[string]any:
		delete(x, "id")
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[p.named(k).(string)] = p.named(e) // a tunnel zone's members are keyed by host
		}
		return m
	}
	return v
}

// fieldChanges lists the keys whose values differ between before and
// after, in key order; lists of objects are compared element by element.
func fieldChanges(before, after map[string]any) []FieldChange {
	keys := make([]string, 0, len(before)+len(after))
	for k := range before {
		keys = append(keys, k)
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []FieldChange
	for _, k := range keys {
		old, nw := before[k], after[k]
		if reflect.DeepEqual(old, nw) {
			continue
		}
		ol, okO := objectList(old)
		nl, okN := objectList(nw)
		if !okO || !okN {
			out = append(out, FieldChange{Field: k, Old: old, New: nw})
			continue
		}
		for i := range max(len(ol), len(nl)) {
			var a, b any
			if i < len(ol) {
				a = ol[i]
			}
			if i < len(nl) {
				b = nl[i]
			}
			if !reflect.DeepEqual(a, b) {
				out = append(out, FieldChange{Field: k + "[" + strconv.Itoa(i) + "]", Old: a, New: b})
			}
		}
	}
	return out
}

// objectList returns v as a list of objects: absent (nil) counts as an
// empty one.
func objectList(v any) ([]any, bool) {
	if v == nil {
		return nil, true
	}
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	for _, e := range l {
		if _, ok := e.(map[string]any); !ok {
			return nil, false
		}
	}
	return l, true
}
