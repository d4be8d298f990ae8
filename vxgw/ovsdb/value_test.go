package ovsdb

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestEncodeValue(t *testing.T) {
	u := UUID("36bd8b3d-b3ef-4c3a-9b8c-4ad1e1c0f1a2")
	for _, tc := range []struct {
		in   any
		want string
	}{
		{"plain", `"plain"`},
		{`q"b\s`, `"q\"b\\s"`},
		{"tab\tnl\n\x01", `"tab\tnl\n\u0001"`},
		{"héllo ✓", `"héllo ✓"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{true, `true`},
		{int64(-7), `-7`},
		{42, `42`},
		{uint16(4095), `4095`},
		{uint64(math.MaxInt64), `9223372036854775807`},
		{1.5, `1.5`},
		{float32(0.25), `0.25`},
		{2.0, `2.0`},
		{math.Copysign(0, -1), `-0.0`},
		{1e21, `1e+21`},
		{u, `["uuid","36bd8b3d-b3ef-4c3a-9b8c-4ad1e1c0f1a2"]`},
		{NamedUUID("loc_1"), `["named-uuid","loc_1"]`},
		{Set{}, `["set",[]]`},
		{Set{"a", int64(1), u}, `["set",["a",1,["uuid","36bd8b3d-b3ef-4c3a-9b8c-4ad1e1c0f1a2"]]]`},
		{Map{}, `["map",[]]`},
		{Map{"b": "2", "a": "1"}, `["map",[["a","1"],["b","2"]]]`},
		{Map{int64(20): u, int64(3): NamedUUID("ls")}, `["map",[[3,["named-uuid","ls"]],[20,["uuid","36bd8b3d-b3ef-4c3a-9b8c-4ad1e1c0f1a2"]]]]`},
	} {
		got, err := appendValue(nil, tc.in)
		if err != nil || string(got) != tc.want {
			t.Errorf("appendValue(%#v) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestEncodeValueErrors(t *testing.T) {
	for _, in := range []any{
		math.NaN(), math.Inf(1), uint64(math.MaxInt64 + 1),
		UUID("not-a-uuid"), UUID("36bd8b3d-b3ef-4c3a-9b8c-4ad1e1c0f1aZ"),
		NamedUUID("1abc"), NamedUUID(""), NamedUUID("a-b"),
		[]string{"a"}, map[string]string{"a": "b"}, nil,
		Set{Set{}}, Map{"k": Set{}}, Row{"a": 1},
	} {
		if got, err := appendValue(nil, in); !errors.Is(err, ErrEncode) {
			t.Errorf("appendValue(%#v) = %s, %v; want ErrEncode", in, got, err)
		}
	}
	_, err := appendRow(nil, Row{"ok": 1, "bad": []int{1}})
	if !errors.Is(err, ErrEncode) || !strings.Contains(err.Error(), "column bad") {
		t.Errorf("appendRow with a bad column: %v", err)
	}
}

func TestDecodeValue(t *testing.T) {
	u := UUID("36bd8b3d-b3ef-4c3a-9b8c-4ad1e1c0f1a2")
	for _, tc := range []struct {
		in   string
		want any
	}{
		{`"x"`, "x"},
		{` "esc\"aped\u00e9" `, `esc"apedé`},
		{`true`, true},
		{`false`, false},
		{`-12`, int64(-12)},
		{`1.0`, 1.0},
		{`2e3`, 2000.0},
		{`["uuid","36bd8b3d-b3ef-4c3a-9b8c-4ad1e1c0f1a2"]`, u},
		{`["named-uuid","row1"]`, NamedUUID("row1")},
		{`["set",[]]`, Set{}},
		{`["set",[1,"a",["uuid","36bd8b3d-b3ef-4c3a-9b8c-4ad1e1c0f1a2"]]]`, Set{int64(1), "a", u}},
		{`["map",[]]`, Map{}},
		{`["map",[[1,["uuid","36bd8b3d-b3ef-4c3a-9b8c-4ad1e1c0f1a2"]],[2,"b"]]]`, Map{int64(1): u, int64(2): "b"}},
	} {
		got, err := DecodeValue([]byte(tc.in))
		if err != nil || !Equal(got, tc.want) {
			t.Errorf("DecodeValue(%s) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
}

func TestDecodeValueErrors(t *testing.T) {
	for _, in := range []string{
		``, `null`, `{}`, `[]`, `["uuid"]`, `["uuid","x"]`, `["uuid",1]`, `["named-uuid","1x"]`,
		`["set",1]`, `["set",[["set",[]]]]`, `["set",[null]]`, `["map",[[1]]]`, `["map",[[1,2,3]]]`,
		`["map",[[1,"a"],[1,"b"]]]`, `["map",[[["set",[]],1]]]`, `["bag",[]]`, `[1,2]`,
		`99999999999999999999`, `1e999`, `"unterminated`, `tru`, `[`, `"a" "b"`,
	} {
		if got, err := DecodeValue([]byte(in)); !errors.Is(err, ErrDecode) {
			t.Errorf("DecodeValue(%q) = %#v, %v; want ErrDecode", in, got, err)
		}
	}
}

func TestValueRoundTrip(t *testing.T) {
	u := UUID("00000000-0000-0000-0000-00000000000a")
	for _, v := range []any{
		"s", int64(0), int64(math.MinInt64), 0.5, 3.0, true, u, NamedUUID("n"),
		Set{}, Set{"a", "b"}, Map{"k": "v", "k2": ""}, Map{int64(1): u, int64(4095): u},
	} {
		b, err := appendValue(nil, v)
		if err != nil {
			t.Fatalf("appendValue(%#v): %v", v, err)
		}
		got, err := DecodeValue(b)
		if err != nil || !Equal(got, v) {
			t.Errorf("round trip of %#v via %s = %#v, %v", v, b, got, err)
		}
	}
}

func TestEqual(t *testing.T) {
	big1, big2 := Set{}, Set{}
	for i := range 40 {
		big1 = append(big1, int64(i))
		big2 = append(big2, int64(39-i))
	}
	for _, tc := range []struct {
		a, b any
		want bool
	}{
		{"a", "a", true},
		{"a", UUID("a"), false},
		{int64(1), 1.0, false},
		{Set{"a", "b"}, Set{"b", "a"}, true},
		{Set{"a", "a"}, Set{"a", "b"}, false},
		{Set{"a"}, "a", false},
		{big1, big2, true},
		{big1, big2[1:], false},
		{Map{"a": "1"}, Map{"a": "1"}, true},
		{Map{"a": "1"}, Map{"a": "2"}, false},
		{Map{"a": "1"}, Map{"b": "1"}, false},
		{Map{}, Set{}, false},
		{[]string{"a"}, []string{"a"}, false}, // not OVSDB values; must not panic
	} {
		if got := Equal(tc.a, tc.b); got != tc.want {
			t.Errorf("Equal(%#v, %#v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	if !RowsEqual(Row{"a": Set{"x", "y"}}, Row{"a": Set{"y", "x"}}) || RowsEqual(Row{"a": "x"}, Row{"b": "x"}) {
		t.Errorf("RowsEqual")
	}
}
