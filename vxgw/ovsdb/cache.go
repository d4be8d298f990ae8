package ovsdb

import (
	"encoding/json"
	"fmt"
)

// The monitor cache. A monitor's reply ("initial" contents) and its
// notifications are decoded with the schema into complete rows (every
// monitored column, the defaults that update2 omits filled in) and applied
// to the cache; the handler then gets the complete old and new rows.
//
// Wire formats: <table-updates> (monitor, update) maps table → uuid →
// {"old": row, "new": row}, where "old" holds only the changed columns of
// a modified row. <table-updates2> (monitor_cond, update2) maps table →
// uuid → one of {"initial": row}, {"insert": row}, {"delete": null},
// {"modify": diff}; a diff holds the new value of single-valued columns,
// the elements to toggle of sets, and for maps the pairs to add, remove
// (same value) or change (new value).

// rowUpdate1 is one row of <table-updates>.
type rowUpdate1 struct {
	Old json.RawMessage `json:"old"`
	New json.RawMessage `json:"new"`
}

// rowUpdate2 is one row of <table-updates2>.
type rowUpdate2 struct {
	Initial json.RawMessage `json:"initial"`
	Insert  json.RawMessage `json:"insert"`
	Delete  json.RawMessage `json:"delete"`
	Modify  json.RawMessage `json:"modify"`
}

// monitoredColumns returns the columns a monitor of table ts covers.
func (m *Monitor) monitoredColumns(table string, ts *TableSchema) []string {
	if cols := m.reqs[table].Columns; len(cols) > 0 {
		return cols
	}
	cols := make([]string, 0, len(ts.Columns))
	for c := range ts.Columns {
		cols = append(cols, c)
	}
	return cols
}

// completeRow decodes a full row and fills in the monitored columns it
// omits with their defaults.
func (m *Monitor) completeRow(table string, ts *TableSchema, raw json.RawMessage) (Row, error) {
	row, err := decodeRow(ts, raw)
	if err != nil {
		return nil, err
	}
	for _, col := range m.monitoredColumns(table, ts) {
		if _, ok := row[col]; !ok {
			if cs, ok := ts.Column(col); ok {
				row[col] = cs.Type.Default()
			}
		}
	}
	delete(row, "_uuid")
	delete(row, "_version")
	return row, nil
}

// decodeSnapshot decodes a monitor reply into complete rows.
func (m *Monitor) decodeSnapshot(schema *DatabaseSchema, raw json.RawMessage) (map[string]map[UUID]Row, error) {
	snap := make(map[string]map[UUID]Row, len(m.reqs))
	for t := range m.reqs {
		snap[t] = make(map[UUID]Row)
	}
	if m.cond {
		var tu map[string]map[UUID]rowUpdate2
		if err := json.Unmarshal(raw, &tu); err != nil {
			return nil, decodeErrorf("table-updates2: %v", err)
		}
		for t, rows := range tu {
			ts, err := m.tableSchema(schema, t)
			if err != nil {
				return nil, err
			}
			for u, ru := range rows {
				body := ru.Initial
				if isNull(body) {
					body = ru.Insert
				}
				if isNull(body) || !u.Valid() {
					return nil, decodeErrorf("initial row %s of %s without contents", u, t)
				}
				if snap[t][u], err = m.completeRow(t, ts, body); err != nil {
					return nil, fmt.Errorf("%s row %s: %w", t, u, err)
				}
			}
		}
		return snap, nil
	}
	var tu map[string]map[UUID]rowUpdate1
	if err := json.Unmarshal(raw, &tu); err != nil {
		return nil, decodeErrorf("table-updates: %v", err)
	}
	for t, rows := range tu {
		ts, err := m.tableSchema(schema, t)
		if err != nil {
			return nil, err
		}
		for u, ru := range rows {
			if isNull(ru.New) || !u.Valid() {
				return nil, decodeErrorf("initial row %s of %s without contents", u, t)
			}
			if snap[t][u], err = m.completeRow(t, ts, ru.New); err != nil {
				return nil, fmt.Errorf("%s row %s: %w", t, u, err)
			}
		}
	}
	return snap, nil
}

// tableSchema returns the schema of a table the monitor covers.
func (m *Monitor) tableSchema(schema *DatabaseSchema, table string) (*TableSchema, error) {
	if _, ok := m.reqs[table]; !ok {
		return nil, decodeErrorf("update for unmonitored table %q", table)
	}
	return schema.Table(table)
}

// applyInitial replaces the cache with a monitor reply. For a resync it
// reports the differences between the old cache and the reply: rows gone
// (deleted while disconnected), new rows and changed rows.
func (m *Monitor) applyInitial(schema *DatabaseSchema, raw json.RawMessage, resync bool) error {
	snap, err := m.decodeSnapshot(schema, raw)
	if err != nil {
		return err
	}
	m.mu.Lock()
	if m.canceled {
		m.mu.Unlock()
		return nil
	}
	up := Updates{Resync: resync, Tables: make(map[string]map[UUID]RowUpdate)}
	for t, rows := range snap {
		old := m.cache[t]
		changes := make(map[UUID]RowUpdate)
		for u, r := range rows {
			if o, ok := old[u]; !ok || !RowsEqual(o, r) {
				changes[u] = RowUpdate{Old: o, New: r}
			}
		}
		for u, o := range old {
			if _, ok := rows[u]; !ok {
				changes[u] = RowUpdate{Old: o}
			}
		}
		if len(changes) > 0 {
			up.Tables[t] = changes
		}
	}
	m.cache, m.schema = snap, schema
	m.mu.Unlock()
	if len(up.Tables) > 0 {
		m.handler(up)
	}
	return nil
}

// applyUpdate applies an update or update2 notification to the cache and
// passes the complete changes to the handler. Nothing is applied when any
// part of the notification is invalid.
func (m *Monitor) applyUpdate(method string, raw json.RawMessage) error {
	m.mu.Lock()
	if m.canceled {
		m.mu.Unlock()
		return nil
	}
	up, err := m.changes(method, raw)
	if err == nil {
		for t, rows := range up.Tables {
			cache := m.cache[t]
			for u, ru := range rows {
				if ru.New == nil {
					delete(cache, u)
				} else {
					cache[u] = ru.New
				}
			}
		}
	}
	m.mu.Unlock()
	if err != nil {
		return err
	}
	if len(up.Tables) > 0 {
		m.handler(up)
	}
	return nil
}

// changes decodes a notification against the cache (m.mu held).
func (m *Monitor) changes(method string, raw json.RawMessage) (Updates, error) {
	up := Updates{Tables: make(map[string]map[UUID]RowUpdate)}
	if method == "update2" {
		var tu map[string]map[UUID]rowUpdate2
		if err := json.Unmarshal(raw, &tu); err != nil {
			return up, decodeErrorf("table-updates2: %v", err)
		}
		for t, rows := range tu {
			ts, err := m.tableSchema(m.schema, t)
			if err != nil {
				return up, err
			}
			changes := make(map[UUID]RowUpdate, len(rows))
			for u, ru := range rows {
				if changes[u], err = m.change2(t, ts, u, ru); err != nil {
					return up, fmt.Errorf("%s row %s: %w", t, u, err)
				}
			}
			up.Tables[t] = changes
		}
		return up, nil
	}
	var tu map[string]map[UUID]rowUpdate1
	if err := json.Unmarshal(raw, &tu); err != nil {
		return up, decodeErrorf("table-updates: %v", err)
	}
	for t, rows := range tu {
		ts, err := m.tableSchema(m.schema, t)
		if err != nil {
			return up, err
		}
		changes := make(map[UUID]RowUpdate, len(rows))
		for u, ru := range rows {
			if !u.Valid() {
				return up, decodeErrorf("%s row uuid %q", t, u)
			}
			old, had := m.cache[t][u]
			switch {
			case !isNull(ru.New):
				row, err := m.completeRow(t, ts, ru.New)
				if err != nil {
					return up, fmt.Errorf("%s row %s: %w", t, u, err)
				}
				changes[u] = RowUpdate{Old: old, New: row}
			case had:
				changes[u] = RowUpdate{Old: old}
			default:
				return up, decodeErrorf("%s row %s deleted but not in the cache", t, u)
			}
		}
		up.Tables[t] = changes
	}
	return up, nil
}

// change2 decodes one row of an update2 notification.
func (m *Monitor) change2(table string, ts *TableSchema, u UUID, ru rowUpdate2) (RowUpdate, error) {
	if !u.Valid() {
		return RowUpdate{}, decodeErrorf("row uuid %q", u)
	}
	old, had := m.cache[table][u]
	switch {
	case !isNull(ru.Insert) || !isNull(ru.Initial):
		body := ru.Insert
		if isNull(body) {
			body = ru.Initial
		}
		row, err := m.completeRow(table, ts, body)
		return RowUpdate{Old: old, New: row}, err
	case !isNull(ru.Modify):
		if !had {
			return RowUpdate{}, decodeErrorf("modified row not in the cache")
		}
		diff, err := decodeRow(ts, ru.Modify)
		if err != nil {
			return RowUpdate{}, err
		}
		return RowUpdate{Old: old, New: applyDiff(old, diff, ts)}, nil
	case ru.Delete != nil:
		if !had {
			return RowUpdate{}, decodeErrorf("deleted row not in the cache")
		}
		return RowUpdate{Old: old}, nil
	}
	return RowUpdate{}, decodeErrorf("row update without initial, insert, delete or modify")
}

// applyDiff returns old with an update2 diff applied; old is not changed.
func applyDiff(old, diff Row, ts *TableSchema) Row {
	out := make(Row, len(old))
	for k, v := range old {
		out[k] = v
	}
	for col, d := range diff {
		if col == "_uuid" || col == "_version" {
			continue // the cache keeps neither (ovsdb-server sends _version in diffs)
		}
		cs, _ := ts.Column(col) // decodeRow checked it exists
		if !cs.Type.composite() {
			out[col] = d
			continue
		}
		if cs.Type.IsMap() {
			prev, _ := out[col].(Map)
			next := make(Map, len(prev))
			for k, v := range prev {
				next[k] = v
			}
			for k, v := range d.(Map) {
				if pv, ok := next[k]; ok && Equal(pv, v) {
					delete(next, k)
				} else {
					next[k] = v
				}
			}
			out[col] = next
			continue
		}
		prev, _ := out[col].(Set)
		next := make(Set, 0, len(prev)+len(d.(Set)))
		next = append(next, prev...)
		for _, e := range d.(Set) {
			if i := indexOf(next, e); i >= 0 {
				next = append(next[:i], next[i+1:]...)
			} else {
				next = append(next, e)
			}
		}
		out[col] = next
	}
	return out
}

func indexOf(s Set, e any) int {
	for i, x := range s {
		if Equal(x, e) {
			return i
		}
	}
	return -1
}
