package ovsdb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// DatabaseSchema is a database's schema as get_schema returns it.
type DatabaseSchema struct {
	Name    string                  `json:"name"`
	Version string                  `json:"version"`
	Cksum   string                  `json:"cksum,omitempty"`
	Tables  map[string]*TableSchema `json:"tables"`
}

// TableSchema describes one table.
type TableSchema struct {
	Columns map[string]*ColumnSchema `json:"columns"`
	MaxRows int                      `json:"maxRows,omitempty"`
	IsRoot  bool                     `json:"isRoot,omitempty"`
	Indexes [][]string               `json:"indexes,omitempty"`
}

// ColumnSchema describes one column.
type ColumnSchema struct {
	Type      ColumnType `json:"type"`
	Ephemeral bool       `json:"ephemeral,omitempty"`
	// Immutable columns cannot be updated once the row exists (the
	// schema's "mutable": false).
	Immutable bool `json:"-"`

	name string // the column's name, shared by every decoded row
}

// UnmarshalJSON decodes a table schema and records each column's name in
// its ColumnSchema, so that decoded rows share one string per column.
func (t *TableSchema) UnmarshalJSON(data []byte) error {
	type plain TableSchema
	if err := json.Unmarshal(data, (*plain)(t)); err != nil {
		return err
	}
	for name, c := range t.Columns {
		if c == nil {
			return decodeErrorf("column %q without a schema", name)
		}
		c.name = name
	}
	return nil
}

// AtomicType is the type of an atom: "integer", "real", "boolean",
// "string" or "uuid".
type AtomicType string

// The atomic types of RFC 7047.
const (
	TypeInteger AtomicType = "integer"
	TypeReal    AtomicType = "real"
	TypeBoolean AtomicType = "boolean"
	TypeString  AtomicType = "string"
	TypeUUID    AtomicType = "uuid"
)

// Unlimited is ColumnType.Max for sets and maps without a size limit.
const Unlimited = math.MaxInt

// ColumnType is a column's type: atoms of type Key, or pairs Key → Value
// for a map, between Min and Max of them. Min 1 and Max 1 make a scalar
// column; anything else is a set (or a map when Value is not nil).
type ColumnType struct {
	Key   BaseType
	Value *BaseType
	Min   int
	Max   int
}

// BaseType is the type of a set's elements or a map's keys or values. The
// range and length constraints of the schema are not decoded: the server
// enforces them.
type BaseType struct {
	Type     AtomicType
	Enum     Set    // allowed values, nil when unconstrained
	RefTable string // for uuids: the table referred to
	RefType  string // for uuids with RefTable: "strong" (default) or "weak"
}

// IsMap reports whether the column holds a map.
func (t ColumnType) IsMap() bool { return t.Value != nil }

// IsSet reports whether the column holds a set (of any size limit) rather
// than a single atom or a map.
func (t ColumnType) IsSet() bool { return t.Value == nil && !(t.Min == 1 && t.Max == 1) }

// composite reports whether ovsdb-server sends modifications of the column
// as differences (sets and maps that may hold more than one element)
// rather than as the new value.
func (t ColumnType) composite() bool { return t.Max > 1 }

// UnmarshalJSON decodes a schema <type>: an atomic type name or an object
// with key, value, min and max.
func (t *ColumnType) UnmarshalJSON(data []byte) error {
	*t = ColumnType{Min: 1, Max: 1}
	var name string
	if json.Unmarshal(data, &name) == nil {
		return t.Key.UnmarshalJSON(data)
	}
	var aux struct {
		Key   BaseType        `json:"key"`
		Value *BaseType       `json:"value"`
		Min   *int            `json:"min"`
		Max   json.RawMessage `json:"max"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return decodeErrorf("column type: %v", err)
	}
	if aux.Key.Type == "" {
		return decodeErrorf("column type without key")
	}
	t.Key, t.Value = aux.Key, aux.Value
	if aux.Min != nil {
		t.Min = *aux.Min
	}
	if len(aux.Max) > 0 {
		var unlimited string
		if json.Unmarshal(aux.Max, &unlimited) == nil {
			if unlimited != "unlimited" {
				return decodeErrorf("column type max %q", unlimited)
			}
			t.Max = Unlimited
		} else if err := json.Unmarshal(aux.Max, &t.Max); err != nil {
			return decodeErrorf("column type max: %v", err)
		}
	}
	if t.Min < 0 || t.Min > 1 || t.Max < 1 || t.Min > t.Max {
		return decodeErrorf("column type min %d, max %d", t.Min, t.Max)
	}
	return nil
}

// UnmarshalJSON decodes a schema <base-type>: an atomic type name or an
// object with type, enum, refTable, refType (other members are ignored).
func (b *BaseType) UnmarshalJSON(data []byte) error {
	*b = BaseType{}
	var name string
	if json.Unmarshal(data, &name) == nil {
		b.Type = AtomicType(name)
	} else {
		var aux struct {
			Type     AtomicType      `json:"type"`
			Enum     json.RawMessage `json:"enum"`
			RefTable string          `json:"refTable"`
			RefType  string          `json:"refType"`
		}
		if err := json.Unmarshal(data, &aux); err != nil {
			return decodeErrorf("base type: %v", err)
		}
		b.Type, b.RefTable, b.RefType = aux.Type, aux.RefTable, aux.RefType
		if len(aux.Enum) > 0 {
			v, err := parseValue(aux.Enum)
			if err != nil {
				return fmt.Errorf("enum: %w", err)
			}
			if s, ok := v.(Set); ok {
				b.Enum = s
			} else {
				b.Enum = Set{v}
			}
		}
		if b.RefTable != "" && b.RefType == "" {
			b.RefType = "strong"
		}
	}
	switch b.Type {
	case TypeInteger, TypeReal, TypeBoolean, TypeString, TypeUUID:
		return nil
	}
	return decodeErrorf("unknown atomic type %q", b.Type)
}

// UnmarshalJSON decodes a column schema, turning "mutable": false into
// Immutable.
func (c *ColumnSchema) UnmarshalJSON(data []byte) error {
	var aux struct {
		Type      ColumnType `json:"type"`
		Ephemeral bool       `json:"ephemeral"`
		Mutable   *bool      `json:"mutable"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	*c = ColumnSchema{Type: aux.Type, Ephemeral: aux.Ephemeral, Immutable: aux.Mutable != nil && !*aux.Mutable}
	return nil
}

// Table returns the schema of a table, or an error wrapping
// [ErrUnknownTable].
func (s *DatabaseSchema) Table(name string) (*TableSchema, error) {
	if s != nil {
		if t, ok := s.Tables[name]; ok && t != nil {
			return t, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownTable, name)
}

// Column returns a column's schema; the implicit columns _uuid and
// _version are uuids.
func (t *TableSchema) Column(name string) (*ColumnSchema, bool) {
	if c, ok := t.Columns[name]; ok && c != nil {
		return c, true
	}
	switch name {
	case "_uuid":
		return &uuidColumn, true
	case "_version":
		return &versionColumn, true
	}
	return nil, false
}

// columnByKey looks a column up by its raw JSON member name and returns
// the name to use as the row's key, without allocating when the schema
// was decoded from JSON and the name has no escapes.
func (t *TableSchema) columnByKey(raw []byte) (string, *ColumnSchema, error) {
	var name string
	if bytes.IndexByte(raw, '\\') < 0 && len(raw) >= 2 {
		if c, ok := t.Column(string(raw[1 : len(raw)-1])); ok {
			if c.name != "" {
				return c.name, c, nil
			}
			return string(raw[1 : len(raw)-1]), c, nil
		}
		name = string(raw[1 : len(raw)-1])
	} else {
		var err error
		if name, err = parseString(raw); err != nil {
			return "", nil, err
		}
		if c, ok := t.Column(name); ok {
			return name, c, nil
		}
	}
	return "", nil, decodeErrorf("%w %q", ErrUnknownColumn, name)
}

var (
	uuidColumn    = ColumnSchema{Type: ColumnType{Key: BaseType{Type: TypeUUID}, Min: 1, Max: 1}, Immutable: true, name: "_uuid"}
	versionColumn = ColumnSchema{Type: ColumnType{Key: BaseType{Type: TypeUUID}, Min: 1, Max: 1}, Immutable: true, name: "_version"}
)

// Default returns the value of the column in a row that does not set it:
// an empty set or map, or the atomic type's zero (0, 0.0, false, "", the
// all-zero UUID).
func (t ColumnType) Default() any {
	switch {
	case t.IsMap():
		return Map{}
	case t.IsSet():
		return Set{}
	}
	return t.Key.zero()
}

func (b BaseType) zero() any {
	switch b.Type {
	case TypeInteger:
		return int64(0)
	case TypeReal:
		return float64(0)
	case TypeBoolean:
		return false
	case TypeUUID:
		return ZeroUUID
	}
	return ""
}

// Normalize converts a decoded value to the column's type: a lone atom
// becomes a one-element Set in a set column, integers become reals in
// real columns, and anything else that does not fit is an error wrapping
// [ErrDecode]. It does not change v.
func (t ColumnType) Normalize(v any) (any, error) { return t.normalize(v, false) }

// normalize is Normalize; with owned it may convert v's elements in place
// (the decoder owns what it has just parsed).
func (t ColumnType) normalize(v any, owned bool) (any, error) {
	if t.IsMap() {
		switch m := v.(type) {
		case Map:
			if owned && t.Key.Type != TypeReal && t.Value.Type != TypeReal {
				for k, val := range m { // nothing to convert: check only
					if _, err := t.Key.normalize(k); err != nil {
						return nil, err
					}
					if _, err := t.Value.normalize(val); err != nil {
						return nil, err
					}
				}
				return m, nil
			}
			out := make(Map, len(m))
			for k, val := range m {
				k2, err := t.Key.normalize(k)
				if err != nil {
					return nil, err
				}
				val2, err := t.Value.normalize(val)
				if err != nil {
					return nil, err
				}
				out[k2] = val2
			}
			return out, nil
		case Set:
			if len(m) == 0 {
				return Map{}, nil
			}
		}
		return nil, decodeErrorf("%T where a map is expected", v)
	}
	if t.IsSet() {
		if s, ok := v.(Set); ok {
			out := s
			if !owned {
				out = make(Set, len(s))
			}
			for i, e := range s {
				var err error
				if out[i], err = t.Key.normalize(e); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
		a, err := t.Key.normalize(v)
		if err != nil {
			return nil, err
		}
		return Set{a}, nil
	}
	return t.Key.normalize(v)
}

// normalize checks that an atom has the base type, converting integers to
// reals for real columns.
func (b BaseType) normalize(v any) (any, error) {
	ok := false
	switch b.Type {
	case TypeInteger:
		_, ok = v.(int64)
	case TypeReal:
		switch x := v.(type) {
		case float64:
			ok = true
		case int64:
			return float64(x), nil
		}
	case TypeBoolean:
		_, ok = v.(bool)
	case TypeString:
		_, ok = v.(string)
	case TypeUUID:
		_, ok = v.(UUID)
	}
	if !ok {
		return nil, decodeErrorf("%T where %s is expected", v, b.Type)
	}
	return v, nil
}
