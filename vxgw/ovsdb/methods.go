package ovsdb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
)

// ListDBs returns the names of the databases the server serves.
func (c *Client) ListDBs(ctx context.Context) ([]string, error) {
	raw, err := c.call(ctx, "list_dbs", []byte("[]"))
	if err != nil {
		return nil, err
	}
	var dbs []string
	if err := json.Unmarshal(raw, &dbs); err != nil {
		return nil, decodeErrorf("list_dbs result: %v", err)
	}
	return dbs, nil
}

// GetSchema returns the schema of database db. The client fetches it once
// per connection and shares it: treat it as read-only.
func (c *Client) GetSchema(ctx context.Context, db string) (*DatabaseSchema, error) {
	return c.schema(ctx, db)
}

// Echo sends an echo request and waits for the server's answer: a round
// trip that proves the server is alive.
func (c *Client) Echo(ctx context.Context) error {
	const probe = `["hivenet-echo"]`
	raw, err := c.call(ctx, "echo", []byte(probe))
	if err != nil {
		return err
	}
	var got, want []string
	json.Unmarshal([]byte(probe), &want)
	if err := json.Unmarshal(raw, &got); err != nil || len(got) != 1 || got[0] != want[0] {
		return decodeErrorf("echo returned %.60s", raw)
	}
	return nil
}

// OperationResult is the result of one operation of a transaction.
type OperationResult struct {
	UUID  UUID  // insert: the new row's UUID
	Count int   // update, mutate, delete: the number of rows matched
	Rows  []Row // select: the rows, decoded with the table's schema
}

// paramBufs recycles the encoding buffers of transactions.
var paramBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Transact runs ops as one transaction on database db and returns one
// result per operation. When an operation (or the commit) fails, the whole
// transaction is rolled back and the error is an [*OperationError]
// wrapping [ErrOperation] (and [ErrConstraintViolation],
// [ErrReferentialIntegrity] or [ErrTimedOut] when that is the reason); the
// results are returned as the server gave them. Values of Select results
// are decoded with the database schema, which the client fetches once per
// connection.
//
// A transaction in flight when the connection is lost returns an error
// wrapping [ErrDisconnected]: it may or may not have been committed.
func (c *Client) Transact(ctx context.Context, db string, ops ...Operation) ([]OperationResult, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	var schema *DatabaseSchema
	for _, op := range ops {
		if _, ok := op.(Select); ok {
			var err error
			if schema, err = c.schema(ctx, db); err != nil {
				return nil, err
			}
			break
		}
	}
	bp := paramBufs.Get().(*[]byte)
	defer paramBufs.Put(bp)
	params, err := appendTransact((*bp)[:0], db, ops)
	*bp = params
	if err != nil {
		return nil, fmt.Errorf("ovsdb: transact: %w", err)
	}
	raw, err := c.call(ctx, "transact", params)
	if err != nil {
		return nil, err
	}
	return decodeTransactResult(raw, ops, schema)
}

// appendTransact appends the params of a transact request.
func appendTransact(buf []byte, db string, ops []Operation) ([]byte, error) {
	buf = append(buf, '[')
	buf = appendString(buf, db)
	for i, op := range ops {
		buf = append(buf, ',')
		var err error
		if buf, err = op.appendJSON(buf); err != nil {
			return buf, fmt.Errorf("operation %d (%s): %w", i, op.Op(), err)
		}
	}
	return append(buf, ']'), nil
}

// rawResult is one element of a transact result.
type rawResult struct {
	UUID    json.RawMessage   `json:"uuid"`
	Count   *int              `json:"count"`
	Rows    []json.RawMessage `json:"rows"`
	Error   *string           `json:"error"`
	Details string            `json:"details"`
}

// decodeTransactResult decodes the result array of a transact request.
// schema is needed only for Select results.
func decodeTransactResult(raw json.RawMessage, ops []Operation, schema *DatabaseSchema) ([]OperationResult, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, decodeErrorf("transact result: %v", err)
	}
	if len(elems) < len(ops) {
		return nil, decodeErrorf("transact result has %d elements for %d operations", len(elems), len(ops))
	}
	out := make([]OperationResult, len(ops))
	var firstErr error
	for i, e := range elems {
		if isNull(e) {
			continue // operations after a failed one are not run
		}
		var r rawResult
		if err := json.Unmarshal(e, &r); err != nil {
			return nil, decodeErrorf("transact result %d: %v", i, err)
		}
		if r.Error != nil {
			if firstErr == nil {
				op := "commit"
				if i < len(ops) {
					op = ops[i].Op()
				}
				firstErr = &OperationError{Index: i, Op: op, Err: *r.Error, Details: r.Details}
			}
			continue
		}
		if i >= len(ops) {
			continue
		}
		if err := r.decodeInto(&out[i], ops[i], schema); err != nil {
			return nil, fmt.Errorf("transact result %d (%s): %w", i, ops[i].Op(), err)
		}
	}
	return out, firstErr
}

func (r *rawResult) decodeInto(out *OperationResult, op Operation, schema *DatabaseSchema) error {
	if r.Count != nil {
		out.Count = *r.Count
	}
	if len(r.UUID) > 0 {
		a, err := parseAtom(r.UUID)
		if err != nil {
			return err
		}
		u, ok := a.(UUID)
		if !ok {
			return decodeErrorf("insert result %.60s is not a uuid", bytes.TrimSpace(r.UUID))
		}
		out.UUID = u
	}
	if sel, ok := op.(Select); ok && r.Rows != nil {
		ts, err := schema.Table(sel.Table)
		if err != nil {
			return err
		}
		out.Rows = make([]Row, len(r.Rows))
		for j, rr := range r.Rows {
			if out.Rows[j], err = decodeRow(ts, rr); err != nil {
				return fmt.Errorf("row %d: %w", j, err)
			}
		}
	}
	return nil
}

// decodeRow decodes a row object with its table's schema. Columns the
// schema lacks are an error, except _uuid and _version.
func decodeRow(ts *TableSchema, raw []byte) (Row, error) {
	if isNull(raw) {
		return nil, decodeErrorf("row is null")
	}
	row := make(Row, len(ts.Columns))
	err := forEachMember(raw, func(key, v []byte) error {
		name, cs, err := ts.columnByKey(key)
		if err != nil {
			return err
		}
		val, err := parseValue(v)
		if err != nil {
			return fmt.Errorf("column %s: %w", name, err)
		}
		if row[name], err = cs.Type.normalize(val, true); err != nil {
			return fmt.Errorf("column %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return row, nil
}
