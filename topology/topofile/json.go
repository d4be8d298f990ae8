package topofile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// JSON documents (the REST API's bodies) are read into the same node tree
// as YAML files, so that one decoder serves both: scalars keep their JSON
// type as their tag (!!str, !!int, !!float, !!bool, !!null), which the
// decoder checks against the types each key accepts. Objects are written
// back through the same tree.

// maxJSONDepth bounds the nesting of a JSON document; the deepest object
// (a rule's condition list inside a chain) needs 4.
const maxJSONDepth = 32

// jsonReader turns a JSON document into a node tree.
type jsonReader struct {
	data  []byte
	dec   *json.Decoder
	lines []int // offsets at which lines start
}

// parseJSON reads one JSON value. Errors wrap ErrSyntax and give the line
// of the problem.
func parseJSON(data []byte) (*yaml.Node, error) {
	r := &jsonReader{data: data, dec: json.NewDecoder(bytes.NewReader(data)), lines: []int{0}}
	r.dec.UseNumber()
	for i, c := range data {
		if c == '\n' {
			r.lines = append(r.lines, i+1)
		}
	}
	n, err := r.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := r.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, r.syntax("data after the JSON value")
	}
	return n, nil
}

// place returns the line and column of the next token.
func (r *jsonReader) place() (int, int) {
	off := int(r.dec.InputOffset())
	for off < len(r.data) {
		switch r.data[off] {
		case ' ', '\t', '\r', '\n', ':', ',':
			off++
			continue
		}
		break
	}
	line := 0
	for line+1 < len(r.lines) && r.lines[line+1] <= off {
		line++
	}
	return line + 1, off - r.lines[line] + 1
}

func (r *jsonReader) syntax(msg string) error {
	line, _ := r.place()
	return fmt.Errorf("%w: line %d: %s", ErrSyntax, line, msg)
}

func (r *jsonReader) value(depth int) (*yaml.Node, error) {
	if depth > maxJSONDepth {
		return nil, r.syntax("nested too deeply")
	}
	line, col := r.place()
	tok, err := r.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, r.syntax("unexpected end of the JSON document")
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, r.syntax(se.Error())
		}
		return nil, r.syntax(err.Error())
	}
	n := &yaml.Node{Line: line, Column: col}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n.Kind, n.Tag = yaml.MappingNode, "!!map"
			for r.dec.More() {
				kl, kc := r.place()
				kt, err := r.dec.Token()
				if err != nil {
					return nil, r.syntax(err.Error())
				}
				k, ok := kt.(string)
				if !ok {
					return nil, r.syntax("object key is not a string")
				}
				v, err := r.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k, Line: kl, Column: kc}, v)
			}
		case '[':
			n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
			for r.dec.More() {
				v, err := r.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, v)
			}
		default:
			return nil, r.syntax("unexpected " + t.String())
		}
		if _, err := r.dec.Token(); err != nil { // the closing delimiter
			return nil, r.syntax(err.Error())
		}
	case string:
		n.Kind, n.Tag, n.Value, n.Style = yaml.ScalarNode, "!!str", t, yaml.DoubleQuotedStyle
	case json.Number:
		n.Kind, n.Value, n.Tag = yaml.ScalarNode, t.String(), "!!float"
		if _, err := t.Int64(); err == nil {
			n.Tag = "!!int"
		} else if isDigits(t.String()) {
			n.Tag = "!!int" // too large for int64: its parser says so
		}
	case bool:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!bool", strconv.FormatBool(t)
	case nil:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!null", "null"
	}
	return n, nil
}

func isDigits(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// typed reports whether the scalar n is of one of the JSON types in want;
// every scalar of a YAML file is.
func (d *decoder) typed(n *yaml.Node, path string, want jsonType) bool {
	if !d.json {
		return true
	}
	var got jsonType
	switch n.Tag {
	case "!!str":
		got = jsonString
	case "!!int":
		got = jsonInt
	case "!!bool":
		got = jsonBool
	}
	if got&want != 0 {
		return true
	}
	d.fail(n, path, wrongType("expected %s, found %s", want, jsonTypeName(n)))
	return false
}

// isBool reports whether n is a boolean: true or false in a file, a JSON
// boolean in a JSON document.
func (d *decoder) isBool(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	if d.json {
		return n.Tag == "!!bool"
	}
	return n.Value == "true" || n.Value == "false"
}

func wrongType(format string, args ...any) error {
	return fmt.Errorf("%w: %w: "+format, append([]any{ErrBadValue, ErrWrongType}, args...)...)
}

// jsonTypeName names the JSON type of a node read by parseJSON.
func jsonTypeName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "an array"
	}
	switch n.Tag {
	case "!!str":
		return "a string"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number with a fraction or exponent"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null"
	}
	return "a value"
}

// jsonKindName names what a node of kind k is in JSON.
func jsonKindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "an array"
	}
	return "a single value"
}

// appendJSON appends the JSON form of a node tree built by the writer.
// Scalars the writer marks as strings (tag !!str) are JSON strings; other
// scalars are JSON integers when they are decimal numbers, booleans when
// true or false, and strings otherwise.
func appendJSON(b []byte, n *yaml.Node) []byte {
	switch n.Kind {
	case yaml.MappingNode:
		b = append(b, '{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, n.Content[i].Value)
			b = append(b, ':')
			b = appendJSON(b, n.Content[i+1])
		}
		return append(b, '}')
	case yaml.SequenceNode:
		b = append(b, '[')
		for i, c := range n.Content {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, c)
		}
		return append(b, ']')
	}
	switch {
	case n.Tag == "!!str":
		return appendJSONString(b, n.Value)
	case isDigits(n.Value) && (len(n.Value) < 2 || n.Value[0] != '0'):
		return append(b, n.Value...)
	case n.Value == "true" || n.Value == "false":
		return append(b, n.Value...)
	}
	return appendJSONString(b, n.Value)
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else if r == '\u2028' || r == '\u2029' {
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
