package topofile

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/hivenet/hivenet/topology"
)

// A file may be one part of a larger topology — one scope of a store
// holding others — and name objects it does not hold: LoadWith resolves
// such references among the objects given as outside, and validates the
// file's objects together with them; WriteWith writes references to them
// by name.

// LoadOptions configure LoadWith.
type LoadOptions struct {
	// Outside holds the objects the file may refer to without holding
	// them, by name or UUID (the file's own objects come first). The file's
	// objects are validated together with them, and the problems of the
	// file's objects are reported. nil: the file stands alone, as in Load.
	Outside *topology.Topology
}

// LoadWith is Load with options.
func LoadWith(r io.Reader, filename string, opts LoadOptions) (*topology.Topology, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("topofile: reading %s: %w", filename, err)
	}
	return loadWith(data, filename, opts.Outside)
}

// outsideIndex resolves names and UUIDs among outside objects.
type outsideIndex struct {
	t     *topology.Topology
	names map[topology.Kind]map[string]topology.ID
	ids   map[topology.Kind]map[topology.ID]bool
}

func newOutsideIndex(t *topology.Topology) *outsideIndex {
	x := &outsideIndex{t: t, names: map[topology.Kind]map[string]topology.ID{}, ids: map[topology.Kind]map[topology.ID]bool{}}
	dup := map[topology.Kind]map[string]bool{}
	for o := range t.Objects() {
		k, id, n := o.ObjectKind(), o.ObjectID(), o.ObjectName()
		if x.ids[k] == nil {
			x.ids[k], x.names[k], dup[k] = map[topology.ID]bool{}, map[string]topology.ID{}, map[string]bool{}
		}
		x.ids[k][id] = true
		if n == "" {
			continue
		}
		if _, seen := x.names[k][n]; seen || dup[k][n] {
			delete(x.names[k], n) // ambiguous: only its UUID names it
			dup[k][n] = true
			continue
		}
		x.names[k][n] = id
	}
	return x
}

func (x *outsideIndex) resolve(k topology.Kind, s string) (topology.ID, bool) {
	if id, ok := x.names[k][s]; ok {
		return id, true
	}
	id, err := topology.ParseID(s)
	return id, err == nil && x.ids[k][id]
}

// validate validates the decoded topology, with the outside objects if
// there are any, keeping the problems of the file's own objects.
func (d *decoder) validate() error {
	if d.out == nil {
		return d.t.Validate()
	}
	own := map[topology.ID]bool{}
	for o := range d.t.Objects() {
		own[o.ObjectID()] = true
	}
	// The other side of a peering with an outside port: the store sets
	// it when the file's port is written, provided it is free.
	peerOf := map[topology.ID]topology.ID{}
	for i := range d.t.Ports {
		if p := &d.t.Ports[i]; !p.Peer.IsZero() && !own[p.Peer] {
			peerOf[p.Peer] = p.ID
		}
	}
	// Outside objects first: validation blames the later of two objects
	// that clash (a name, an interface binding), which is then the file's.
	merged := &topology.Topology{}
	for o := range d.out.t.Objects() {
		if own[o.ObjectID()] {
			continue
		}
		if p, ok := o.(*topology.Port); ok && p.Peer.IsZero() && !peerOf[p.ID].IsZero() {
			c := *p
			c.Peer = peerOf[p.ID]
			o = &c
		}
		merged.Add(o)
	}
	for o := range d.t.Objects() {
		merged.Add(o)
	}
	err := merged.Validate()
	var ve *topology.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var kept []*topology.Problem
	for _, p := range ve.Problems {
		if own[p.ID] {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return &topology.ValidationError{Problems: kept}
}

// WriteOptions configure WriteWith.
type WriteOptions struct {
	// Outside holds objects t refers to without holding them: references
	// to them are written by name where the name is unambiguous (the file
	// then loads with LoadOptions.Outside), else by UUID.
	Outside *topology.Topology
}

// WriteWith is Write with options.
func WriteWith(w io.Writer, t *topology.Topology, opts WriteOptions) error {
	var b bytes.Buffer
	if err := write(&b, t, opts.Outside); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// nameOutside adds to the writer's names those of outside objects that
// name them unambiguously: unique among the outside objects of their kind
// and not the name of an object of t.
func (w *writer) nameOutside(out *topology.Topology) {
	x := newOutsideIndex(out)
	taken := map[topology.Kind]map[string]bool{}
	for o := range w.t.Objects() {
		if n := o.ObjectName(); n != "" {
			if taken[o.ObjectKind()] == nil {
				taken[o.ObjectKind()] = map[string]bool{}
			}
			taken[o.ObjectKind()][n] = true
		}
	}
	for k, names := range x.names {
		for n, id := range names {
			if taken[k][n] || w.kinds[id] != 0 {
				continue
			}
			if w.names[k] == nil {
				w.names[k] = map[topology.ID]string{}
			}
			w.names[k][id] = n
		}
	}
}
