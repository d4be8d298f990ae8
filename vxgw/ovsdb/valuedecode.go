package ovsdb

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// Decoding of values without a schema. The input is one JSON value that
// the message decoder has already validated; anything that is not an OVSDB
// value is an error wrapping ErrDecode. Numbers with a fraction or an
// exponent become float64, others int64; a set of one element arrives as
// a bare atom (the schema, in schema.go, turns it back into a Set).

// DecodeValue decodes the wire form of one OVSDB value: an atom, ["uuid",
// ...], ["named-uuid", ...], ["set", [...]] or ["map", [...]]. It is what
// the client applies to every column value it receives; without the
// column's type it cannot tell a one-element set from an atom, nor a real
// with an integral value from an integer.
func DecodeValue(data []byte) (any, error) {
	if !json.Valid(data) {
		return nil, decodeErrorf("value is not valid JSON")
	}
	return parseValue(data)
}

// parseValue decodes one valid JSON value.
func parseValue(data []byte) (any, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, decodeErrorf("empty value")
	}
	if data[0] != '[' {
		return parseAtom(data)
	}
	tag, payload, err := splitTagged(data)
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagUUID, tagNamedUUID:
		return taggedAtom(tag, payload)
	case tagSet:
		s := Set{}
		err := forEachElement(payload, func(e []byte) error {
			a, err := parseAtom(e)
			s = append(s, a)
			return err
		})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	m := Map{}
	err = forEachElement(payload, func(pair []byte) error {
		var kv [2]any
		n := 0
		err := forEachElement(pair, func(e []byte) error {
			if n == 2 {
				return decodeErrorf("map pair of more than 2 elements")
			}
			var err error
			kv[n], err = parseAtom(e)
			n++
			return err
		})
		if err != nil {
			return err
		}
		if n != 2 {
			return decodeErrorf("map pair of %d elements", n)
		}
		if _, dup := m[kv[0]]; dup {
			return decodeErrorf("map has duplicate key %v", kv[0])
		}
		m[kv[0]] = kv[1]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// The tags of OVSDB's tagged values.
const (
	tagUUID      = "uuid"
	tagNamedUUID = "named-uuid"
	tagSet       = "set"
	tagMap       = "map"
)

// splitTagged splits ["tag", payload]; the tag is one of the four.
func splitTagged(data []byte) (string, []byte, error) {
	var parts [2][]byte
	n := 0
	err := forEachElement(data, func(e []byte) error {
		if n == 2 {
			return decodeErrorf("tagged value of more than 2 elements")
		}
		parts[n] = e
		n++
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	if n != 2 {
		return "", nil, decodeErrorf("tagged value of %d elements", n)
	}
	for _, tag := range []string{tagUUID, tagNamedUUID, tagSet, tagMap} {
		if keyIs(parts[0], tag) {
			return tag, parts[1], nil
		}
	}
	return "", nil, decodeErrorf("unknown value tag %.40s", parts[0])
}

// parseAtom decodes an atom: a number, string, boolean, ["uuid", ...] or
// ["named-uuid", ...].
func parseAtom(data []byte) (any, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, decodeErrorf("empty atom")
	}
	switch c := data[0]; {
	case c == '"':
		s, err := parseString(data)
		if err != nil {
			return nil, err
		}
		return s, nil
	case c == 't' && string(data) == "true":
		return true, nil
	case c == 'f' && string(data) == "false":
		return false, nil
	case c == '-' || '0' <= c && c <= '9':
		return parseNumber(data)
	case c == '[':
		tag, payload, err := splitTagged(data)
		if err != nil {
			return nil, err
		}
		return taggedAtom(tag, payload)
	}
	return nil, decodeErrorf("%.20q is not an atom", data)
}

// taggedAtom decodes the payload of ["uuid", "..."] or ["named-uuid",
// "..."].
func taggedAtom(tag string, payload []byte) (any, error) {
	s, err := parseString(bytes.TrimSpace(payload))
	if err != nil {
		return nil, decodeErrorf("%s value is not a string", tag)
	}
	switch tag {
	case tagUUID:
		if u := UUID(s); u.Valid() {
			return u, nil
		}
		return nil, decodeErrorf("malformed uuid %q", s)
	case tagNamedUUID:
		if validID(s) {
			return NamedUUID(s), nil
		}
		return nil, decodeErrorf("malformed named-uuid %q", s)
	}
	return nil, decodeErrorf("%q is not an atom", tag)
}

// parseNumber decodes a JSON number as int64 or, with a fraction or an
// exponent, float64.
func parseNumber(data []byte) (any, error) {
	if bytes.ContainsAny(data, ".eE") {
		f, err := strconv.ParseFloat(string(data), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, decodeErrorf("real %.40q out of range", data)
		}
		return f, nil
	}
	n, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		return nil, decodeErrorf("integer %.40q out of 64-bit range", data)
	}
	return n, nil
}

// parseString decodes a JSON string, without allocating more than the
// result when it has no escapes.
func parseString(data []byte) (string, error) {
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return "", decodeErrorf("%.20q is not a string", data)
	}
	inner := data[1 : len(data)-1]
	plain := true
	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 {
			plain = false
			break
		}
	}
	if plain && utf8.Valid(inner) {
		return string(inner), nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return "", decodeErrorf("string: %v", err)
	}
	return s, nil
}
