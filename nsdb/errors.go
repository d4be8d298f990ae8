package nsdb

import (
	"errors"
	"strconv"

	"github.com/hivenet/hivenet/topology"
)

// Sentinel errors. Every error a backend returns wraps exactly one of them,
// or a context error (context.Canceled, context.DeadlineExceeded) when the
// caller's context ended first.
var (
	// ErrNotFound: the object, table entry, state value or sequence does not
	// exist.
	ErrNotFound = errors.New("nsdb: not found")
	// ErrExists: an object with that kind and ID already exists.
	ErrExists = errors.New("nsdb: already exists")
	// ErrConflict: a version the caller pinned (Op.IfVersion, a Check op) no
	// longer matches; someone else wrote first. Re-read and retry. Backends
	// never return ErrConflict for races on objects the caller did not pin:
	// they retry those internally.
	ErrConflict = errors.New("nsdb: version conflict")
	// ErrReferenced: a delete was refused because another object refers to
	// the target with a [topology.DeleteRefuse] binding. The error is a
	// *[ReferencedError] naming the referrer.
	ErrReferenced = errors.New("nsdb: object is referenced")
	// ErrInvalid: the input is invalid. For topology writes the error also
	// wraps the *[topology.ValidationError] listing every problem, so
	// errors.As recovers it and errors.Is(err, topology.ErrDangling) works.
	ErrInvalid = errors.New("nsdb: invalid")
	// ErrNotOwner: an ephemeral value (table entry, state key value,
	// leadership) is held by another session, so the caller may not change
	// or remove it.
	ErrNotOwner = errors.New("nsdb: not the owner")
	// ErrSessionExpired: the caller's session expired while the operation
	// was in flight or waiting (for example Elections.Campaign); ephemeral
	// state it owned is gone. The client continues with a new session.
	ErrSessionExpired = errors.New("nsdb: session expired")
	// ErrClosed: the client, watch or table handle was closed.
	ErrClosed = errors.New("nsdb: closed")
	// ErrUnavailable: the backend cannot be reached right now (connection
	// loss); the operation may or may not have been applied. Retry.
	ErrUnavailable = errors.New("nsdb: backend unavailable")
	// ErrDenied: the backend refused the operation to the caller's
	// credentials (a ZooKeeper ACL the client's identity is not in).
	ErrDenied = errors.New("nsdb: access denied")
)

// ReferencedError is returned (wrapped) when deleting an object is refused
// because another object refers to it with a [topology.DeleteRefuse] binding.
// It unwraps to [ErrReferenced].
type ReferencedError struct {
	// Kind and ID name the object whose deletion was refused.
	Kind topology.Kind
	ID   topology.ID
	// ByKind and ByID name the referring object, Field its referring field
	// (as in [topology.Ref].Field).
	ByKind topology.Kind
	ByID   topology.ID
	Field  string
}

func (e *ReferencedError) Error() string {
	return "nsdb: cannot delete " + e.Kind.String() + " " + e.ID.String() +
		": referenced by " + e.ByKind.String() + " " + e.ByID.String() + " field " + e.Field
}

// Unwrap returns ErrReferenced.
func (e *ReferencedError) Unwrap() error { return ErrReferenced }

// OpError reports which operation of a Commit failed. It unwraps to the
// cause. Validation failures are not OpErrors: they concern the transaction
// as a whole and are reported after every operation was applied in memory.
type OpError struct {
	// Index is the position of the failing operation among Commit's ops.
	Index int
	Op    Op
	Err   error
}

func (e *OpError) Error() string {
	return "nsdb: op " + strconv.Itoa(e.Index) + " (" + e.Op.String() + "): " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }
