package topofile

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// A piece of a large file (see split.go) is first read by fastParse, a
// parser of the plain YAML that Write produces and most people write:
// block lists and mappings, one-line flow lists and mappings, and plain
// one-line scalars whose type is certain (names, whole numbers, booleans,
// addresses, MACs and UUIDs). It builds the nodes the YAML library builds,
// at the same lines and columns, in a fifth of the time; on anything else
// (quotes, anchors, tags, block or multi-line scalars, tabs, non-ASCII
// text, a null value) it gives up and the library parses the piece.

// fastLine is a line of a piece that holds more than a comment.
type fastLine struct {
	num  int    // 1-based line in the file
	ind  int    // column of text, 0-based
	text []byte // comment and trailing spaces removed
}

// maxFastLine is the longest line the fast parse takes: well under YAML's
// 1024-character limit on an implicit key, far over what Write writes.
const maxFastLine = 512

type fastParser struct {
	lines []fastLine
	i     int
}

// fastParse parses text, a run of block list items at one indentation
// whose first line is line first of the file, into the items' nodes; ok
// is false when text is not of the plain shape.
func fastParse(text []byte, first int) (items []*yaml.Node, ok bool) {
	p := &fastParser{}
	num := first - 1
	for len(text) > 0 {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		num++
		ind := 0
		for ind < len(line) && line[ind] == ' ' {
			ind++
		}
		content := line[ind:]
		if len(line) > maxFastLine {
			// The library refuses a key more than 1024 characters
			// from its ':'; lines that long are left to it.
			return nil, false
		}
		for _, c := range content {
			if c >= 0x80 || c < 0x20 || c == 0x7f {
				return nil, false // columns count characters; tabs separate; controls are refused
			}
		}
		if i := bytes.Index(content, []byte(" #")); i >= 0 {
			content = content[:i]
		}
		content = bytes.TrimRight(content, " ")
		if len(content) == 0 || content[0] == '#' {
			continue
		}
		p.lines = append(p.lines, fastLine{num, ind, content})
	}
	if len(p.lines) == 0 || !isItem(p.lines[0].text) {
		return nil, false
	}
	seq, ok := p.seq(p.lines[0].ind)
	if !ok || p.i != len(p.lines) {
		return nil, false
	}
	return seq.Content, true
}

// block parses the list or mapping that starts at the current line, whose
// indentation is ind.
func (p *fastParser) block(ind int) (*yaml.Node, bool) {
	l := p.lines[p.i]
	switch {
	case isItem(l.text):
		return p.seq(ind)
	case bytes.IndexByte(l.text, ':') > 0:
		return p.mapping(ind)
	}
	return nil, false
}

// seq parses a block list whose items start at column ind.
func (p *fastParser) seq(ind int) (*yaml.Node, bool) {
	first := p.lines[p.i]
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: first.num, Column: ind + 1}
	for p.i < len(p.lines) && p.lines[p.i].ind == ind && isItem(p.lines[p.i].text) {
		l := p.lines[p.i]
		rest := bytes.TrimLeft(l.text[1:], " ")
		if len(rest) == 0 {
			return nil, false // the item on the next lines: rare, left to the library
		}
		// The item's content continues the line as if it were indented
		// to where it starts.
		col := l.ind + len(l.text) - len(rest)
		p.lines[p.i] = fastLine{l.num, col, rest}
		var item *yaml.Node
		var ok bool
		if isItem(rest) || isKey(rest) {
			item, ok = p.block(col)
		} else {
			item, ok = p.inline(rest, l.num, col)
			p.i++
			ok = ok && (p.i == len(p.lines) || p.lines[p.i].ind <= ind)
		}
		if !ok {
			return nil, false
		}
		n.Content = append(n.Content, item)
	}
	// What follows is less indented, or a key at the indentation of a
	// list that is a key's value ("ports:" then "- name: p" below it).
	return n, p.i == len(p.lines) || p.lines[p.i].ind <= ind
}

// mapping parses a block mapping whose keys start at column ind.
func (p *fastParser) mapping(ind int) (*yaml.Node, bool) {
	first := p.lines[p.i]
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: first.num, Column: ind + 1}
	for p.i < len(p.lines) && p.lines[p.i].ind == ind && !isItem(p.lines[p.i].text) {
		l := p.lines[p.i]
		colon := bytes.IndexByte(l.text, ':')
		if colon <= 0 || !isKey(l.text) {
			return nil, false
		}
		key, ok := fastScalar(l.text[:colon], l.num, ind)
		if !ok {
			return nil, false
		}
		rest := bytes.TrimLeft(l.text[colon+1:], " ")
		var val *yaml.Node
		if len(rest) == 0 {
			p.i++
			switch {
			case p.i < len(p.lines) && p.lines[p.i].ind > ind:
				val, ok = p.block(p.lines[p.i].ind)
			case p.i < len(p.lines) && p.lines[p.i].ind == ind && isItem(p.lines[p.i].text):
				val, ok = p.seq(ind)
			default:
				return nil, false // a null value
			}
		} else {
			val, ok = p.inline(rest, l.num, ind+len(l.text)-len(rest))
			p.i++
			ok = ok && (p.i == len(p.lines) || p.lines[p.i].ind <= ind)
		}
		if !ok {
			return nil, false
		}
		n.Content = append(n.Content, key, val)
	}
	return n, p.i == len(p.lines) || p.lines[p.i].ind < ind
}

// isKey reports whether a line starts with "key:" and a space or its end.
func isKey(text []byte) bool {
	i := 0
	for i < len(text) && isKeyChar(text[i]) {
		i++
	}
	return i > 0 && i < len(text) && text[i] == ':' && (i+1 == len(text) || text[i+1] == ' ')
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// inline parses a value that ends with its line: a one-line flow list or
// mapping of scalars, or a scalar.
func (p *fastParser) inline(text []byte, line, col int) (*yaml.Node, bool) {
	switch text[0] {
	case '{', '[':
		return fastFlow(text, line, col)
	}
	return fastScalar(text, line, col)
}

// fastFlow parses a one-line flow list or mapping whose elements are
// plain scalars.
func fastFlow(text []byte, line, col int) (*yaml.Node, bool) {
	isMap := text[0] == '{'
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Line: line, Column: col + 1}
	end := byte(']')
	if isMap {
		n.Kind, n.Tag, end = yaml.MappingNode, "!!map", '}'
	}
	if text[len(text)-1] != end {
		return nil, false
	}
	i := 1
	for {
		for i < len(text) && text[i] == ' ' {
			i++
		}
		if i == len(text)-1 {
			return n, i == 1 // "{}" or "[]"; a trailing comma is left to the library
		}
		j := i
		for j < len(text)-1 && text[j] != ',' && !(isMap && text[j] == ':') {
			if bytes.IndexByte([]byte("[]{}"), text[j]) >= 0 {
				return nil, false
			}
			j++
		}
		if isMap {
			if text[j] != ':' || text[j+1] != ' ' {
				return nil, false
			}
			k, ok := fastScalar(text[i:j], line, col+i)
			if !ok {
				return nil, false
			}
			n.Content = append(n.Content, k)
			i = j + 1
			for i < len(text) && text[i] == ' ' {
				i++
			}
			j = i
			for j < len(text)-1 && text[j] != ',' {
				if bytes.IndexByte([]byte("[]{}:"), text[j]) >= 0 {
					return nil, false
				}
				j++
			}
		}
		v, ok := fastScalar(bytes.TrimRight(text[i:j], " "), line, col+i)
		if !ok {
			return nil, false
		}
		n.Content = append(n.Content, v)
		if j == len(text)-1 {
			return n, true
		}
		i = j + 1
	}
}

// fastScalar makes the node of a plain scalar at column col, if its type
// is certain.
func fastScalar(text []byte, line, col int) (*yaml.Node, bool) {
	tag := plainTag(text)
	if tag == "" {
		return nil, false
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(text), Line: line, Column: col + 1}, true
}

// plainTag is the tag the YAML library resolves a plain scalar to, for
// the forms whose tag is certain, or "".
func plainTag(s []byte) string {
	if len(s) == 0 {
		return ""
	}
	switch string(s) {
	case "true", "false":
		return "!!bool"
	}
	switch c := s[0]; {
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		for _, c := range s {
			if !isKeyChar(c) && c != '.' && c != '/' {
				return ""
			}
		}
		switch string(bytes.ToLower(s)) {
		case "true", "false", "null", "yes", "no", "on", "off", "y", "n":
			return ""
		}
		return "!!str"
	case c >= '0' && c <= '9':
		switch {
		case len(s) <= 18 && allDigits(s) && (c != '0' || len(s) == 1):
			return "!!int"
		case isDotted(s), isMACText(s), isUUIDText(s):
			return "!!str"
		}
	}
	return ""
}

func allDigits(s []byte) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(s) > 0
}

// isDotted reports an IPv4 address or prefix: four dotted runs of
// digits, then maybe "/" and digits.
func isDotted(s []byte) bool {
	if i := bytes.IndexByte(s, '/'); i >= 0 {
		if !allDigits(s[i+1:]) {
			return false
		}
		s = s[:i]
	}
	parts := bytes.Split(s, []byte("."))
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if !allDigits(p) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// isMACText reports six colon-separated pairs of hex digits.
func isMACText(s []byte) bool {
	if len(s) != 17 {
		return false
	}
	for i, c := range s {
		if (i%3 == 2 && c != ':') || (i%3 != 2 && !isHex(c)) {
			return false
		}
	}
	return true
}

// isUUIDText reports a UUID in its 8-4-4-4-12 hex form.
func isUUIDText(s []byte) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		dash := i == 8 || i == 13 || i == 18 || i == 23
		if (dash && c != '-') || (!dash && !isHex(c)) {
			return false
		}
	}
	return true
}
