package topology

import (
	"errors"
	"strconv"
	"strings"
)

// Classes of validation problems. Every *Problem wraps exactly one of them,
// so errors.Is(err, ErrDangling) works on a *ValidationError.
var (
	// ErrInvalidField: a field is missing, out of range or malformed.
	ErrInvalidField = errors.New("invalid field")
	// ErrInvalidRule: a rule's type, action and data do not fit together.
	ErrInvalidRule = errors.New("invalid rule")
	// ErrInvalidNAT: a NAT rule's targets are not sane.
	ErrInvalidNAT = errors.New("invalid NAT target")
	// ErrDangling: a reference names no object of the expected kind.
	ErrDangling = errors.New("dangling reference")
	// ErrMissingJumpTarget: a jump rule names a chain that does not exist.
	ErrMissingJumpTarget = errors.New("jump to a missing chain")
	// ErrSelfPeer: a port is peered with itself.
	ErrSelfPeer = errors.New("port peered with itself")
	// ErrAsymmetricPeer: a port's peer does not name it back.
	ErrAsymmetricPeer = errors.New("asymmetric peering")
	// ErrBoundAndPeered: a port is both bound to a host interface and
	// peered with another port.
	ErrBoundAndPeered = errors.New("port both bound and peered")
	// ErrAddrOutsideSubnet: a router port's address is outside its subnets.
	ErrAddrOutsideSubnet = errors.New("address outside the port's subnets")
	// ErrOverlappingSubnets: two ports of one router have overlapping
	// subnets.
	ErrOverlappingSubnets = errors.New("overlapping subnets on one router")
	// ErrDuplicateID: two objects share an ID.
	ErrDuplicateID = errors.New("duplicate ID")
	// ErrDuplicateName: two objects of one kind share a name.
	ErrDuplicateName = errors.New("duplicate name")
	// ErrDuplicateBinding: two ports are bound to the same host interface.
	ErrDuplicateBinding = errors.New("duplicate interface binding")
	// ErrSharedReference: a single-valued reference that must be exclusive
	// (a router's load balancer) is held by two objects.
	ErrSharedReference = errors.New("exclusive reference shared")
	// ErrForeignPort: a route's next-hop port belongs to another router.
	ErrForeignPort = errors.New("route via a port of another router")
)

// Problem is one validation problem: which object, which field, what is
// wrong. It unwraps to its class (one of the Err* variables above).
type Problem struct {
	Kind Kind
	ID   ID
	Name string
	// Field is the path of the offending field, e.g. "subnets[1]" or
	// "rules[2].nat.targets[0].addr-end".
	Field string
	// Err is the problem's class.
	Err error
	// Detail says what exactly is wrong, for humans.
	Detail string
}

func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Kind.String())
	if p.Name != "" {
		b.WriteString(" \"")
		b.WriteString(p.Name)
		b.WriteByte('"')
	}
	if !p.ID.IsZero() {
		b.WriteString(" (")
		b.WriteString(p.ID.String())
		b.WriteByte(')')
	}
	if p.Field != "" {
		b.WriteString(" field ")
		b.WriteString(p.Field)
	}
	b.WriteString(": ")
	b.WriteString(p.Err.Error())
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	return b.String()
}

// Unwrap returns the problem's class.
func (p *Problem) Unwrap() error { return p.Err }

// ValidationError lists every problem a validation found.
type ValidationError struct {
	Problems []*Problem
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "topology: " + e.Problems[0].Error()
	}
	var b strings.Builder
	b.WriteString("topology: ")
	b.WriteString(strconv.Itoa(len(e.Problems)))
	b.WriteString(" problems:")
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns every problem, so errors.Is and errors.As see each one.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// problems accumulates Problems for one validation.
type problems struct {
	list []*Problem
}

func (ps *problems) add(o Object, field string, class error, detail string) {
	ps.list = append(ps.list, &Problem{Kind: o.ObjectKind(), ID: o.ObjectID(), Name: o.ObjectName(), Field: field, Err: class, Detail: detail})
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps.list}
}
