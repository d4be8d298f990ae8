package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"
)

// Output: aligned tables by default, -o json or yaml for whole objects,
// -o name for names alone (one a line, for scripts and completion).
// References are shown by name everywhere; --ids adds the objects' UUIDs
// and leaves references as the API gives them (UUIDs).

// printer writes objects as the global options say.
type printer struct {
	ctx context.Context
	g   *globals
	c   *client
	out io.Writer
}

// writeTable writes rows under header, aligned; header is left out with
// --no-headers.
func (p *printer) writeTable(header []string, rows [][]string) error {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if !p.g.noHeaders {
		fmt.Fprintln(tw, strings.Join(header, "\t"))
	}
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Rows whose last cells are empty would end in padding.
	var out bytes.Buffer
	for _, l := range bytes.SplitAfter(b.Bytes(), []byte("\n")) {
		if t := bytes.TrimRight(l, " \n"); len(l) > 0 {
			out.Write(t)
			out.WriteByte('\n')
		}
	}
	_, err := p.out.Write(out.Bytes())
	return err
}

// objectTable writes objects of kind k as a table: their name (or ID for
// unnamed kinds), their ID with --ids, and the kind's columns that are
// not empty in every row.
func (p *printer) objectTable(k *kind, objs []map[string]any) error {
	header := []string{"NAME"}
	if !k.named {
		header = []string{"ID"}
	} else if p.g.ids {
		header = append(header, "ID")
	}
	rows := make([][]string, len(objs))
	for i, o := range objs {
		if k.named {
			rows[i] = append(rows[i], str(o["name"]))
			if p.g.ids {
				rows[i] = append(rows[i], str(o["id"]))
			}
		} else {
			rows[i] = append(rows[i], str(o["id"]))
		}
	}
	for _, c := range k.cols {
		cells := make([]string, len(objs))
		used := false
		for i, o := range objs {
			cells[i] = p.cell(c, o[c.key])
			used = used || cells[i] != ""
		}
		if !used {
			continue
		}
		header = append(header, c.header)
		for i := range rows {
			rows[i] = append(rows[i], cells[i])
		}
	}
	return p.writeTable(header, rows)
}

// cell formats a value for a table.
func (p *printer) cell(c column, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if c.ref != "" && !p.g.ids {
			return p.c.nameOf(p.ctx, c.ref, x)
		}
		return x
	case bool:
		if x {
			return "true"
		}
		return ""
	case []any:
		if len(x) > 0 {
			if _, ok := x[0].(map[string]any); ok {
				return strconv.Itoa(len(x)) // rules, bindings, DHCP hosts: how many
			}
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = p.cell(c, e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			name := k
			if c.ref != "" && !p.g.ids {
				name = p.c.nameOf(p.ctx, c.ref, k)
			}
			parts[i] = name + "=" + p.cell(column{}, x[k])
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// document writes API answers (JSON) as -o json or yaml says, with
// references by name unless --ids; k, if set, is the kind of the objects.
// list says whether docs is a list (written as a JSON array or a YAML
// sequence) or one document.
func (p *printer) document(k *kind, docs [][]byte, list bool) error {
	var fix func(*yaml.Node)
	if k != nil {
		fix = func(n *yaml.Node) { p.rename(k, n, true) }
	}
	return p.documentFunc(docs, list, fix)
}

// documentFunc writes API answers as document does, passing each one's
// root to fix, if set, before writing it.
func (p *printer) documentFunc(docs [][]byte, list bool, fix func(*yaml.Node)) error {
	nodes := make([]*yaml.Node, 0, len(docs))
	for _, d := range docs {
		var n yaml.Node
		if err := yaml.Unmarshal(d, &n); err != nil {
			return fmt.Errorf("decoding the API's answer: %w", err)
		}
		root := &n
		if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
			root = n.Content[0]
		}
		if fix != nil {
			fix(root)
		}
		nodes = append(nodes, root)
	}
	root := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: nodes}
	if !list && len(nodes) == 1 {
		root = nodes[0]
	}
	if p.g.output == "json" {
		var b bytes.Buffer
		writeJSONNode(&b, root, "")
		b.WriteByte('\n')
		_, err := p.out.Write(b.Bytes())
		return err
	}
	blockStyle(root)
	enc := yaml.NewEncoder(p.out)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return err
	}
	return enc.Close()
}

// rename replaces, in the mapping n of an object of kind k (nil for the
// parts of an object: rules, bindings), references by names and drops
// the id unless --ids.
func (p *printer) rename(k *kind, n *yaml.Node, top bool) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, e := range n.Content {
			p.rename(k, e, top)
		}
		return
	case yaml.MappingNode:
	default:
		return
	}
	var out []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if key.Value == "id" && !p.g.ids && (!top || k.named) {
			continue
		}
		kk := k
		if !top {
			kk = nil
		}
		if coll := refColl(kk, key.Value); coll != "" && !p.g.ids {
			p.renameRefs(coll, val)
		} else if val.Kind == yaml.SequenceNode || val.Kind == yaml.MappingNode {
			p.rename(k, val, false)
		}
		out = append(out, key, val)
	}
	n.Content = out
}

// renameRefs replaces the UUIDs of coll's objects in n (a scalar, a list,
// or a mapping keyed by them) by names.
func (p *printer) renameRefs(coll string, n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		n.Value = p.c.nameOf(p.ctx, coll, n.Value)
	case yaml.SequenceNode:
		for _, e := range n.Content {
			p.renameRefs(coll, e)
		}
	case yaml.MappingNode:
		for i := 0; i < len(n.Content); i += 2 {
			p.renameRefs(coll, n.Content[i])
		}
	}
}

// blockStyle clears the styles a JSON document parses with.
func blockStyle(n *yaml.Node) {
	n.Style = 0 // block collections, scalars quoted only where YAML needs it
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// writeJSONNode writes n as indented JSON, keeping the key order.
func writeJSONNode(b *bytes.Buffer, n *yaml.Node, indent string) {
	in := indent + "  "
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i := 0; i+1 < len(n.Content); i += 2 {
			b.WriteString(in)
			q, _ := json.Marshal(n.Content[i].Value)
			b.Write(q)
			b.WriteString(": ")
			writeJSONNode(b, n.Content[i+1], in)
			if i+2 < len(n.Content) {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, e := range n.Content {
			b.WriteString(in)
			writeJSONNode(b, e, in)
			if i+1 < len(n.Content) {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	default:
		switch n.Tag {
		case "!!int", "!!float", "!!bool":
			b.WriteString(n.Value)
		case "!!null":
			b.WriteString("null")
		default:
			q, _ := json.Marshal(n.Value)
			b.Write(q)
		}
	}
}
