package ovsdb

import (
	"encoding/json"
	"errors"
	"testing"
)

// testSchemaJSON is a small schema with every kind of column the client
// distinguishes.
const testSchemaJSON = `{
  "name": "testdb", "version": "1.0.0",
  "tables": {
    "T": {
      "columns": {
        "name":     {"type": "string"},
        "weight":   {"type": "real"},
        "flag":     {"type": "boolean"},
        "key":      {"type": {"key": "integer", "min": 0, "max": 1}},
        "mode":     {"type": {"key": {"type": "string", "enum": ["set", ["a", "b"]]}}, "mutable": false},
        "one":      {"type": {"key": {"type": "string", "enum": "only"}, "min": 0, "max": 1}},
        "refs":     {"type": {"key": {"type": "uuid", "refTable": "T", "refType": "weak"}, "min": 0, "max": "unlimited"}},
        "pair":     {"type": {"key": "string", "min": 0, "max": 2}},
        "bindings": {"type": {"key": {"type": "integer", "minInteger": 0, "maxInteger": 4095}, "value": {"type": "uuid", "refTable": "T"}, "min": 0, "max": "unlimited"}},
        "config":   {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}},
        "opt_map":  {"type": {"key": "string", "value": "integer", "min": 0, "max": 1}}
      },
      "isRoot": true, "indexes": [["name"]]
    },
    "Mac": {
      "columns": {
        "MAC":            {"type": "string"},
        "logical_switch": {"type": {"key": {"type": "uuid", "refTable": "T"}}},
        "locator":        {"type": {"key": {"type": "uuid", "refTable": "T"}}},
        "ipaddr":         {"type": "string"}
      },
      "isRoot": true
    }
  }
}`

func testSchema(t testing.TB) *DatabaseSchema {
	t.Helper()
	var s DatabaseSchema
	if err := json.Unmarshal([]byte(testSchemaJSON), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestSchemaDecode(t *testing.T) {
	s := testSchema(t)
	ts, err := s.Table("T")
	if err != nil {
		t.Fatal(err)
	}
	if !ts.IsRoot || len(ts.Indexes) != 1 || len(ts.Columns) != 11 {
		t.Fatalf("table T: root %v, indexes %v, %d columns", ts.IsRoot, ts.Indexes, len(ts.Columns))
	}
	col := func(n string) ColumnType { c, _ := ts.Column(n); return c.Type }
	for _, tc := range []struct {
		col                string
		isSet, isMap, comp bool
		key                AtomicType
		min, max           int
	}{
		{"name", false, false, false, TypeString, 1, 1},
		{"key", true, false, false, TypeInteger, 0, 1},
		{"refs", true, false, true, TypeUUID, 0, Unlimited},
		{"pair", true, false, true, TypeString, 0, 2},
		{"bindings", false, true, true, TypeInteger, 0, Unlimited},
		{"opt_map", false, true, false, TypeString, 0, 1},
	} {
		ct := col(tc.col)
		if ct.IsSet() != tc.isSet || ct.IsMap() != tc.isMap || ct.composite() != tc.comp || ct.Key.Type != tc.key || ct.Min != tc.min || ct.Max != tc.max {
			t.Errorf("column %s: %+v", tc.col, ct)
		}
	}
	if c := col("refs"); c.Key.RefTable != "T" || c.Key.RefType != "weak" {
		t.Errorf("refs: %+v", c.Key)
	}
	if c := col("bindings"); c.Value == nil || c.Value.RefType != "strong" {
		t.Errorf("bindings value: %+v", c.Value)
	}
	if c, _ := ts.Column("mode"); !c.Immutable || !Equal(c.Type.Key.Enum, Set{"a", "b"}) {
		t.Errorf("mode: %+v", c)
	}
	if c := col("one"); !Equal(c.Key.Enum, Set{"only"}) {
		t.Errorf("one: enum %#v", c.Key.Enum)
	}
	if c, ok := ts.Column("_uuid"); !ok || c.Type.Key.Type != TypeUUID {
		t.Errorf("_uuid: %v %v", c, ok)
	}
	if _, err := s.Table("nope"); !errors.Is(err, ErrUnknownTable) {
		t.Errorf("unknown table: %v", err)
	}
}

func TestSchemaDecodeErrors(t *testing.T) {
	for _, typ := range []string{
		`"float"`, `{"key": "string", "min": 2, "max": 1}`, `{"key": "string", "max": 0}`,
		`{"key": "string", "max": "lots"}`, `{"min": 0}`, `{"key": {"type": "string", "enum": ["set", [["set", []]]]}}`,
		`{"key": "string", "value": "set"}`, `17`,
	} {
		var ct ColumnType
		if err := json.Unmarshal([]byte(typ), &ct); err == nil {
			t.Errorf("column type %s decoded as %+v", typ, ct)
		}
	}
}

func TestNormalize(t *testing.T) {
	ts, _ := testSchema(t).Table("T")
	u := UUID("36bd8b3d-b3ef-4c3a-9b8c-4ad1e1c0f1a2")
	for _, tc := range []struct {
		col     string
		in, out any
	}{
		{"name", "x", "x"},
		{"weight", int64(2), 2.0},
		{"weight", 2.5, 2.5},
		{"key", int64(5), Set{int64(5)}},
		{"key", Set{}, Set{}},
		{"refs", u, Set{u}},
		{"refs", Set{u}, Set{u}},
		{"bindings", Map{int64(1): u}, Map{int64(1): u}},
		{"bindings", Set{}, Map{}},
		{"config", Map{}, Map{}},
	} {
		c, _ := ts.Column(tc.col)
		got, err := c.Type.Normalize(tc.in)
		if err != nil || !Equal(got, tc.out) {
			t.Errorf("Normalize %s %#v = %#v, %v; want %#v", tc.col, tc.in, got, err, tc.out)
		}
	}
	for _, tc := range []struct {
		col string
		in  any
	}{
		{"name", int64(1)}, {"name", Set{"x"}}, {"key", 1.5}, {"key", Set{"a"}}, {"refs", "x"},
		{"bindings", Map{"a": u}}, {"bindings", Map{int64(1): "x"}}, {"bindings", Set{u}}, {"flag", "true"},
		{"config", "x"},
	} {
		c, _ := ts.Column(tc.col)
		if got, err := c.Type.Normalize(tc.in); !errors.Is(err, ErrDecode) {
			t.Errorf("Normalize %s %#v = %#v, %v; want ErrDecode", tc.col, tc.in, got, err)
		}
	}
	for col, want := range map[string]any{
		"name": "", "weight": 0.0, "flag": false, "key": Set{}, "refs": Set{}, "config": Map{}, "opt_map": Map{},
	} {
		c, _ := ts.Column(col)
		if got := c.Type.Default(); !Equal(got, want) {
			t.Errorf("Default of %s = %#v, want %#v", col, got, want)
		}
	}
}
