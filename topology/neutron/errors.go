package neutron

import (
	"errors"
	"fmt"
)

// Classes of the errors the model's methods return; every *Error wraps one.
var (
	// ErrNotFound: an object named by the request does not exist (404).
	ErrNotFound = errors.New("neutron: not found")
	// ErrConflict: the request conflicts with the model: an object in use,
	// an address taken (409).
	ErrConflict = errors.New("neutron: conflict")
	// ErrBadRequest: the request is invalid on its own or for the model
	// (400).
	ErrBadRequest = errors.New("neutron: bad request")
)

// Error is a Neutron API error: its class, Neutron's exception name and
// a message for humans, as Neutron's error bodies carry them.
type Error struct {
	// Class is ErrNotFound, ErrConflict or ErrBadRequest.
	Class error
	// Type is Neutron's exception name: "NetworkNotFound", "SubnetInUse".
	Type    string
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Unwrap returns the class.
func (e *Error) Unwrap() error { return e.Class }

func notFound(typ, format string, a ...any) error {
	return &Error{Class: ErrNotFound, Type: typ, Message: fmt.Sprintf(format, a...)}
}

func conflict(typ, format string, a ...any) error {
	return &Error{Class: ErrConflict, Type: typ, Message: fmt.Sprintf(format, a...)}
}

func badRequest(format string, a ...any) error {
	return &Error{Class: ErrBadRequest, Type: "BadRequest", Message: fmt.Sprintf(format, a...)}
}

// invalidInput is Neutron's InvalidInput: "Invalid input for operation: ...".
func invalidInput(format string, a ...any) error {
	return &Error{Class: ErrBadRequest, Type: "InvalidInput", Message: "Invalid input for operation: " + fmt.Sprintf(format, a...)}
}
