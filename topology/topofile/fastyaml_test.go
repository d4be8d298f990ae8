package topofile_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/hivenet/hivenet/internal/topogen"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

func written(tb testing.TB, t *topology.Topology) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := topofile.Write(&buf, t); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// TestFastParseAsLibrary: on the files Write gives for large deployments
// every piece takes the fast parse, and on every piece of every file it
// takes, the fast parse builds the library's nodes.
func TestFastParseAsLibrary(t *testing.T) {
	inputs := map[string][]byte{
		"flat":  written(t, topogen.Flat(30, 100)),
		"cloud": written(t, topogen.Generate(3000)),
	}
	for _, f := range topologyFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = data
	}
	for name, data := range inputs {
		texts, lines, ok := topofile.SplitPieces(data)
		if !ok {
			t.Fatalf("%s: does not split", name)
		}
		fast := 0
		for i, text := range texts {
			want, ok := topofile.LibraryParse(text, lines[i])
			if !ok {
				t.Fatalf("%s: piece %d does not parse", name, i)
			}
			got, ok := topofile.FastParse(text, lines[i])
			if !ok {
				continue
			}
			fast++
			if len(got) != len(want) {
				t.Fatalf("%s: piece %d: %d items, want %d", name, i, len(got), len(want))
			}
			for j := range got {
				if d := topofile.SameNodes(want[j], got[j], "item"); d != "" {
					t.Fatalf("%s: piece %d: %s", name, i, d)
				}
			}
		}
		if (name == "flat" || name == "cloud") && fast != len(texts) {
			t.Errorf("%s: %d of %d pieces took the fast parse", name, fast, len(texts))
		}
		t.Logf("%s: %d of %d pieces fast", name, fast, len(texts))
	}
}

// FuzzFastParse: whatever the input, a piece the fast parse takes gives
// the library's nodes.
func FuzzFastParse(f *testing.F) {
	f.Add(written(f, topogen.Generate(100)))
	f.Add([]byte("- {id: 5a940216-11c0-55f2-9c7c-ae719dbe2f79, action: accept, tp-dst: 22}\n- [a, 1, true]\n- name: x # c\n  mac: 02:01:00:00:00:01\n  list:\n  - 10.0.0.0/24\n  - {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := topofile.FastParse(data, 1)
		if !ok {
			return
		}
		want, ok := topofile.LibraryParse(data, 1)
		if !ok {
			t.Fatalf("the fast parse took what the library refuses:\n%s", data)
		}
		if len(got) != len(want) {
			t.Fatalf("%d items, the library %d:\n%s", len(got), len(want), data)
		}
		for j := range got {
			if d := topofile.SameNodes(want[j], got[j], "item"); d != "" {
				t.Fatalf("%s\n%s", d, data)
			}
		}
	})
}
