package topofile_test

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/hivenet/hivenet/topology/topofile"
)

// FuzzLoadTopology feeds arbitrary bytes to Load. Load must never panic; it
// either fails with an ErrorList of located errors, or returns a valid
// topology that Write can write and that loads back equal.
func FuzzLoadTopology(f *testing.F) {
	for _, file := range topologyFiles(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("hosts: [{name: a}, {name: a}]\n"))
	f.Add([]byte("chains: [{name: c, rules: [{jump: c}]}]\n"))
	f.Add([]byte("bridges: [{name: b, ports: [{name: p, peer: p}]}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		top, err := topofile.Load(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			var list topofile.ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %v is not a non-empty ErrorList", err)
			}
			for _, e := range list {
				if e == nil || e.Err == nil || e.File != "fuzz.yaml" {
					t.Fatalf("malformed error %#v", e)
				}
			}
			if top != nil {
				t.Fatal("topology returned with an error")
			}
			return
		}
		if err := top.Validate(); err != nil {
			t.Fatalf("Load returned an invalid topology: %v", err)
		}
		var buf bytes.Buffer
		if err := topofile.Write(&buf, top); err != nil {
			t.Fatalf("Write of a loaded topology: %v", err)
		}
		back, err := topofile.Load(bytes.NewReader(buf.Bytes()), "fuzz.yaml")
		if err != nil {
			t.Fatalf("Load(Write(t)): %v\n%s", err, buf.Bytes())
		}
		if !reflect.DeepEqual(top, back) {
			t.Fatalf("Load(Write(t)) != t:\n%s", buf.Bytes())
		}
	})
}
