package topofile

import (
	"errors"
	"strconv"
	"strings"
)

// Classes of loader errors. Every *Error wraps one of them or, for problems
// found when validating the loaded topology, a *topology.Problem (which in
// turn wraps one of the topology.Err* classes).
var (
	// ErrSyntax: the file is not well-formed YAML.
	ErrSyntax = errors.New("YAML syntax error")
	// ErrUnknownKey: a mapping has a key the format does not define.
	ErrUnknownKey = errors.New("unknown key")
	// ErrDuplicateKey: a mapping has the same key twice.
	ErrDuplicateKey = errors.New("duplicate key")
	// ErrBadValue: a value has the wrong shape or cannot be parsed.
	ErrBadValue = errors.New("bad value")
	// ErrWrongType: in a JSON document, a value is not of the JSON type
	// its key takes. Such errors wrap ErrBadValue too.
	ErrWrongType = errors.New("wrong JSON type")
	// ErrMissing: a required key is absent.
	ErrMissing = errors.New("missing")
	// ErrNotFound: a reference names no object of the expected kind.
	ErrNotFound = errors.New("not found")
	// ErrAmbiguous: a reference could name objects of several kinds.
	ErrAmbiguous = errors.New("ambiguous reference")
	// ErrPeerConflict: two ports disagree about who is whose peer.
	ErrPeerConflict = errors.New("peer conflict")
	// ErrNotRepresentable: Write met a topology the format cannot express
	// (always an invalid one: a port of no device, a rule whose settings
	// contradict its type, ...).
	ErrNotRepresentable = errors.New("not representable in a topology file")
)

// Error is one problem at a place in a topology file.
type Error struct {
	// File is the file name given to Load ("" for a JSON document).
	File string
	// Line and Column locate the offending node (1-based); both are 0 when
	// the problem has no place in the file.
	Line, Column int
	// Path is the field path in the file, e.g. routers[1].ports[0].address.
	Path string
	// Err is the problem: one of the Err* classes of this package (wrapped
	// with details) or a *topology.Problem.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		if e.File == "" {
			b.WriteString("line ")
		} else {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Column))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the problem.
func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every problem found in one file, in file order. Load returns
// it as its error; errors.Is and errors.As see each element.
type ErrorList []*Error

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the elements.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}
