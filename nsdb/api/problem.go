package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// ProblemType is the URI prefix of the type of every problem the API
// reports; the rest is the problem's class ("urn:hivenet:problem:conflict").
const ProblemType = "urn:hivenet:problem:"

// Problem is an error response: an RFC 9457 problem detail, sent as
// application/problem+json. Errors lists every problem found in the
// request, each with the place it concerns.
type Problem struct {
	// Type is ProblemType followed by the problem's class.
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Instance is the request's path.
	Instance string         `json:"instance,omitempty"`
	Errors   []ProblemError `json:"errors,omitempty"`
}

// ProblemError is one problem of a request.
type ProblemError struct {
	// In says where the problem is: "body", "query", "path" or "header";
	// empty when it concerns the stored objects a write would change.
	In string `json:"in,omitempty"`
	// Field is the path of the offending field in the body
	// ("rules[2].nw-src"), the query parameter or the header.
	Field string `json:"field,omitempty"`
	// Pointer is the RFC 6901 JSON pointer to the offending body field.
	Pointer string `json:"pointer,omitempty"`
	// Object names another object the problem concerns ("port \"vm1\"
	// (uuid)"), for problems a write finds with objects other than the
	// one in the body.
	Object string `json:"object,omitempty"`
	// Class says what is wrong, e.g. "unknown-field", "wrong-type",
	// "invalid-value", "dangling-reference", "duplicate-name".
	Class  string `json:"class"`
	Detail string `json:"detail"`
}

func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(p.Status))
	b.WriteString(" ")
	b.WriteString(p.Title)
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	for _, e := range p.Errors {
		b.WriteString("; ")
		if e.Field != "" {
			b.WriteString(e.Field)
			b.WriteString(": ")
		}
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Problem classes of whole responses.
const (
	classMalformed   = "malformed-json"
	classInvalid     = "invalid"
	classConflict    = "conflict"
	classExists      = "exists"
	classReferenced  = "referenced"
	classStale       = "stale-version"
	classNotFound    = "not-found"
	classTooLarge    = "body-too-large"
	classMediaType   = "unsupported-media-type"
	classUnauth      = "unauthorized"
	classForbidden   = "forbidden"
	classMethod      = "method-not-allowed"
	classUnavailable = "unavailable"
	classInternal    = "internal"
	classBadRequest  = "bad-request"
)

var classTitles = map[string]string{
	classMalformed:   "Malformed JSON",
	classInvalid:     "Invalid request",
	classConflict:    "Conflict with stored objects",
	classExists:      "Object exists",
	classReferenced:  "Object is referenced",
	classStale:       "Stale version",
	classNotFound:    "Not found",
	classTooLarge:    "Body too large",
	classMediaType:   "Unsupported media type",
	classUnauth:      "Unauthorized",
	classForbidden:   "Forbidden",
	classMethod:      "Method not allowed",
	classUnavailable: "NSDB unavailable",
	classInternal:    "Internal error",
	classBadRequest:  "Bad request",
}

func newProblem(status int, class, detail string, errs ...ProblemError) *Problem {
	return &Problem{Type: ProblemType + class, Title: classTitles[class], Status: status, Detail: detail, Errors: errs}
}

// queryProblem reports a bad query parameter.
func queryProblem(param, class, detail string) *Problem {
	return newProblem(http.StatusBadRequest, classBadRequest, "bad query parameter "+param,
		ProblemError{In: "query", Field: param, Class: class, Detail: detail})
}

// pointer returns the RFC 6901 pointer of a field path such as
// rules[2].nw-src ("/rules/2/nw-src").
func pointer(path string) string {
	if path == "" {
		return ""
	}
	var b strings.Builder
	for _, seg := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(seg, "[")
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(name))
		for rest != "" {
			idx, more, _ := strings.Cut(rest, "]")
			b.WriteByte('/')
			b.WriteString(idx)
			rest = strings.TrimPrefix(more, "[")
		}
	}
	return b.String()
}

// classOf names the class of a problem found in a body.
func classOf(err error) string {
	for _, c := range []struct {
		err  error
		name string
	}{
		{topofile.ErrSyntax, classMalformed},
		{topofile.ErrWrongType, "wrong-type"},
		{topofile.ErrUnknownKey, "unknown-field"},
		{topofile.ErrDuplicateKey, "duplicate-field"},
		{topofile.ErrMissing, "missing-field"},
		{topofile.ErrNotFound, "dangling-reference"},
		{topofile.ErrAmbiguous, "ambiguous-reference"},
		{topofile.ErrBadValue, "invalid-value"},
		{topology.ErrInvalidField, "invalid-value"},
		{topology.ErrInvalidRule, "invalid-rule"},
		{topology.ErrInvalidNAT, "invalid-nat-target"},
		{topology.ErrDangling, "dangling-reference"},
		{topology.ErrMissingJumpTarget, "dangling-reference"},
		{topology.ErrSelfPeer, "self-peer"},
		{topology.ErrAsymmetricPeer, "asymmetric-peer"},
		{topology.ErrBoundAndPeered, "bound-and-peered"},
		{topology.ErrAddrOutsideSubnet, "address-outside-subnet"},
		{topology.ErrOverlappingSubnets, "overlapping-subnets"},
		{topology.ErrDuplicateID, "duplicate-id"},
		{topology.ErrDuplicateName, "duplicate-name"},
		{topology.ErrDuplicateBinding, "duplicate-binding"},
		{topology.ErrSharedReference, "shared-reference"},
		{topology.ErrForeignPort, "foreign-port"},
		{topology.ErrGatewayOutsideSubnet, "gateway-outside-subnet"},
		{topology.ErrDuplicateMAC, "duplicate-mac"},
		{topology.ErrDuplicateDHCPHost, "duplicate-dhcp-host"},
		{topology.ErrDuplicateTunnelAddr, "duplicate-tunnel-address"},
	} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "invalid-value"
}

// conflictClasses are the validation problems that are conflicts with
// other stored objects rather than mistakes in the body.
var conflictClasses = []error{topology.ErrDuplicateName, topology.ErrDuplicateID,
	topology.ErrDuplicateBinding, topology.ErrSharedReference, topology.ErrOverlappingSubnets,
	topology.ErrDuplicateMAC, topology.ErrDuplicateTunnelAddr}

func isConflict(p *topology.Problem) bool {
	for _, c := range conflictClasses {
		if errors.Is(p, c) {
			return true
		}
	}
	return false
}

// decodeProblem reports the problems DecodeObject found in a body.
func decodeProblem(err error) *Problem {
	var list topofile.ErrorList
	if !errors.As(err, &list) {
		return newProblem(http.StatusInternalServerError, classInternal, "decoding the body failed")
	}
	status, class := http.StatusUnprocessableEntity, classInvalid
	errs := make([]ProblemError, 0, len(list))
	for _, e := range list {
		if errors.Is(e.Err, topofile.ErrSyntax) {
			status, class = http.StatusBadRequest, classMalformed
		}
		detail := e.Err.Error()
		if e.Line > 0 && e.Path == "" {
			detail = "line " + strconv.Itoa(e.Line) + ": " + detail
		}
		errs = append(errs, ProblemError{In: "body", Field: e.Path, Pointer: pointer(e.Path), Class: classOf(e.Err), Detail: detail})
	}
	return newProblem(status, class, "the body has "+plural(len(errs), "problem"), errs...)
}

// locator places the validation problems of a written object in the
// request's body: it returns the body field of a problem's field, or false
// when the field is not in the body.
type locator interface {
	locate(p *topology.Problem) (string, bool)
}

// bodyLocator places problems of an object the body holds whole.
type bodyLocator struct{ dec *topofile.Decoded }

func (b bodyLocator) locate(p *topology.Problem) (string, bool) {
	if b.dec == nil {
		return "", true
	}
	return b.dec.Locate(p), true
}

// validationProblem reports the problems a store's validation found with
// a write of self, placed in the body by loc (nil: no body).
func validationProblem(ve *topology.ValidationError, loc locator, self topology.Object) *Problem {
	status, class := http.StatusConflict, classConflict
	errs := make([]ProblemError, 0, len(ve.Problems))
	for _, p := range ve.Problems {
		if !isConflict(p) {
			status, class = http.StatusUnprocessableEntity, classInvalid
		}
		e := ProblemError{Class: classOf(p), Detail: p.Error()}
		field, inBody := "", false
		if self != nil && loc != nil && p.Kind == self.ObjectKind() && p.ID == self.ObjectID() {
			field, inBody = loc.locate(p)
		}
		if inBody {
			e.In, e.Field, e.Pointer = "body", field, pointer(field)
		} else {
			e.Object = objectName(p.Kind, p.ID, p.Name)
			e.Field = p.Field
		}
		errs = append(errs, e)
	}
	return newProblem(status, class, "the write would leave "+plural(len(errs), "problem"), errs...)
}

func objectName(k topology.Kind, id topology.ID, name string) string {
	if name == "" {
		return k.String() + " " + id.String()
	}
	return k.String() + " " + strconv.Quote(name) + " (" + id.String() + ")"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// storeProblem turns an error of the NSDB into a problem. self is the
// object written, if any, and loc places its problems in the body.
func storeProblem(err error, loc locator, self topology.Object) *Problem {
	var ve *topology.ValidationError
	var re *nsdb.ReferencedError
	switch {
	case errors.As(err, &ve):
		return validationProblem(ve, loc, self)
	case errors.As(err, &re):
		return newProblem(http.StatusConflict, classReferenced, re.Kind.String()+" "+re.ID.String()+" is referenced",
			ProblemError{Object: objectName(re.ByKind, re.ByID, ""), Field: re.Field, Class: "referenced",
				Detail: "refers to it and refuses its deletion"})
	case errors.Is(err, nsdb.ErrExists):
		return newProblem(http.StatusConflict, classExists, "an object of that kind and ID exists")
	case errors.Is(err, nsdb.ErrConflict):
		return newProblem(http.StatusPreconditionFailed, classStale, "the object changed since the version If-Match names")
	case errors.Is(err, nsdb.ErrNotFound):
		return newProblem(http.StatusNotFound, classNotFound, "no such object")
	case errors.Is(err, nsdb.ErrInvalid):
		return newProblem(http.StatusUnprocessableEntity, classInvalid, err.Error())
	case errors.Is(err, nsdb.ErrUnavailable), errors.Is(err, nsdb.ErrSessionExpired),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, nsdb.ErrClosed):
		return newProblem(http.StatusServiceUnavailable, classUnavailable, "the NSDB cannot be reached; retry")
	}
	return nil
}

// writeProblem sends p.
func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.Instance == "" {
		p.Instance = r.URL.Path
	}
	body, err := json.Marshal(p)
	if err != nil {
		body = []byte(`{"type":"` + ProblemType + classInternal + `","title":"Internal error","status":500}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="hivenet"`)
	}
	if p.Status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(p.Status)
	w.Write(body)
}
