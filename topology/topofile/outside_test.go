package topofile_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// outsideTopology is what a file's scope may refer to: a host, a chain,
// and a router with a free port and a peered one.
const outsideTopology = `
hosts: [{name: h1}]
chains: [{name: sg, rules: [{action: drop}]}]
routers:
  - name: r-out
    ports:
      - {name: up, address: 10.9.0.1/24}
      - {name: taken, address: 10.8.0.1/24, peer: other}
bridges:
  - name: b-out
    ports:
      - {name: other}
      - {name: bound, host: h1, interface: tap-bound}
`

const partFile = `
bridges:
  - name: b
    ports:
      - {name: p, host: h1, interface: tap-p, outbound-filter: sg}
      - {name: l, peer: up}
`

// A file may name objects outside it when they are given: it then loads,
// refers to them by ID, and writes back with their names.
func TestLoadWithOutside(t *testing.T) {
	out := loadString(t, outsideTopology)
	if _, err := topofile.Load(strings.NewReader(partFile), "part.yaml"); !errors.Is(err, topofile.ErrNotFound) {
		t.Fatalf("alone, the file's references dangle: %v", err)
	}
	top, err := topofile.LoadWith(strings.NewReader(partFile), "part.yaml", topofile.LoadOptions{Outside: out})
	if err != nil {
		t.Fatal(err)
	}
	if top.Len() != 3 {
		t.Fatalf("the file's topology has %d objects, want its own 3", top.Len())
	}
	p, l := top.Ports[0], top.Ports[1]
	if p.Host != topology.NameID(topology.KindHost, "h1") || p.OutboundFilter != topology.NameID(topology.KindChain, "sg") ||
		l.Peer != topology.NameID(topology.KindPort, "up") {
		t.Errorf("references outside: %+v %+v", p, l)
	}
	var b bytes.Buffer
	if err := topofile.WriteWith(&b, top, topofile.WriteOptions{Outside: out}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"host: h1", "outbound-filter: sg", "peer: up"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("WriteWith does not name %q:\n%s", want, b.String())
		}
	}
	back, err := topofile.LoadWith(&b, "back.yaml", topofile.LoadOptions{Outside: out})
	if err != nil || !reflect.DeepEqual(back, top) {
		t.Errorf("LoadWith(WriteWith(t)) != t: %v", err)
	}

	// The file's objects are validated with the outside ones.
	for _, c := range []struct {
		name, file string
		want       error
		field      string
	}{
		{"a binding taken outside", "bridges: [{name: b, ports: [{name: p, host: h1, interface: tap-bound}]}]\n",
			topology.ErrDuplicateBinding, "bridges[0].ports[0]"},
		{"a peer taken outside", "bridges: [{name: b, ports: [{name: p, peer: taken}]}]\n", nil, "bridges[0].ports[0].peer"},
		{"a name taken outside", "chains: [{name: sg, id: 0b0e7f0e-93a4-4c5e-9c3e-6c1b2f0b9d11}]\n",
			topology.ErrDuplicateName, "chains[0]"},
		{"an unknown name", "bridges: [{name: b, ports: [{name: p, host: h9}]}]\n", topofile.ErrNotFound, "bridges[0].ports[0].host"},
	} {
		_, err := topofile.LoadWith(strings.NewReader(c.file), "f.yaml", topofile.LoadOptions{Outside: out})
		var list topofile.ErrorList
		if !errors.As(err, &list) || (c.want != nil && !errors.Is(err, c.want)) || !strings.HasPrefix(list[0].Path, c.field) {
			t.Errorf("%s: %v, want %v at %s", c.name, err, c.want, c.field)
		}
	}
}
