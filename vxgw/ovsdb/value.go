package ovsdb

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// OVSDB values in Go. An atom is one of:
//
//	int64      "integer"
//	float64    "real"
//	bool       "boolean"
//	string     "string"
//	UUID       "uuid", a row of the database
//	NamedUUID  a row inserted earlier in the same transaction (requests only)
//
// A column's value is an atom, a [Set] of atoms or a [Map] from atoms to
// atoms. Values the client decodes with a schema take the column's type:
// a set column always holds a Set (even with one element), a map column a
// Map, a scalar column an atom. When encoding, any Go integer type is
// accepted for "integer" and float32 for "real".

// UUID is the 36-character text form of a row's UUID,
// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". On the wire it is
// ["uuid", "..."].
type UUID string

// NamedUUID names a row inserted by an earlier operation of the same
// transaction (the insert's UUIDName); the server replaces it with the
// row's UUID. On the wire it is ["named-uuid", "name"].
type NamedUUID string

// Set is an OVSDB set of atoms, ["set", [...]] on the wire. Order does not
// matter ([Equal] ignores it).
type Set []any

// Map is an OVSDB map from atoms to atoms, ["map", [[k, v], ...]] on the
// wire. Keys must be atoms (comparable), and so must values.
type Map map[any]any

// Row is a row's columns by name. Rows the client returns (from select or
// a monitor's cache) are shared: treat them as read-only.
type Row map[string]any

// ZeroUUID is the all-zero UUID, the default value of a "uuid" atom.
const ZeroUUID UUID = "00000000-0000-0000-0000-000000000000"

// Valid reports whether u has the canonical 8-4-4-4-12 hexadecimal form.
func (u UUID) Valid() bool {
	if len(u) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := u[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// validID reports whether s is an OVSDB <id>: a letter or '_' followed by
// letters, digits and '_'.
func validID(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// isAtom reports whether v is a Go value that represents an atom.
func isAtom(v any) bool {
	switch v.(type) {
	case int64, float64, bool, string, UUID, NamedUUID:
		return true
	}
	return false
}

// Equal reports whether two values are the same OVSDB value: equal atoms,
// sets with the same elements in any order, maps with the same pairs.
func Equal(a, b any) bool {
	switch a := a.(type) {
	case Set:
		b, ok := b.(Set)
		return ok && setEqual(a, b)
	case Map:
		b, ok := b.(Map)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !Equal(v, w) {
				return false
			}
		}
		return true
	}
	return isAtom(a) && isAtom(b) && a == b
}

func setEqual(a, b Set) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) <= 16 {
		used := make([]bool, len(b))
	next:
		for _, x := range a {
			for j, y := range b {
				if !used[j] && Equal(x, y) {
					used[j] = true
					continue next
				}
			}
			return false
		}
		return true
	}
	count := make(map[any]int, len(a))
	for _, x := range a {
		if !isAtom(x) {
			return false
		}
		count[x]++
	}
	for _, y := range b {
		if count[y] == 0 {
			return false
		}
		count[y]--
	}
	return true
}

// RowsEqual reports whether two rows have the same columns with equal
// values.
func RowsEqual(a, b Row) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !Equal(v, w) {
			return false
		}
	}
	return true
}

// atomRank orders atom types for compareAtoms.
func atomRank(v any) int {
	switch v.(type) {
	case bool:
		return 0
	case int64:
		return 1
	case float64:
		return 2
	case string:
		return 3
	case UUID:
		return 4
	case NamedUUID:
		return 5
	}
	return 6
}

// compareAtoms orders atoms: by type, then by value. It gives maps a
// deterministic wire order.
func compareAtoms(a, b any) int {
	if ra, rb := atomRank(a), atomRank(b); ra != rb {
		return ra - rb
	}
	switch a := a.(type) {
	case bool:
		switch b := b.(bool); {
		case a == b:
			return 0
		case !a:
			return -1
		}
		return 1
	case int64:
		return cmpOrdered(a, b.(int64))
	case float64:
		return cmpOrdered(a, b.(float64))
	case string:
		return strings.Compare(a, b.(string))
	case UUID:
		return strings.Compare(string(a), string(b.(UUID)))
	case NamedUUID:
		return strings.Compare(string(a), string(b.(NamedUUID)))
	}
	return 0
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// appendValue appends the wire form of v (an atom, Set or Map).
func appendValue(buf []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case Set:
		buf = append(buf, `["set",[`...)
		for i, e := range v {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendAtom(buf, e); err != nil {
				return buf, err
			}
		}
		return append(buf, "]]"...), nil
	case Map:
		keys := make([]any, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareAtoms)
		buf = append(buf, `["map",[`...)
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			buf = append(buf, '[')
			if buf, err = appendAtom(buf, k); err != nil {
				return buf, err
			}
			buf = append(buf, ',')
			if buf, err = appendAtom(buf, v[k]); err != nil {
				return buf, err
			}
			buf = append(buf, ']')
		}
		return append(buf, "]]"...), nil
	}
	return appendAtom(buf, v)
}

// appendAtom appends the wire form of one atom.
func appendAtom(buf []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return appendString(buf, v), nil
	case bool:
		return strconv.AppendBool(buf, v), nil
	case int64:
		return strconv.AppendInt(buf, v, 10), nil
	case int:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case int32:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case int16:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case int8:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case uint64:
		if v > math.MaxInt64 {
			return buf, encodeErrorf("integer %d exceeds 64-bit signed range", v)
		}
		return strconv.AppendUint(buf, v, 10), nil
	case uint:
		return appendAtom(buf, uint64(v))
	case uint32:
		return strconv.AppendUint(buf, uint64(v), 10), nil
	case uint16:
		return strconv.AppendUint(buf, uint64(v), 10), nil
	case uint8:
		return strconv.AppendUint(buf, uint64(v), 10), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return buf, encodeErrorf("real %v is not a JSON number", v)
		}
		n := len(buf)
		buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
		if !slices.ContainsFunc(buf[n:], func(c byte) bool { return c == '.' || c == 'e' }) {
			buf = append(buf, ".0"...) // stays a real when decoded without a schema
		}
		return buf, nil
	case float32:
		return appendAtom(buf, float64(v))
	case UUID:
		if !v.Valid() {
			return buf, encodeErrorf("malformed uuid %q", string(v))
		}
		buf = append(buf, `["uuid","`...)
		buf = append(buf, v...)
		return append(buf, `"]`...), nil
	case NamedUUID:
		if !validID(string(v)) {
			return buf, encodeErrorf("malformed named-uuid %q", string(v))
		}
		buf = append(buf, `["named-uuid","`...)
		buf = append(buf, v...)
		return append(buf, `"]`...), nil
	}
	return buf, encodeErrorf("%T is not an OVSDB atom", v)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// MarshalJSON encodes u as ["uuid", "..."].
func (u UUID) MarshalJSON() ([]byte, error) { return appendAtom(nil, u) }

// MarshalJSON encodes n as ["named-uuid", "..."].
func (n NamedUUID) MarshalJSON() ([]byte, error) { return appendAtom(nil, n) }

// MarshalJSON encodes s as ["set", [...]].
func (s Set) MarshalJSON() ([]byte, error) { return appendValue(nil, s) }

// MarshalJSON encodes m as ["map", [[k, v], ...]], ordered by key.
func (m Map) MarshalJSON() ([]byte, error) { return appendValue(nil, m) }

// MarshalJSON encodes r as an object of column values.
func (r Row) MarshalJSON() ([]byte, error) { return appendRow(nil, r) }

// appendRow appends r as a JSON object, columns in name order.
func appendRow(buf []byte, r Row) ([]byte, error) {
	cols := make([]string, 0, len(r))
	for c := range r {
		cols = append(cols, c)
	}
	slices.Sort(cols)
	buf = append(buf, '{')
	for i, c := range cols {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, c)
		buf = append(buf, ':')
		var err error
		if buf, err = appendValue(buf, r[c]); err != nil {
			return buf, fmt.Errorf("column %s: %w", c, err)
		}
	}
	return append(buf, '}'), nil
}
