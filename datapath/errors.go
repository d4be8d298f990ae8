package datapath

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Sentinel errors. Errors returned by implementations wrap them so that
// errors.Is works; the kernel client's errors also match the underlying
// syscall.Errno and, for ErrNotFound and ErrExists, os.ErrNotExist and
// os.ErrExist.
var (
	// ErrNotFound: no such datapath, port or flow (ENOENT, ENODEV).
	ErrNotFound = errors.New("datapath: not found")
	// ErrExists: the datapath, port or flow already exists (EEXIST, EBUSY).
	ErrExists = errors.New("datapath: already exists")
	// ErrInvalid: the request was rejected as malformed (EINVAL, ERANGE).
	ErrInvalid = errors.New("datapath: invalid argument")
	// ErrNotSupported: the datapath lacks the feature (EOPNOTSUPP, and a
	// missing openvswitch module, which also matches os.ErrNotExist).
	ErrNotSupported = errors.New("datapath: not supported")
	// ErrClosed: the client or socket was closed.
	ErrClosed = errors.New("datapath: closed")
	// ErrMalformed: a message from the datapath could not be decoded.
	ErrMalformed = errors.New("datapath: malformed message")
)

// OpError is the error returned by datapath operations: Op names the
// operation ("flow new", "vport get", ...), Err is the cause.
type OpError struct {
	Op  string
	Err error
}

// Error implements error.
func (e *OpError) Error() string { return "datapath: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// Errno wraps a kernel errno so that it matches both the errno and the
// package sentinel that describes it.
type Errno struct{ syscall.Errno }

// Unwrap returns the errno.
func (e Errno) Unwrap() error { return e.Errno }

// Error implements error.
func (e Errno) Error() string { return e.Errno.Error() }

// Is reports whether target is the sentinel matching the errno.
func (e Errno) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Errno == syscall.ENOENT || e.Errno == syscall.ENODEV
	case os.ErrNotExist:
		return e.Errno == syscall.ENODEV || e.Errno.Is(target)
	case ErrExists:
		return e.Errno == syscall.EEXIST || e.Errno == syscall.EBUSY
	case ErrInvalid:
		return e.Errno == syscall.EINVAL || e.Errno == syscall.ERANGE
	case ErrNotSupported:
		return e.Errno == syscall.EOPNOTSUPP
	}
	return false
}

// BatchError reports the failed elements of a batch operation.
type BatchError struct {
	// Errs holds one entry per failed element.
	Errs []IndexError
}

// IndexError is the error of one element of a batch.
type IndexError struct {
	Index int
	Err   error
}

// Error implements error.
func (e *BatchError) Error() string {
	if len(e.Errs) == 0 {
		return "datapath: batch: no error"
	}
	return fmt.Sprintf("datapath: batch: %d failed, first #%d: %v", len(e.Errs), e.Errs[0].Index, e.Errs[0].Err)
}

// Unwrap returns the element errors, so errors.Is finds any of them.
func (e *BatchError) Unwrap() []error {
	errs := make([]error, len(e.Errs))
	for i, ie := range e.Errs {
		errs[i] = ie.Err
	}
	return errs
}
