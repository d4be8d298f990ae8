package topofile

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// splitInputs are documents that split, with the shapes a piece boundary
// must survive: comments, blank lines, block scalars, items at column 0,
// nested lists, and lists long enough for several pieces.
func splitInputs(t testing.TB) map[string][]byte {
	in := map[string][]byte{}
	files, err := filepath.Glob("../../examples/topologies/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example topologies: %v", err)
	}
	files = append(files, "testdata/all-features.yaml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in[filepath.Base(f)] = data
	}
	var b strings.Builder
	b.WriteString("# many bridges\nhosts:\n- name: h1\n- name: h2\n\n")
	b.WriteString("bridges:\n")
	for i := range 3000 {
		fmt.Fprintf(&b, "  # bridge %d\n  - name: b%d\n    ports:\n    - name: p%d\n      host: h1\n      interface: |\n        tap%d\n", i, i, i, i)
		fmt.Fprintf(&b, "      port-groups: [g]\n    -\n      name: q%d\n\n", i)
	}
	b.WriteString("port-groups:\n  - {name: g}\n")
	in["generated"] = []byte(b.String())
	return in
}

// TestSplitParsesAsWhole: a document parsed in pieces is, node for node
// and at the same lines and columns, the document parsed whole; and the
// ports are counted.
func TestSplitParsesAsWhole(t *testing.T) {
	for name, data := range splitInputs(t) {
		t.Run(name, func(t *testing.T) {
			whole, err := parseYAML(data)
			if err != nil {
				t.Fatal(err)
			}
			lists, ports, ok := splitTop(data)
			if !ok {
				t.Fatal("the document did not split")
			}
			pieces := 0
			for _, l := range lists {
				pieces += len(l.pieces)
			}
			if name == "generated" && pieces < 10 {
				t.Fatalf("%d pieces, want several", pieces)
			}
			doc, ok := wholeDocument(lists, startSplit(lists, ports))
			if !ok {
				t.Fatal("a piece failed to parse")
			}
			if diff := sameNodes(whole.Content[0], doc.Content[0], "$"); diff != "" {
				t.Fatal(diff)
			}
			if want := countPorts(whole.Content[0]); ports != want {
				t.Errorf("counted %d ports, want %d", ports, want)
			}
		})
	}
}

// wholeDocument waits for every piece of sp and assembles the document
// the whole file parses to, its keys in file order; ok is false when a
// piece failed to parse. The lists are read in the decoder's order, the
// order they are parsed in.
func wholeDocument(lists []*topList, sp *split) (*yaml.Node, bool) {
	defer sp.close()
	root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: lists[0].line, Column: 1}
	seqs := map[string]*yaml.Node{}
	for _, l := range lists {
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: l.key, Line: l.line, Column: 1}
		seqs[l.key] = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: l.pieces[0].line, Column: l.indent + 1}
		root.Content = append(root.Content, key, seqs[l.key])
	}
	for _, sec := range sections {
		if seq := seqs[sec.key]; seq != nil && !sp.items(sec.key, func(n *yaml.Node) { seq.Content = append(seq.Content, n) }) {
			return nil, false
		}
	}
	return &yaml.Node{Kind: yaml.DocumentNode, Line: root.Line, Column: 1, Content: []*yaml.Node{root}}, true
}

// sameNodes compares two trees, comments aside (the decoder reads none).
func sameNodes(a, b *yaml.Node, path string) string {
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || a.Style != b.Style || a.Anchor != b.Anchor ||
		a.Line != b.Line || a.Column != b.Column || len(a.Content) != len(b.Content) {
		return fmt.Sprintf("%s: whole %v %s %q style %v at %d:%d with %d children; pieces %v %s %q style %v at %d:%d with %d children",
			path, a.Kind, a.Tag, a.Value, a.Style, a.Line, a.Column, len(a.Content),
			b.Kind, b.Tag, b.Value, b.Style, b.Line, b.Column, len(b.Content))
	}
	for i := range a.Content {
		if d := sameNodes(a.Content[i], b.Content[i], fmt.Sprintf("%s[%d]", path, i)); d != "" {
			return d
		}
	}
	return ""
}

// TestSplitRefuses: documents of any other shape are parsed whole.
func TestSplitRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"flow at the top":    "{hosts: [{name: a}]}\n",
		"inline list":        "hosts: [{name: a}]\n",
		"key with no list":   "hosts:\nbridges:\n  - name: b\n",
		"empty":              "",
		"comments only":      "# nothing\n",
		"document marker":    "---\nhosts:\n  - name: a\n",
		"two documents":      "hosts:\n  - name: a\n---\nhosts:\n  - name: b\n",
		"carriage returns":   "hosts:\r\n  - name: a\r\n",
		"tab indentation":    "hosts:\n\t- name: a\n",
		"duplicate key":      "hosts:\n  - name: a\nhosts:\n  - name: b\n",
		"unknown key":        "hosts:\n  - name: a\nnetworks:\n  - name: n\n",
		"quoted key":         "\"hosts\":\n  - name: a\n",
		"key:#":              "hosts:#x\n  - name: a\n",
		"less indented line": "hosts:\n    - name: a\n  - name: b\n",
		"dash without space": "hosts:\n  -name: a\n",
		"item at the top":    "- name: a\n",
		"mapping value":      "hosts:\n  name: a\n",
		"byte order mark":    "\uFEFFhosts:\n  - name: a\n",
		"bad UTF-8":          "# \xff\nhosts:\n  - name: a\n",
		"control character":  "# \x01\nhosts:\n  - name: a\n",
	} {
		if _, _, ok := splitTop([]byte(doc)); ok {
			t.Errorf("%s: split", name)
		}
	}
}

// TestLoadSplitAsWhole: Load gives the same topology, or the same errors
// at the same places, whether the file is parsed in pieces or whole,
// including when a piece does not parse on its own.
func TestLoadSplitAsWhole(t *testing.T) {
	in := splitInputs(t)
	for name, doc := range map[string]string{
		"unterminated quote across pieces": "hosts:\n  - name: \"a\n  - b\"\n",
		"alias to another piece":           "hosts:\n  - &h {name: a}\n  - *h\n",
		"bad value":                        "hosts:\n  - name: a\n    flooding-proxy-weight: x\n",
		"missing reference":                "bridges:\n  - name: b\n    ports:\n      - {name: p, host: nosuch}\n",
		"syntax error":                     "hosts:\n  - name: [a\n",
	} {
		in[name] = []byte(doc)
	}
	for name, data := range in {
		t.Run(name, func(t *testing.T) {
			sameLoad(t, data)
		})
	}
}

func sameLoad(t *testing.T, data []byte) {
	t.Helper()
	whole, werr := loadSplit(data, "f.yaml", nil, len(data)+1)
	split, serr := loadSplit(data, "f.yaml", nil, 0)
	if fmt.Sprint(werr) != fmt.Sprint(serr) || errLines(werr) != errLines(serr) {
		t.Fatalf("whole: %v (%s)\npieces: %v (%s)", werr, errLines(werr), serr, errLines(serr))
	}
	if !reflect.DeepEqual(whole, split) {
		t.Fatal("the topologies differ")
	}
}

func errLines(err error) string {
	l, _ := err.(ErrorList)
	var b strings.Builder
	for _, e := range l {
		fmt.Fprintf(&b, "%d:%d %s;", e.Line, e.Column, e.Path)
	}
	return b.String()
}

// FuzzLoadSplit: for any input, parsing in pieces changes nothing Load
// returns.
func FuzzLoadSplit(f *testing.F) {
	for _, data := range splitInputs(f) {
		if len(data) < 64<<10 {
			f.Add(data)
		}
	}
	f.Add([]byte("hosts:\n- name: a\n  # c\n-\n  name: b\nbridges:\n  - name: x\n    ports:\n    - name: p\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sameLoad(t, data)
	})
}
