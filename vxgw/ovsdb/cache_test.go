package ovsdb

import (
	"errors"
	"testing"
)

const (
	uA UUID = "aaaaaaaa-0000-0000-0000-000000000001"
	uB UUID = "bbbbbbbb-0000-0000-0000-000000000002"
	uC UUID = "cccccccc-0000-0000-0000-000000000003"
)

// testMonitor returns a monitor of table T of the test schema that records
// what its handler gets.
func testMonitor(t testing.TB, cond bool, columns ...string) (*Monitor, *[]Updates) {
	var got []Updates
	m := &Monitor{
		id: "m", db: "testdb", cond: cond,
		reqs:    map[string]MonitorRequest{"T": {Columns: columns}},
		handler: func(u Updates) { got = append(got, u) },
		cache:   make(map[string]map[UUID]Row),
	}
	return m, &got
}

func mustRow(t *testing.T, m *Monitor, u UUID) Row {
	t.Helper()
	r, ok := m.Row("T", u)
	if !ok {
		t.Fatalf("row %s not in the cache", u)
	}
	return r
}

func TestCacheUpdate2(t *testing.T) {
	m, got := testMonitor(t, true)
	s := testSchema(t)
	err := m.applyInitial(s, []byte(`{"T":{"`+string(uA)+`":{"initial":{"name":"a","key":5,
		"refs":["uuid","`+string(uB)+`"],"config":["map",[["x","1"],["y","2"]]]}}}}`), false)
	if err != nil {
		t.Fatal(err)
	}
	a := mustRow(t, m, uA)
	want := Row{"name": "a", "weight": 0.0, "flag": false, "key": Set{int64(5)}, "mode": "", "one": Set{},
		"refs": Set{uB}, "pair": Set{}, "bindings": Map{}, "config": Map{"x": "1", "y": "2"}, "opt_map": Map{}}
	if !RowsEqual(a, want) {
		t.Fatalf("initial row with defaults:\n got %v\nwant %v", a, want)
	}
	if len(*got) != 1 || (*got)[0].Resync || (*got)[0].Tables["T"][uA].Old != nil {
		t.Fatalf("initial updates: %+v", *got)
	}

	// A modify toggles set elements, adds, changes and removes map pairs,
	// and replaces single values (an optional one by its new value).
	err = m.applyUpdate("update2", []byte(`{"T":{"`+string(uA)+`":{"modify":{
		"refs":["set",[["uuid","`+string(uB)+`"],["uuid","`+string(uC)+`"]]],
		"config":["map",[["x","1"],["y","3"],["z","4"]]],
		"key":["set",[]],"weight":2,"name":"a2","_version":["uuid","`+string(uC)+`"]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	a2 := mustRow(t, m, uA)
	want2 := Row{"name": "a2", "weight": 2.0, "flag": false, "key": Set{}, "mode": "", "one": Set{},
		"refs": Set{uC}, "pair": Set{}, "bindings": Map{}, "config": Map{"y": "3", "z": "4"}, "opt_map": Map{}}
	if !RowsEqual(a2, want2) {
		t.Fatalf("modified row:\n got %v\nwant %v", a2, want2)
	}
	if ru := (*got)[1].Tables["T"][uA]; !RowsEqual(ru.Old, a) || !RowsEqual(ru.New, a2) {
		t.Fatalf("modify update: %+v", ru)
	}
	if !RowsEqual(a, want) {
		t.Fatalf("the old row changed in place: %v", a)
	}

	// Insert and delete in one notification.
	err = m.applyUpdate("update2", []byte(`{"T":{"`+string(uB)+`":{"insert":{"name":"b"}},"`+string(uA)+`":{"delete":null}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Row("T", uA); ok || m.Len("T") != 1 {
		t.Fatalf("after delete: %v", m.Table("T"))
	}
	u := (*got)[2].Tables["T"]
	if u[uA].New != nil || !RowsEqual(u[uA].Old, a2) || u[uB].Old != nil || u[uB].New["name"] != "b" {
		t.Fatalf("insert+delete update: %+v", u)
	}
}

// Bad notifications change nothing and report an error (the client then
// resynchronises).
func TestCacheUpdate2Errors(t *testing.T) {
	m, got := testMonitor(t, true)
	if err := m.applyInitial(testSchema(t), []byte(`{"T":{"`+string(uA)+`":{"initial":{"name":"a"}}}}`), false); err != nil {
		t.Fatal(err)
	}
	before := mustRow(t, m, uA)
	for _, bad := range []string{
		`{"T":{"` + string(uB) + `":{"modify":{"name":"x"}}}}`,
		`{"T":{"` + string(uB) + `":{"delete":null}}}`,
		`{"T":{"` + string(uA) + `":{"modify":{"nope":"x"}}}}`,
		`{"T":{"` + string(uA) + `":{"modify":{"name":1}}}}`,
		`{"T":{"` + string(uA) + `":{}}}`,
		`{"T":{"not-a-uuid":{"insert":{"name":"x"}}}}`,
		`{"U":{"` + string(uA) + `":{"delete":null}}}`,
		`{"T":{"` + string(uA) + `":{"modify":{"name":"changed"}},"` + string(uB) + `":{"modify":{"name":"x"}}}}`,
		`[]`,
	} {
		if err := m.applyUpdate("update2", []byte(bad)); err == nil {
			t.Errorf("applyUpdate(%s) succeeded", bad)
		}
	}
	if m.Len("T") != 1 || !RowsEqual(mustRow(t, m, uA), before) || len(*got) != 1 {
		t.Fatalf("bad notifications changed the cache: %v, %d updates", m.Table("T"), len(*got))
	}
}

func TestCacheUpdate1(t *testing.T) {
	m, got := testMonitor(t, false, "name", "config")
	s := testSchema(t)
	err := m.applyInitial(s, []byte(`{"T":{"`+string(uA)+`":{"new":{"name":"a","config":["map",[["k","v"]]]}}}}`), false)
	if err != nil {
		t.Fatal(err)
	}
	err = m.applyUpdate("update", []byte(`{"T":{"`+string(uA)+`":{"old":{"name":"a"},"new":{"name":"a2","config":["map",[["k","v"]]]}},
		"`+string(uB)+`":{"new":{"name":"b"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	u := (*got)[1].Tables["T"]
	if !RowsEqual(u[uA].Old, Row{"name": "a", "config": Map{"k": "v"}}) || !RowsEqual(u[uA].New, Row{"name": "a2", "config": Map{"k": "v"}}) {
		t.Fatalf("modify: %+v", u[uA])
	}
	if !RowsEqual(u[uB].New, Row{"name": "b", "config": Map{}}) {
		t.Fatalf("insert with only the monitored columns filled: %+v", u[uB])
	}
	if err := m.applyUpdate("update", []byte(`{"T":{"`+string(uA)+`":{"old":{"name":"a2","config":["map",[["k","v"]]]}}}}`)); err != nil {
		t.Fatal(err)
	}
	if m.Len("T") != 1 || (*got)[2].Tables["T"][uA].New != nil {
		t.Fatalf("delete: %v", m.Table("T"))
	}
	if err := m.applyUpdate("update", []byte(`{"T":{"`+string(uC)+`":{"old":{"name":"c"}}}}`)); err == nil {
		t.Fatal("deleting a row the cache lacks succeeded")
	}
}

// After a reconnection the new snapshot replaces the cache and the handler
// learns what changed during the outage, deletions included.
func TestCacheResync(t *testing.T) {
	for _, cond := range []bool{false, true} {
		m, got := testMonitor(t, cond, "name")
		s := testSchema(t)
		row := func(name string) string {
			if cond {
				return `{"initial":{"name":"` + name + `"}}`
			}
			return `{"new":{"name":"` + name + `"}}`
		}
		first := `{"T":{"` + string(uA) + `":` + row("a") + `,"` + string(uB) + `":` + row("b") + `}}`
		if err := m.applyInitial(s, []byte(first), false); err != nil {
			t.Fatal(err)
		}
		second := `{"T":{"` + string(uB) + `":` + row("b2") + `,"` + string(uC) + `":` + row("c") + `}}`
		if err := m.applyInitial(s, []byte(second), true); err != nil {
			t.Fatal(err)
		}
		if len(*got) != 2 || !(*got)[1].Resync {
			t.Fatalf("cond=%v: updates %+v", cond, *got)
		}
		u := (*got)[1].Tables["T"]
		if len(u) != 3 || u[uA].New != nil || u[uA].Old["name"] != "a" || u[uB].Old["name"] != "b" ||
			u[uB].New["name"] != "b2" || u[uC].Old != nil || u[uC].New["name"] != "c" {
			t.Fatalf("cond=%v: resync changes %+v", cond, u)
		}
		if m.Len("T") != 2 {
			t.Fatalf("cond=%v: cache %v", cond, m.Table("T"))
		}
		// The same snapshot again changes nothing and calls no handler.
		if err := m.applyInitial(s, []byte(second), true); err != nil || len(*got) != 2 {
			t.Fatalf("cond=%v: identical resync: %v, %d updates", cond, err, len(*got))
		}
	}
}

func TestCacheUnmonitoredTable(t *testing.T) {
	m, _ := testMonitor(t, true)
	err := m.applyInitial(testSchema(t), []byte(`{"X":{}}`), false)
	if !errors.Is(err, ErrDecode) {
		t.Fatalf("snapshot of an unmonitored table: %v", err)
	}
}
