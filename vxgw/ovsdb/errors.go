package ovsdb

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by the client wrap one of them (test
// with errors.Is); [RPCError] and [OperationError] carry the details the
// server gave.
var (
	// ErrClosed reports a call on a closed [Client].
	ErrClosed = errors.New("ovsdb: client closed")
	// ErrDisconnected reports that the connection broke while a call was
	// in flight: a transaction may or may not have been committed.
	ErrDisconnected = errors.New("ovsdb: connection lost")
	// ErrKeepalive reports a connection closed because the server stopped
	// answering (nothing received for two echo intervals).
	ErrKeepalive = errors.New("ovsdb: server stopped answering echo")
	// ErrMessageTooLarge reports a message from the server larger than
	// Config.MaxMessageSize; the connection is closed.
	ErrMessageTooLarge = errors.New("ovsdb: message too large")
	// ErrDecode reports bytes from the server that are not valid JSON-RPC
	// or not valid OVSDB values for the schema.
	ErrDecode = errors.New("ovsdb: malformed message")
	// ErrEncode reports a value the client cannot encode (a Go type that
	// is not an OVSDB atom, set or map, or a malformed UUID).
	ErrEncode = errors.New("ovsdb: value cannot be encoded")
	// ErrRequest reports a request the server rejected as a whole (the
	// error member of a JSON-RPC response); see [RPCError].
	ErrRequest = errors.New("ovsdb: request rejected")
	// ErrUnknownDatabase reports a request naming a database the server
	// does not have.
	ErrUnknownDatabase = errors.New("ovsdb: unknown database")
	// ErrUnknownTable reports a table that the database schema lacks.
	ErrUnknownTable = errors.New("ovsdb: unknown table")
	// ErrUnknownColumn reports a column that the table schema lacks.
	ErrUnknownColumn = errors.New("ovsdb: unknown column")

	// ErrOperation reports that a transaction failed: one of its
	// operations, or its commit, returned an error; see [OperationError].
	ErrOperation = errors.New("ovsdb: transaction failed")
	// ErrConstraintViolation: a value broke a column constraint, an index
	// became non-unique, or a table exceeded its maximum rows.
	ErrConstraintViolation = errors.New("ovsdb: constraint violation")
	// ErrReferentialIntegrity: a strong reference names a row that does
	// not exist, or a deleted row is still referenced.
	ErrReferentialIntegrity = errors.New("ovsdb: referential integrity violation")
	// ErrTimedOut: a wait operation's condition did not hold within its
	// timeout.
	ErrTimedOut = errors.New("ovsdb: wait timed out")
)

// opErrorKinds maps the error strings of RFC 7047 (and ovsdb-server) to
// the sentinels an [OperationError] matches besides [ErrOperation].
var opErrorKinds = map[string]error{
	"constraint violation":            ErrConstraintViolation,
	"referential integrity violation": ErrReferentialIntegrity,
	"timed out":                       ErrTimedOut,
}

// RPCError is the error member of a JSON-RPC response: the server rejected
// the whole request. It matches [ErrRequest], and [ErrUnknownDatabase]
// when that is the reason.
type RPCError struct {
	Method  string // the request's method
	Err     string // the error string, e.g. "unknown database"
	Details string // human-readable details, may be empty
	Syntax  string // ovsdb-server: the part of the request it could not parse
}

func (e *RPCError) Error() string {
	s := fmt.Sprintf("ovsdb: %s: %s", e.Method, e.Err)
	if e.Details != "" {
		s += ": " + e.Details
	}
	return s
}

// Unwrap returns [ErrRequest] and, for the errors that have one, a more
// precise sentinel.
func (e *RPCError) Unwrap() []error {
	if e.Err == "unknown database" {
		return []error{ErrRequest, ErrUnknownDatabase}
	}
	return []error{ErrRequest}
}

// OperationError is the first error of a transaction's results. Index is
// the position of the failed operation in the request, or len(ops) when
// the commit itself failed (ovsdb-server reports, for instance,
// referential integrity and index uniqueness at commit).
type OperationError struct {
	Index   int
	Op      string // the operation ("insert", ..., or "commit")
	Err     string // the error string, e.g. "constraint violation"
	Details string
}

func (e *OperationError) Error() string {
	s := fmt.Sprintf("ovsdb: transact: operation %d (%s): %s", e.Index, e.Op, e.Err)
	if e.Details != "" {
		s += ": " + e.Details
	}
	return s
}

// Unwrap returns [ErrOperation] and, when the error string is one of the
// common ones, [ErrConstraintViolation], [ErrReferentialIntegrity] or
// [ErrTimedOut].
func (e *OperationError) Unwrap() []error {
	if k, ok := opErrorKinds[e.Err]; ok {
		return []error{ErrOperation, k}
	}
	return []error{ErrOperation}
}

// decodeErrorf returns an error wrapping [ErrDecode].
func decodeErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrDecode}, args...)...)
}

// encodeErrorf returns an error wrapping [ErrEncode].
func encodeErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrEncode}, args...)...)
}
