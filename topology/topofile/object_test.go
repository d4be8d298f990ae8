package topofile_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// resolverOf resolves references against the objects of top, by name or
// by UUID, as the REST API resolves them against a store.
func resolverOf(top *topology.Topology) func(topology.Kind, string) (topology.ID, bool) {
	return func(k topology.Kind, ref string) (topology.ID, bool) {
		id, err := topology.ParseID(ref)
		for o := range top.Objects() {
			if o.ObjectKind() != k {
				continue
			}
			if err == nil && o.ObjectID() == id || err != nil && o.ObjectName() == ref {
				return o.ObjectID(), true
			}
		}
		return topology.ID{}, false
	}
}

// TestObjectJSONRoundTrip writes every object of every topology file in
// its JSON form and decodes it back: the object must come back equal, and
// its keys must be among the keys ObjectKeys documents. Every rule is also
// written and read on its own.
func TestObjectJSONRoundTrip(t *testing.T) {
	kinds := map[topology.Kind]bool{}
	for _, file := range topologyFiles(t) {
		top, err := topofile.LoadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		resolve := resolverOf(top)
		for o := range top.Objects() {
			kinds[o.ObjectKind()] = true
			data, err := topofile.EncodeObject(o)
			if err != nil {
				t.Fatalf("%s: EncodeObject(%s %s): %v", file, o.ObjectKind(), o.ObjectID(), err)
			}
			var fields map[string]any
			if err := json.Unmarshal(data, &fields); err != nil {
				t.Fatalf("%s: EncodeObject wrote invalid JSON %s: %v", file, data, err)
			}
			allowed := topofile.ObjectKeys(o.ObjectKind())
			for k := range fields {
				if !slices.Contains(allowed, k) {
					t.Errorf("%s: %s has key %q, not among ObjectKeys %v", file, o.ObjectKind(), k, allowed)
				}
			}
			got, err := topofile.DecodeObject(o.ObjectKind(), data, topofile.ObjectOptions{Resolve: resolve})
			if err != nil {
				t.Fatalf("%s: DecodeObject(%s): %v", file, data, err)
			}
			if !reflect.DeepEqual(got.Object, o) {
				t.Errorf("%s: round trip of %s:\n got  %+v\n want %+v", file, data, got.Object, o)
			}
			if c, ok := o.(*topology.Chain); ok {
				for i := range c.Rules {
					rd, err := topofile.EncodeRule(&c.Rules[i])
					if err != nil {
						t.Fatal(err)
					}
					r, _, err := topofile.DecodeRule(rd, c.ID, i, topofile.ObjectOptions{Resolve: resolve})
					if err != nil {
						t.Fatalf("DecodeRule(%s): %v", rd, err)
					}
					if !reflect.DeepEqual(*r, c.Rules[i]) {
						t.Errorf("rule round trip of %s:\n got  %+v\n want %+v", rd, *r, c.Rules[i])
					}
				}
			}
		}
	}
	for _, k := range topology.Kinds() {
		if !kinds[k] {
			t.Errorf("no topology file has a %s: its JSON form is untested", k)
		}
	}
}

func TestDecodeObjectErrors(t *testing.T) {
	top := loadString(t, base)
	resolve := resolverOf(top)
	tests := []struct {
		name string
		kind topology.Kind
		body string
		// want lists every expected problem as "path: class".
		want []string
	}{
		{"malformed", topology.KindBridge, `{"name": "b",`, []string{": YAML syntax error"}},
		{"trailing data", topology.KindBridge, `{"name": "b"} {}`, []string{": YAML syntax error"}},
		{"not an object", topology.KindBridge, `["b"]`, []string{": wrong JSON type"}},
		{"null body", topology.KindBridge, `null`, []string{": wrong JSON type"}},
		{"unknown key", topology.KindBridge, `{"name": "b", "colour": "red"}`, []string{"colour: unknown key"}},
		{"nested key of a file", topology.KindBridge, `{"name": "b", "ports": []}`, []string{"ports: unknown key"}},
		{"duplicate key", topology.KindBridge, `{"name": "b", "name": "c"}`, []string{"name: duplicate key"}},
		{"string for a flag", topology.KindBridge, `{"name": "b", "admin-down": "true"}`, []string{"admin-down: wrong JSON type"}},
		{"string for a number", topology.KindBridge, `{"name": "b", "vni": "10001"}`, []string{"vni: wrong JSON type"}},
		{"fraction for a number", topology.KindBridge, `{"name": "b", "vni": 10001.5}`, []string{"vni: wrong JSON type"}},
		{"number for a string", topology.KindBridge, `{"name": 7}`, []string{"name: wrong JSON type", ": missing"}},
		{"null", topology.KindBridge, `{"name": "b", "inbound-filter": null}`, []string{"inbound-filter: wrong JSON type"}},
		{"object for a string", topology.KindHost, `{"name": {"a": 1}, "id": "x"}`, []string{"name: wrong JSON type", "id: bad value"}},
		{"array of numbers for addresses", topology.KindIPAddrGroup, `{"name": "g", "addrs": ["10.0.0.1", 5]}`, []string{"addrs[1]: wrong JSON type"}},
		{"null for a list", topology.KindIPAddrGroup, `{"name": "g", "addrs": null}`, []string{"addrs: wrong JSON type"}},
		{"negative", topology.KindRouter, `{"name": "r", "as-number": -1}`, []string{"as-number: bad value"}},
		{"too large", topology.KindRouter, `{"name": "r", "as-number": 99999999999999999999999}`, []string{"as-number: bad value"}},
		{"dangling name", topology.KindPort, `{"name": "p", "bridge": "nope"}`, []string{"bridge: not found"}},
		{"dangling UUID", topology.KindPort, `{"name": "p", "bridge": "2b0f7f0e-93a4-4c5e-9c3e-6c1b2f0b9d11"}`, []string{"bridge: not found"}},
		{"missing owner", topology.KindRoute, `{"dst": "10.0.0.0/8", "next-hop": "blackhole"}`, []string{": missing"}},
		{"bridge port with an address", topology.KindPort, `{"name": "p", "bridge": "net", "address": "10.0.0.5/24"}`, []string{"address: unknown key"}},
		{"every problem at once", topology.KindPort,
			`{"name": "p", "bridge": "net", "vlan": "x", "host": "nope", "admin-down": 1, "speed": 10}`,
			[]string{"speed: unknown key", "vlan: wrong JSON type", "admin-down: wrong JSON type", "host: not found"}},
		{"rule wrong types", topology.KindChain,
			`{"name": "c", "rules": [{"action": "accept", "tp-dst": 22.5}, {"masquerade": "true"}, {"rev-snat": "yes"}, {"action": "drop", "nw-src": 10}]}`,
			[]string{"rules[0].tp-dst: wrong JSON type", "rules[1].masquerade: bad value", "rules[2].rev-snat: bad value", "rules[3].nw-src: wrong JSON type"}},
		{"bad scope", topology.KindBridge, `{"name": "b", "scope": "a b"}`, []string{"scope: bad value"}},
		{"scope of a part", topology.KindPort, `{"name": "p", "bridge": "net", "scope": "s"}`, []string{"scope: unknown key"}},
		{"deep nesting", topology.KindBridge, `{"name": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, []string{": YAML syntax error"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := topofile.DecodeObject(tc.kind, []byte(tc.body), topofile.ObjectOptions{Resolve: resolve})
			if err == nil {
				t.Fatalf("DecodeObject(%s) = %+v, want an error", tc.body, got.Object)
			}
			var list topofile.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %v is not an ErrorList", err)
			}
			var have []string
			for _, e := range list {
				have = append(have, e.Path+": "+className(e.Err))
			}
			slices.Sort(have)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(have, want) {
				t.Errorf("problems of %s:\n got  %q\n want %q\n(%v)", tc.body, have, want, err)
			}
		})
	}
}

// className names the class of a decoding error.
func className(err error) string {
	for _, c := range []error{topofile.ErrWrongType, topofile.ErrSyntax, topofile.ErrUnknownKey, topofile.ErrDuplicateKey,
		topofile.ErrMissing, topofile.ErrNotFound, topofile.ErrBadValue} {
		if errors.Is(err, c) {
			return c.Error()
		}
	}
	return err.Error()
}

// TestDecodeObjectTypes checks what each key accepts in JSON: the same
// values as in files, with their JSON types.
func TestDecodeObjectTypes(t *testing.T) {
	top := loadString(t, base)
	resolve := resolverOf(top)
	body := `{"name": "c", "rules": [
		{"action": "accept", "tp-dst": 22, "nw-proto": 6, "ether-type": 2048},
		{"action": "accept", "tp-dst": "1024-65535", "nw-proto": "tcp", "ether-type": "0x88cc"},
		{"masquerade": true}, {"masquerade": "20000-29999"}, {"masquerade": 4000},
		{"rev-snat": true}, {"snat": ["10.0.0.1", "10.0.0.2:100-200"]},
		{"action": "drop", "no-vlan": true, "vlan": 10, "in-ports": ["vm1"], "not-nw-src": "10.0.0.0/8"}]}`
	d, err := topofile.DecodeObject(topology.KindChain, []byte(body), topofile.ObjectOptions{Resolve: resolve})
	if err != nil {
		t.Fatal(err)
	}
	c := d.Object.(*topology.Chain)
	if c.ID != topology.NameID(topology.KindChain, "c") {
		t.Errorf("chain ID %s is not derived from its name", c.ID)
	}
	r := c.Rules
	if r[0].Condition.TpDst.Value != (topology.PortRange{Start: 22, End: 22}) || r[0].Condition.NwProto.Value != 6 ||
		r[1].Condition.TpDst.Value != (topology.PortRange{Start: 1024, End: 65535}) || r[1].Condition.EtherType.Value != 0x88cc {
		t.Errorf("numbers and words decoded as %+v, %+v", r[0].Condition, r[1].Condition)
	}
	if !r[2].NAT.Masquerade || r[3].NAT.Targets[0].PortStart != 20000 || r[4].NAT.Targets[0].PortEnd != 4000 {
		t.Errorf("masquerade rules decoded as %+v %+v %+v", r[2].NAT, r[3].NAT, r[4].NAT)
	}
	if !r[5].NAT.Reverse || len(r[6].NAT.Targets) != 2 {
		t.Errorf("NAT rules decoded as %+v %+v", r[5].NAT, r[6].NAT)
	}
	vm1 := portByName(t, top, "vm1")
	if !r[7].Condition.NoVLAN.Value || r[7].Condition.InPorts.Value[0] != vm1.ID || !r[7].Condition.NwSrc.Invert {
		t.Errorf("condition decoded as %+v", r[7].Condition)
	}
}

func TestDecodeObjectIDs(t *testing.T) {
	fixed := topology.MustParseID("6f1c9d0e-3b2a-4c5d-8e7f-0a1b2c3d4e5f")
	fresh := topology.MustParseID("0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b")
	newID := func() topology.ID { return fresh }
	net := topology.NameID(topology.KindBridge, "net")
	resolve := func(k topology.Kind, ref string) (topology.ID, bool) {
		return net, k == topology.KindBridge && (ref == "net" || ref == net.String())
	}
	tests := []struct {
		name string
		kind topology.Kind
		body string
		opts topofile.ObjectOptions
		want topology.ID
	}{
		{"derived from the name", topology.KindBridge, `{"name": "b"}`, topofile.ObjectOptions{NewID: newID}, topology.NameID(topology.KindBridge, "b")},
		{"explicit", topology.KindBridge, `{"name": "b", "id": "` + fixed.String() + `"}`, topofile.ObjectOptions{NewID: newID}, fixed},
		{"from the URL", topology.KindBridge, `{"name": "b"}`, topofile.ObjectOptions{ID: fixed, NewID: newID}, fixed},
		{"repeated", topology.KindBridge, `{"id": "` + fixed.String() + `"}`, topofile.ObjectOptions{ID: fixed}, fixed},
		{"unnamed gets a new one", topology.KindRoute, `{"router": "r", "dst": "10.0.0.0/8", "next-hop": "blackhole"}`,
			topofile.ObjectOptions{NewID: newID, Resolve: func(topology.Kind, string) (topology.ID, bool) { return fixed, true }}, fresh},
		{"nameless bridge gets a new one", topology.KindBridge, `{}`, topofile.ObjectOptions{NewID: newID}, fresh},
		{"port on a bridge by UUID", topology.KindPort, `{"name": "p", "bridge": "` + net.String() + `"}`, topofile.ObjectOptions{Resolve: resolve}, topology.NameID(topology.KindPort, "p")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := topofile.DecodeObject(tc.kind, []byte(tc.body), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Object.ObjectID(); got != tc.want {
				t.Errorf("ID = %s, want %s", got, tc.want)
			}
		})
	}
	_, err := topofile.DecodeObject(topology.KindBridge, []byte(`{"id": "`+fresh.String()+`"}`), topofile.ObjectOptions{ID: fixed})
	if !errors.Is(err, topofile.ErrBadValue) || !strings.Contains(err.Error(), "id") {
		t.Errorf("an id other than the URL's: %v, want a bad value at id", err)
	}
	if _, err := topofile.DecodeObject(topology.KindBridge, []byte(`{}`), topofile.ObjectOptions{}); !errors.Is(err, topofile.ErrMissing) {
		t.Errorf("no name, no id, no NewID: %v, want ErrMissing", err)
	}
}

// TestDecodedLocate checks that validation problems of a decoded object
// are placed at the JSON keys they come from.
func TestDecodedLocate(t *testing.T) {
	top := loadString(t, base)
	resolve := resolverOf(top)
	tests := []struct {
		kind topology.Kind
		body string
		want []string
	}{
		{topology.KindPort, `{"name": "p", "bridge": "net", "vlan": 5000}`, []string{"vlan"}},
		{topology.KindChain, `{"name": "c", "rules": [{"action": "accept"}, {"snat": "10.0.0.9-10.0.0.1"}]}`, []string{"rules[1].snat", "rules[1].snat"}},
		{topology.KindRoute, `{"router": "r", "dst": "10.0.0.0/8", "port": "r-net", "gateway": "fe80::1"}`, []string{"gateway"}},
		{topology.KindPort, `{"name": "p", "router": "r", "address": "10.9.0.1", "subnets": ["10.0.0.0/24"]}`, []string{"address"}},
	}
	for _, tc := range tests {
		d, err := topofile.DecodeObject(tc.kind, []byte(tc.body), topofile.ObjectOptions{Resolve: resolve})
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		var ve *topology.ValidationError
		if !errors.As(d.Object.Validate(), &ve) {
			t.Fatalf("%s: no validation problem", tc.body)
		}
		var got []string
		for _, p := range ve.Problems {
			got = append(got, d.Locate(p))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: problems %v placed at %q, want %q", tc.body, ve, got, tc.want)
		}
	}
	rule := `{"action": "accept", "tp-src": "200-100"}`
	chain := topology.NameID(topology.KindChain, "c")
	r, d, err := topofile.DecodeRule([]byte(rule), chain, 3, topofile.ObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := &topology.Chain{ID: chain, Name: "c", Rules: make([]topology.Rule, 4)}
	for i := range 3 {
		c.Rules[i] = topology.Rule{ID: topofile.RuleID(chain, i), Action: topology.ActionAccept}
	}
	c.Rules[3] = *r
	var ve *topology.ValidationError
	if !errors.As(c.Validate(), &ve) || len(ve.Problems) != 1 {
		t.Fatalf("chain with a bad rule: %v", c.Validate())
	}
	if got := d.Locate(ve.Problems[0]); got != "tp-src" {
		t.Errorf("problem %v of the rule placed at %q, want tp-src", ve.Problems[0], got)
	}
}

// FuzzDecodeObject feeds arbitrary JSON to DecodeObject for every kind: it
// never panics; it fails with a non-empty ErrorList, or returns an object
// whose JSON form decodes back to it.
func FuzzDecodeObject(f *testing.F) {
	f.Add(uint8(topology.KindBridge), []byte(`{"name": "b", "vni": 10001, "admin-down": true}`))
	f.Add(uint8(topology.KindPort), []byte(`{"name": "p", "router": "r", "address": "10.0.0.1/24", "mac": "02:00:00:00:00:01"}`))
	f.Add(uint8(topology.KindChain), []byte(`{"name": "c", "rules": [{"action": "accept", "tp-dst": 22}, {"snat": "1.2.3.4:100-200"}]}`))
	f.Add(uint8(topology.KindTunnelZone), []byte(`{"name": "z", "type": "vxlan", "members": {"h": "192.0.2.1"}}`))
	f.Add(uint8(topology.KindDHCPSubnet), []byte(`{"bridge": "net", "subnet": "10.0.0.0/24", "hosts": [{"mac": "02:00:00:00:00:02", "addr": "10.0.0.2"}]}`))
	f.Add(uint8(topology.KindRoute), []byte(`{"router": "r", "dst": "0.0.0.0/0", "port": "r-net", "gateway": "10.0.0.254", "weight": 10}`))
	f.Add(uint8(topology.KindHost), []byte(`{"name": "h", "flooding-proxy-weight": 2} x`))
	top := &topology.Topology{
		Bridges: []topology.Bridge{{ID: topology.NameID(topology.KindBridge, "net"), Name: "net"}},
		Routers: []topology.Router{{ID: topology.NameID(topology.KindRouter, "r"), Name: "r"}},
		Hosts:   []topology.Host{{ID: topology.NameID(topology.KindHost, "h"), Name: "h"}},
		Ports:   []topology.Port{{ID: topology.NameID(topology.KindPort, "r-net"), Name: "r-net", Router: topology.NameID(topology.KindRouter, "r")}},
	}
	resolve := resolverOf(top)
	newID := func() topology.ID { return topology.MustParseID("0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b") }
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		kinds := topology.Kinds()
		k := kinds[int(kind)%len(kinds)]
		d, err := topofile.DecodeObject(k, data, topofile.ObjectOptions{Resolve: resolve, NewID: newID})
		if err != nil {
			var list topofile.ErrorList
			if !errors.As(err, &list) || len(list) == 0 || d != nil {
				t.Fatalf("DecodeObject: %v (%T), %v", err, err, d)
			}
			for _, e := range list {
				if e == nil || e.Err == nil {
					t.Fatalf("malformed error in %v", list)
				}
			}
			return
		}
		if d.Object.ObjectKind() != k {
			t.Fatalf("decoded a %s as a %s", d.Object.ObjectKind(), k)
		}
		if d.Object.Validate() != nil {
			return // the store refuses it; its JSON form need not exist
		}
		out, err := topofile.EncodeObject(d.Object)
		if err != nil {
			t.Fatalf("EncodeObject of a valid decoded object: %v", err)
		}
		back, err := topofile.DecodeObject(k, out, topofile.ObjectOptions{Resolve: resolve})
		if err != nil {
			t.Fatalf("DecodeObject(EncodeObject(%s)) = %v", out, err)
		}
		if !reflect.DeepEqual(back.Object, d.Object) {
			t.Fatalf("round trip of %s:\n got  %+v\n want %+v", out, back.Object, d.Object)
		}
	})
}

// The kinds a file holds at its top level carry their scope in JSON; a
// file cannot name one (it is applied under a scope).
func TestObjectScope(t *testing.T) {
	d, err := topofile.DecodeObject(topology.KindBridge, []byte(`{"name": "b", "scope": "tenant-a"}`), topofile.ObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b := d.Object.(*topology.Bridge); b.Scope != "tenant-a" {
		t.Fatalf("scope %q, want tenant-a", b.Scope)
	}
	out, err := topofile.EncodeObject(d.Object)
	if err != nil || !strings.Contains(string(out), `"scope":"tenant-a"`) {
		t.Fatalf("EncodeObject = %s, %v: want the scope", out, err)
	}
	if _, err := topofile.Load(strings.NewReader("bridges: [{name: b, scope: s}]\n"), "f.yaml"); !errors.Is(err, topofile.ErrUnknownKey) {
		t.Fatalf("a file naming a scope: %v, want ErrUnknownKey", err)
	}
	var buf bytes.Buffer
	if err := topofile.Write(&buf, &topology.Topology{Bridges: []topology.Bridge{{ID: topology.NameID(topology.KindBridge, "b"), Name: "b", Scope: "s"}}}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "scope") {
		t.Fatalf("Write wrote the scope:\n%s", buf.String())
	}
}
