package api

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strconv"
)

// page is where a list request starts and how much it returns. Lists are
// in ID order; a page's continue token is the last ID it holds, so pages
// stay consistent while objects are added or deleted: an object created
// after the token's position appears on a later page, one deleted does not
// shift the others.
type page struct {
	limit int
	// after is the sort key of the last item of the previous page (an
	// ID's bytes, a MAC's, an address's), nil on the first page.
	after []byte
}

func (s *Server) pageOf(r *http.Request) (page, error) {
	pg := page{limit: s.page}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			return pg, queryProblem("limit", "invalid-value", "limit is a number in 1-"+strconv.Itoa(MaxPageSize))
		}
		pg.limit = n
	}
	if v := q.Get("continue"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) == 0 || len(b) > 32 {
			return pg, queryProblem("continue", "invalid-value", "continue takes the token a previous page returned")
		}
		pg.after = b
	}
	return pg, nil
}

// skip reports whether the item of sort key k comes before the page.
func (pg page) skip(k []byte) bool { return pg.after != nil && bytes.Compare(k, pg.after) <= 0 }

// listBody builds a page, {"items": [...], "continue": "..."}.
type listBody struct {
	b    []byte
	n    int
	last []byte
	more bool
}

func newListBody() *listBody { return &listBody{b: append(make([]byte, 0, 4096), `{"items":[`...)} }

// add starts the item of sort key k and reports true, or reports false
// when the page is full; the caller appends the item's JSON to l.b.
func (l *listBody) add(pg page, k []byte) bool {
	if l.n == pg.limit {
		l.more = true
		return false
	}
	if l.n > 0 {
		l.b = append(l.b, ',')
	}
	l.n++
	l.last = k
	return true
}

func (l *listBody) finish() []byte {
	l.b = append(l.b, ']')
	if l.more {
		l.b = append(l.b, `,"continue":"`...)
		l.b = append(l.b, base64.RawURLEncoding.EncodeToString(l.last)...)
		l.b = append(l.b, '"')
	}
	return append(l.b, '}')
}
