// Package validate checks the arguments of nsdb calls — kinds, state key
// specs and values, election, sequence and block scope names, VLANs — the
// same way in every backend, before anything is read or written. Every
// error it returns wraps nsdb.ErrInvalid.
//
// It lives in nsdb/internal beside txn because only the backends use it:
// callers see its errors through the nsdb interfaces.
package validate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Kind checks that k is a kind of topology object.
func Kind(k topology.Kind) error {
	if topology.New(k) == nil {
		return fmt.Errorf("%w: invalid kind %s", nsdb.ErrInvalid, k)
	}
	return nil
}

// Kinds checks the kinds of nsdb.Watcher.WatchKinds and returns them sorted
// and without duplicates; no kinds means every kind.
func Kinds(kinds []topology.Kind) ([]topology.Kind, error) {
	if len(kinds) == 0 {
		kinds = topology.Kinds()
	}
	for _, k := range kinds {
		if err := Kind(k); err != nil {
			return nil, err
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(kinds))), nil
}

// KeySpec checks a state key's spec: a kind of object, a valid name and a
// known key type.
func KeySpec(spec nsdb.KeySpec) error {
	if topology.New(spec.Kind) == nil || !nsdb.ValidName(spec.Name) ||
		spec.Type < nsdb.KeyFirstWriteWins || spec.Type > nsdb.KeyMultiple {
		return fmt.Errorf("%w: state key %s (%s)", nsdb.ErrInvalid, spec, spec.Type)
	}
	return nil
}

// KeyWrite checks the arguments of nsdb.StateKeys.Set: the key's spec, as
// KeySpec does, and the value, which must not be empty.
func KeyWrite(spec nsdb.KeySpec, value string) error {
	if err := KeySpec(spec); err != nil {
		return err
	}
	if value == "" {
		return fmt.Errorf("%w: empty state key value", nsdb.ErrInvalid)
	}
	return nil
}

// Name checks the name of an election or a sequence (what says which) with
// nsdb.ValidName.
func Name(what, name string) error {
	if !nsdb.ValidName(name) {
		return fmt.Errorf("%w: %s name %q", nsdb.ErrInvalid, what, name)
	}
	return nil
}

// Scope checks a block scope (nsdb.Blocks) — '/'-separated segments, each
// satisfying nsdb.ValidName — and returns its segments.
func Scope(scope string) ([]string, error) {
	segs := strings.Split(scope, "/")
	for _, s := range segs {
		if !nsdb.ValidName(s) {
			return nil, fmt.Errorf("%w: block scope %q", nsdb.ErrInvalid, scope)
		}
	}
	return segs, nil
}

// VLAN checks the VLAN of a MAC table: 0 (untagged) to 4094.
func VLAN(vlan uint16) error {
	if vlan > 4094 {
		return fmt.Errorf("%w: VLAN %d", nsdb.ErrInvalid, vlan)
	}
	return nil
}
