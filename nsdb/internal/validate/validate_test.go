package validate

import (
	"errors"
	"slices"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// invalid fails the test unless err wraps nsdb.ErrInvalid.
func invalid(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, nsdb.ErrInvalid) {
		t.Errorf("%s: got %v, want ErrInvalid", what, err)
	}
}

func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

func TestKinds(t *testing.T) {
	ok(t, "bridge", Kind(topology.KindBridge))
	invalid(t, "kind 0", Kind(0))
	invalid(t, "kind 255", Kind(255))

	all, err := Kinds(nil)
	ok(t, "no kinds", err)
	if !slices.Equal(all, topology.Kinds()) {
		t.Errorf("no kinds gives %v, want every kind", all)
	}
	got, err := Kinds([]topology.Kind{topology.KindRouter, topology.KindBridge, topology.KindRouter})
	ok(t, "kinds", err)
	want := []topology.Kind{topology.KindBridge, topology.KindRouter}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Kinds gives %v, want %v sorted without duplicates", got, want)
	}
	_, err = Kinds([]topology.Kind{topology.KindBridge, 0})
	invalid(t, "a bad kind among good ones", err)
}

func TestKeySpecAndValue(t *testing.T) {
	for _, spec := range []nsdb.KeySpec{nsdb.KeyHostAlive(), nsdb.KeyPortRoutes(), nsdb.KeyVTEPManager()} {
		ok(t, spec.String(), KeySpec(spec))
	}
	invalid(t, "no kind", KeySpec(nsdb.KeySpec{Name: "alive", Type: nsdb.KeyLastWriteWins}))
	invalid(t, "bad name", KeySpec(nsdb.KeySpec{Kind: topology.KindHost, Name: "a/b", Type: nsdb.KeyLastWriteWins}))
	invalid(t, "no type", KeySpec(nsdb.KeySpec{Kind: topology.KindHost, Name: "alive"}))
	invalid(t, "unknown type", KeySpec(nsdb.KeySpec{Kind: topology.KindHost, Name: "alive", Type: nsdb.KeyMultiple + 1}))
	ok(t, "write", KeyWrite(nsdb.KeyHostAlive(), "x"))
	invalid(t, "empty value", KeyWrite(nsdb.KeyHostAlive(), ""))
	invalid(t, "bad spec", KeyWrite(nsdb.KeySpec{Kind: topology.KindHost, Name: "alive"}, "x"))
}

func TestNamesScopesAndVLANs(t *testing.T) {
	ok(t, "election name", Name("election", "vxgw"))
	invalid(t, "empty name", Name("sequence", ""))
	invalid(t, "name with a slash", Name("election", "a/b"))

	segs, err := Scope("nat/dev/10.0.0.1")
	ok(t, "scope", err)
	if !slices.Equal(segs, []string{"nat", "dev", "10.0.0.1"}) {
		t.Errorf("segments %v", segs)
	}
	for _, s := range []string{"", "nat//x", "nat/", "/nat", "nat/.."} {
		_, err := Scope(s)
		invalid(t, "scope "+s, err)
	}

	ok(t, "VLAN 0", VLAN(0))
	ok(t, "VLAN 4094", VLAN(4094))
	invalid(t, "VLAN 4095", VLAN(4095))
}
