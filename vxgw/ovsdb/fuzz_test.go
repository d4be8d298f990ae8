package ovsdb

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"testing"
)

// FuzzDecodeMessages feeds arbitrary bytes to the JSON-RPC stream decoder
// and every decoder behind it (transact results, monitor replies, update
// and update2 notifications, with the test schema). Bad input must return
// an error — ErrDecode or ErrMessageTooLarge, or the end of the stream —
// never panic, never exceed the size limit, and never change a monitor's
// cache when a notification is refused.
func FuzzDecodeMessages(f *testing.F) {
	for _, seed := range []string{
		`{"id":1,"result":[{"uuid":["uuid","aaaaaaaa-0000-0000-0000-000000000001"]},{"count":2},{"rows":[{"name":"x","key":["set",[]]}]}],"error":null}`,
		`{"id":2,"result":[{"details":"x","error":"constraint violation"},null],"error":null}`,
		`{"id":3,"error":{"error":"unknown database","details":"d"},"result":null}`,
		`{"id":null,"method":"update2","params":["m",{"T":{"aaaaaaaa-0000-0000-0000-000000000001":{"modify":{"refs":["set",[["uuid","bbbbbbbb-0000-0000-0000-000000000002"]]],"config":["map",[["x","9"]]]}}}}]}`,
		`{"id":null,"method":"update2","params":["m",{"T":{"bbbbbbbb-0000-0000-0000-000000000002":{"insert":{"name":"b","bindings":["map",[[1,["uuid","aaaaaaaa-0000-0000-0000-000000000001"]]]]}}}}]}`,
		`{"id":null,"method":"update","params":["m",{"T":{"aaaaaaaa-0000-0000-0000-000000000001":{"old":{"name":"a"},"new":{"name":"a2"}}}}]}`,
		`{"id":null,"method":"update2","params":["m",{"T":{"aaaaaaaa-0000-0000-0000-000000000001":{"delete":null}}}]}`,
		`{"id":"echo","method":"echo","params":[]} {"id":4,"result":{"T":{"cccccccc-0000-0000-0000-000000000003":{"initial":{"name":"c","weight":1.5}}}},"error":null}`,
		`{"a":"}\"{"}`, "{\"id\":1,\"result\":[", `[]`, `{"id":1,"result":["\ud800"],"error":null}`,
	} {
		f.Add([]byte(seed))
	}
	schema := testSchema(f)
	ops := []Operation{Insert{Table: "T"}, Update{Table: "T"}, Select{Table: "T"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 4096
		d := newDecoder(bytes.NewReader(data), max)
		m1, _ := testMonitor(nil, false)
		m2, _ := testMonitor(nil, true)
		initial := []byte(`{"T":{"aaaaaaaa-0000-0000-0000-000000000001":{"initial":{"name":"a","config":["map",[["x","1"]]],"refs":["uuid","cccccccc-0000-0000-0000-000000000003"]}}}}`)
		if err := m2.applyInitial(schema, initial, false); err != nil {
			t.Fatal(err)
		}
		m1.applyInitial(schema, []byte(`{"T":{"aaaaaaaa-0000-0000-0000-000000000001":{"new":{"name":"a"}}}}`), false)
		for range 32 {
			raw, err := d.next()
			if err != nil {
				break
			}
			if len(raw) > max {
				t.Fatalf("decoder returned %d bytes, limit %d", len(raw), max)
			}
			var msg message
			err = parseMessage(raw, &msg)
			if err != nil {
				if !errors.Is(err, ErrDecode) {
					t.Fatalf("parseMessage error %v does not wrap ErrDecode", err)
				}
				break
			}
			if !json.Valid(raw) {
				t.Fatalf("invalid JSON %q accepted", raw)
			}
			responseError("x", msg.Error)
			if res, err := decodeTransactResult(msg.Result, ops, schema); err == nil && len(res) != len(ops) {
				t.Fatalf("%d results for %d operations", len(res), len(ops))
			}
			for _, m := range []*Monitor{m1, m2} {
				before := maps.Clone(m.Table("T"))
				var params []json.RawMessage
				if json.Unmarshal(msg.Params, &params) == nil && len(params) == 2 {
					if err := m.applyUpdate(msg.Method, params[1]); err != nil {
						if !errors.Is(err, ErrDecode) && !errors.Is(err, ErrUnknownTable) {
							t.Fatalf("applyUpdate error %v wraps no sentinel", err)
						}
						if after := m.Table("T"); !maps.EqualFunc(before, after, RowsEqual) {
							t.Fatalf("refused notification changed the cache:\n%v\n%v", before, after)
						}
					}
				}
				m.applyInitial(schema, msg.Result, true)
			}
		}
	})
}

// FuzzDecodeValue checks that the value decoder refuses what is not an
// OVSDB value with ErrDecode and that whatever it accepts encodes back to
// an equal value.
func FuzzDecodeValue(f *testing.F) {
	for _, seed := range []string{
		`"s"`, `12`, `-1.5e3`, `true`, `["uuid","aaaaaaaa-0000-0000-0000-000000000001"]`, `["named-uuid","x"]`,
		`["set",[1,2,"x"]]`, `["map",[[1,"a"],[2,"b"]]]`, `["map",[[1,"a"],[1,"b"]]]`, `["set",[["set",[]]]]`,
		`"\u00e9\n"`, `null`, `{}`, `1e400`, `{"name":"x","refs":["set",[]]}`, `{"name":["set"`,
	} {
		f.Add([]byte(seed))
	}
	ts, _ := testSchema(f).Table("T")
	f.Fuzz(func(t *testing.T, data []byte) {
		// The internal decoders assume validated JSON; on anything else
		// they must still fail cleanly.
		if _, err := parseValue(data); err != nil && !errors.Is(err, ErrDecode) {
			t.Fatalf("parseValue error %v does not wrap ErrDecode", err)
		}
		if _, err := decodeRow(ts, data); err != nil && !errors.Is(err, ErrDecode) {
			t.Fatalf("decodeRow error %v does not wrap ErrDecode", err)
		}
		v, err := DecodeValue(data)
		if err != nil {
			if !errors.Is(err, ErrDecode) {
				t.Fatalf("error %v does not wrap ErrDecode", err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("invalid JSON %q decoded as %#v", data, v)
		}
		enc, err := appendValue(nil, v)
		if err != nil {
			t.Fatalf("decoded value %#v does not encode: %v", v, err)
		}
		v2, err := DecodeValue(enc)
		if err != nil || !Equal(v, v2) {
			t.Fatalf("%q → %#v → %s → %#v, %v", data, v, enc, v2, err)
		}
	})
}
