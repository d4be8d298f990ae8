package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// readBody reads a JSON request body of at most the configured size.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return readBodyOf(w, r, s.maxBody, "application/json")
}

// readBodyOf reads a request body of one of the media types (the first
// is named in errors; no Content-Type is taken as any) and at most limit
// bytes.
func readBodyOf(w http.ResponseWriter, r *http.Request, limit int64, types ...string) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !slices.Contains(types, mt) {
			return nil, newProblem(http.StatusUnsupportedMediaType, classMediaType, "send "+strings.Join(types, " or ")+", not "+ct)
		}
	}
	tooLarge := newProblem(http.StatusRequestEntityTooLarge, classTooLarge,
		"the body is larger than "+strconv.FormatInt(limit, 10)+" bytes")
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, newProblem(http.StatusBadRequest, classBadRequest, "reading the body: "+err.Error())
	}
	return body, nil
}

// etag is the entity tag of a version.
func etag(v nsdb.Version) string { return `"` + strconv.FormatUint(uint64(v), 10) + `"` }

// ifMatch returns the version an If-Match header requires: AnyVersion
// when there is no header or it is "*" (writes need the object to exist
// anyway).
func ifMatch(r *http.Request) (nsdb.Version, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return nsdb.AnyVersion, nil
	}
	bad := newProblem(http.StatusBadRequest, classBadRequest, "bad If-Match header",
		ProblemError{In: "header", Field: "If-Match", Class: "invalid-value",
			Detail: "If-Match takes one entity tag as sent in ETag (\"123\") or *"})
	if len(h) < 3 || h[0] != '"' || h[len(h)-1] != '"' {
		return 0, bad
	}
	v, err := strconv.ParseUint(h[1:len(h)-1], 10, 64)
	if err != nil || v == 0 {
		return 0, bad
	}
	return nsdb.Version(v), nil
}

// RevisionHeader, on the answer to a deletion, names the store revision of
// the commit that deleted: a client waits for agents to apply a deletion
// (their applied revision to reach it) as it does for a write whose ETag
// names the revision.
const RevisionHeader = "Hivenet-Revision"

// writeDeleted answers a deletion committed at revision v.
func writeDeleted(w http.ResponseWriter, v nsdb.Version) {
	if v != nsdb.AnyVersion {
		w.Header().Set(RevisionHeader, strconv.FormatUint(uint64(v), 10))
	}
	w.WriteHeader(http.StatusNoContent)
}

// writeJSON sends a JSON body.
func writeJSON(w http.ResponseWriter, status int, body []byte, version nsdb.Version) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if version != nsdb.AnyVersion {
		h.Set("ETag", etag(version))
	}
	w.WriteHeader(status)
	w.Write(body)
}

// writeObject sends an object in its JSON form, with its version as ETag.
func (s *Server) writeObject(w http.ResponseWriter, r *http.Request, status int, o topology.Object, v nsdb.Version) error {
	b, err := topofile.AppendObject(nil, redact(r, o))
	if err != nil {
		return err
	}
	writeJSON(w, status, b, v)
	return nil
}

// redact hides secrets from tokens that may only read: a BGP peer's
// password.
func redact(r *http.Request, o topology.Object) topology.Object {
	if p, ok := o.(*topology.BGPPeer); ok && p.Password != "" && identityOf(r.Context()).Role != RoleAdmin {
		c := *p
		c.Password = ""
		return &c
	}
	return o
}

// appendJSONValue appends the encoding/json form of v, for the API's own
// types (those with no topology file form).
func appendJSONValue(b []byte, v any) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		panic("api: marshalling " + err.Error()) // only the API's own plain types are marshalled
	}
	return append(b, j...)
}

// fieldParser parses one field of a small JSON body, returning the
// problem's class and detail.
type fieldParser func(raw json.RawMessage) (class, detail string)

// textField parses a JSON string with parse.
func textField(parse func(string) error) fieldParser {
	return func(raw json.RawMessage) (string, string) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "wrong-type", "expected a string"
		}
		if err := parse(s); err != nil {
			return "invalid-value", err.Error()
		}
		return "", ""
	}
}

// decodeFields decodes a small JSON object body (the API's own bodies,
// which have no topology file form) field by field, reporting every
// problem: unknown, missing and ill-typed fields.
func decodeFields(body []byte, fields map[string]fieldParser, required ...string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || !json.Valid(body) {
			return newProblem(http.StatusBadRequest, classMalformed, "the body is not JSON: "+err.Error(),
				ProblemError{In: "body", Class: classMalformed, Detail: err.Error()})
		}
		return newProblem(http.StatusUnprocessableEntity, classInvalid, "the body is not a JSON object",
			ProblemError{In: "body", Class: "wrong-type", Detail: "expected an object"})
	}
	var errs []ProblemError
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parse, ok := fields[k]
		if !ok {
			errs = append(errs, ProblemError{In: "body", Field: k, Pointer: pointer(k), Class: "unknown-field", Detail: "unknown key " + strconv.Quote(k)})
			continue
		}
		if class, detail := parse(m[k]); class != "" {
			errs = append(errs, ProblemError{In: "body", Field: k, Pointer: pointer(k), Class: class, Detail: detail})
		}
	}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			errs = append(errs, ProblemError{In: "body", Class: "missing-field", Detail: "missing key " + strconv.Quote(k)})
		}
	}
	if len(errs) > 0 {
		return newProblem(http.StatusUnprocessableEntity, classInvalid, "the body has "+plural(len(errs), "problem"), errs...)
	}
	return nil
}
