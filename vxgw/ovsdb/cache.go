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

// rowUpdate is one row of <table-updates> (old, new) or <table-updates2>
// (initial, insert, delete, modify): the raw members present.
type rowUpdate struct {
	old, new                        []byte
	initial, insert, delete, modify []byte
}

func parseRowUpdate(raw []byte) (rowUpdate, error) {
	var ru rowUpdate
	err := forEachMember(raw, func(k, v []byte) error {
		switch {
		case keyIs(k, "old"):
			ru.old = v
		case keyIs(k, "new"):
			ru.new = v
		case keyIs(k, "initial"):
			ru.initial = v
		case keyIs(k, "insert"):
			ru.insert = v
		case keyIs(k, "delete"):
			ru.delete = v
		case keyIs(k, "modify"):
			ru.modify = v
		default:
			return decodeErrorf("row update member %.40s", k)
		}
		return nil
	})
	return ru, err
}

// forEachRowUpdate walks <table-updates> or <table-updates2>, calling fn
// for each row of each table the monitor covers.
func (m *Monitor) forEachRowUpdate(schema *DatabaseSchema, raw []byte, fn func(table string, ts *TableSchema, u UUID, ru rowUpdate) error) error {
	return forEachMember(raw, func(tk, rows []byte) error {
		table := ""
		for name := range m.reqs {
			if keyIs(tk, name) {
				table = name
				break
			}
		}
		if table == "" {
			return decodeErrorf("update for unmonitored table %.60s", tk)
		}
		ts, err := schema.Table(table)
		if err != nil {
			return err
		}
		return forEachMember(rows, func(uk, body []byte) error {
			u := UUID(uk[1 : len(uk)-1])
			if !u.Valid() {
				return decodeErrorf("%s row uuid %.60s", table, uk)
			}
			ru, err := parseRowUpdate(body)
			if err != nil {
				return fmt.Errorf("%s row %s: %w", table, u, err)
			}
			if err := fn(table, ts, u, ru); err != nil {
				return fmt.Errorf("%s row %s: %w", table, u, err)
			}
			return nil
		})
	})
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
func (m *Monitor) decodeSnapshot(schema *DatabaseSchema, raw []byte) (map[string]map[UUID]Row, error) {
	snap := make(map[string]map[UUID]Row, len(m.reqs))
	for t := range m.reqs {
		snap[t] = make(map[UUID]Row)
	}
	err := m.forEachRowUpdate(schema, raw, func(t string, ts *TableSchema, u UUID, ru rowUpdate) error {
		body := ru.new
		if m.cond {
			if body = ru.initial; isNull(body) {
				body = ru.insert
			}
		}
		if isNull(body) {
			return decodeErrorf("initial row without contents")
		}
		row, err := m.completeRow(t, ts, body)
		snap[t][u] = row
		return err
	})
	if err != nil {
		return nil, err
	}
	return snap, nil
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
func (m *Monitor) changes(method string, raw []byte) (Updates, error) {
	up := Updates{Tables: make(map[string]map[UUID]RowUpdate)}
	err := m.forEachRowUpdate(m.schema, raw, func(t string, ts *TableSchema, u UUID, ru rowUpdate) error {
		var change RowUpdate
		var err error
		if method == "update2" {
			change, err = m.change2(t, ts, u, ru)
		} else {
			change, err = m.change1(t, ts, u, ru)
		}
		if err != nil {
			return err
		}
		if up.Tables[t] == nil {
			up.Tables[t] = make(map[UUID]RowUpdate)
		}
		up.Tables[t][u] = change
		return nil
	})
	return up, err
}

// change1 decodes one row of an update notification.
func (m *Monitor) change1(table string, ts *TableSchema, u UUID, ru rowUpdate) (RowUpdate, error) {
	old, had := m.cache[table][u]
	switch {
	case !isNull(ru.new):
		row, err := m.completeRow(table, ts, ru.new)
		return RowUpdate{Old: old, New: row}, err
	case ru.old != nil && had:
		return RowUpdate{Old: old}, nil
	case ru.old != nil:
		return RowUpdate{}, decodeErrorf("deleted row not in the cache")
	}
	return RowUpdate{}, decodeErrorf("row update without old or new")
}

// change2 decodes one row of an update2 notification.
func (m *Monitor) change2(table string, ts *TableSchema, u UUID, ru rowUpdate) (RowUpdate, error) {
	old, had := m.cache[table][u]
	switch {
	case !isNull(ru.insert) || !isNull(ru.initial):
		body := ru.insert
		if isNull(body) {
			body = ru.initial
		}
		row, err := m.completeRow(table, ts, body)
		return RowUpdate{Old: old, New: row}, err
	case !isNull(ru.modify):
		if !had {
			return RowUpdate{}, decodeErrorf("modified row not in the cache")
		}
		diff, err := decodeRow(ts, ru.modify)
		if err != nil {
			return RowUpdate{}, err
		}
		return RowUpdate{Old: old, New: applyDiff(old, diff, ts)}, nil
	case ru.delete != nil:
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
