package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// A change stream: GET /v1/watch?kind=bridges,ports answers server-sent
// events (text/event-stream) — first every object of the kinds (all kinds
// without kind=) as a "put" event, then a "sync" event, then each change
// as a "put" or "delete" event as the NSDB's watch delivers it. Each event's
// data is one JSON WatchEvent (a SyncEvent for sync) and its id the highest
// object version the stream has delivered, so a client that reconnects
// with Last-Event-ID (or ?since=) resumes: the stream then starts with
// the objects written after that version instead of every object, and its
// sync event lists the IDs of every object there is, so that the client
// drops those deleted meanwhile. Comment lines keep idle streams open.
//
// Per object, versions only grow. Objects of different commits may come
// in an order other than their versions' (a ZooKeeper-backed server's
// watch has no order across objects), so a client resuming from the last
// id may miss an object written just before it; resuming from an earlier
// version is safe, since replaying an object is harmless.

// DefaultWatchHeartbeat is the interval of keep-alive comments on an idle
// change stream when Config.WatchHeartbeat is zero.
const DefaultWatchHeartbeat = 15 * time.Second

// WatchEvent is the data of a put or delete event of GET /v1/watch.
type WatchEvent struct {
	Kind    string       `json:"kind"`
	ID      topology.ID  `json:"id"`
	Name    string       `json:"name,omitempty"`
	Version nsdb.Version `json:"version"`
	// Object is the object's JSON form (puts only).
	Object json.RawMessage `json:"object,omitempty"`
}

// SyncEvent is the data of the sync event of GET /v1/watch, sent once the
// current state has been sent.
type SyncEvent struct {
	// Version is the highest object version sent so far.
	Version nsdb.Version `json:"version"`
	// Since is the version the stream resumed from (0: it did not).
	Since nsdb.Version `json:"since,omitempty"`
	// IDs lists, when the stream resumed, the IDs of every object of the
	// kinds watched, by kind.
	IDs map[string][]topology.ID `json:"ids,omitempty"`
}

func (s *Server) watchRoutes() []*route {
	return []*route{{name: "watch", method: http.MethodGet, path: "/v1/watch", tag: "watch",
		summary: "A change stream (server-sent events): the current objects, a sync event, then every change",
		params: []param{
			{name: "kind", schema: schema{"type": "string"},
				desc: "comma-separated collections or kinds to watch (bridges,ports); default every kind"},
			{name: "since", schema: schema{"type": "integer", "minimum": 0},
				desc: "resume after this version (the last event id; the Last-Event-ID header says it too)"},
		},
		status: http.StatusOK, resp: schema{"type": "string", "description": "event: put|delete|sync, id: version, data: JSON"},
		respType: "text/event-stream", errors: []int{400}, h: s.watch}}
}

// watchKinds reads the kind parameter.
func watchKinds(r *http.Request) ([]topology.Kind, error) {
	var kinds []topology.Kind
	for _, v := range r.URL.Query()["kind"] {
		for _, name := range strings.Split(v, ",") {
			k := kindNamed(strings.TrimSpace(name))
			if k == topology.KindInvalid {
				return nil, queryProblem("kind", "invalid-value", "no kind "+strconv.Quote(name))
			}
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	return kinds, nil
}

// kindNamed returns the kind a collection ("port-groups") or kind
// ("port-group") name names.
func kindNamed(name string) topology.Kind {
	for _, c := range collections {
		if c.name == name {
			return c.kind
		}
	}
	return topology.ParseKind(name)
}

// sinceOf reads the version to resume from: Last-Event-ID, else ?since=.
func sinceOf(r *http.Request) (nsdb.Version, error) {
	where, v := "since", r.URL.Query().Get("since")
	if h := r.Header.Get("Last-Event-ID"); h != "" {
		where, v = "Last-Event-ID", h
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		if where == "since" {
			return 0, queryProblem("since", "invalid-value", "want a version (a decimal number)")
		}
		return 0, newProblem(http.StatusBadRequest, classBadRequest, "bad Last-Event-ID header",
			ProblemError{In: "header", Field: where, Class: "invalid-value", Detail: "want a version (a decimal number)"})
	}
	return nsdb.Version(n), nil
}

// stream writes one client's events.
type stream struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	r     *http.Request
	last  nsdb.Version
	names map[objKey]string
	buf   []byte
}

func (s *Server) watch(w http.ResponseWriter, r *http.Request) error {
	kinds, err := watchKinds(r)
	if err != nil {
		return err
	}
	since, err := sinceOf(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	wt, err := s.store.WatchKinds(ctx, kinds...)
	if err != nil {
		return err
	}
	defer wt.Close()
	first, err := wt.Next(ctx)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	st := &stream{w: w, rc: http.NewResponseController(w), r: r, last: since, names: map[objKey]string{}}
	sync := SyncEvent{Since: since}
	if since != 0 {
		sync.IDs = map[string][]topology.ID{}
	}
	for _, ev := range first {
		if sync.IDs != nil && !ev.Deleted() {
			sync.IDs[ev.Kind.String()] = append(sync.IDs[ev.Kind.String()], ev.ID)
		}
		if ev.Version > since {
			st.event(ev)
		}
	}
	sync.Version = st.last
	st.send("sync", appendJSONValue(nil, sync))
	if err := st.flush(); err != nil {
		return nil // the client went away
	}
	for {
		hctx, cancel := context.WithTimeout(ctx, s.heartbeat)
		evs, err := wt.Next(hctx)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			st.buf = append(st.buf, ": keep-alive\n\n"...)
		case err != nil:
			return nil // the client went away or the NSDB client closed: end the stream
		}
		for _, ev := range evs {
			st.event(ev)
		}
		if err := st.flush(); err != nil {
			return nil
		}
	}
}

// event buffers a put or delete event.
func (st *stream) event(ev nsdb.Event) {
	k := objKey{ev.Kind, ev.ID}
	we := WatchEvent{Kind: ev.Kind.String(), ID: ev.ID, Version: ev.Version}
	name := "delete"
	if ev.Deleted() {
		we.Name = st.names[k]
		delete(st.names, k)
	} else {
		name = "put"
		we.Name = ev.Object.ObjectName()
		if we.Name != "" {
			st.names[k] = we.Name
		}
		b, err := topofile.AppendObject(nil, redact(st.r, ev.Object))
		if err != nil {
			b = appendJSONValue(nil, map[string]string{"error": err.Error()})
		}
		we.Object = b
	}
	st.last = max(st.last, ev.Version)
	st.send(name, appendJSONValue(nil, we))
}

// send buffers one event.
func (st *stream) send(name string, data []byte) {
	st.buf = append(st.buf, "event: "...)
	st.buf = append(st.buf, name...)
	st.buf = append(st.buf, "\nid: "...)
	st.buf = strconv.AppendUint(st.buf, uint64(st.last), 10)
	st.buf = append(st.buf, "\ndata: "...)
	st.buf = append(st.buf, data...)
	st.buf = append(st.buf, "\n\n"...)
}

// flush writes the buffered events out.
func (st *stream) flush() error {
	if len(st.buf) == 0 {
		return nil
	}
	_, err := st.w.Write(st.buf)
	st.buf = st.buf[:0]
	if err != nil {
		return err
	}
	return st.rc.Flush()
}

// watchSchemas returns the schemas of the stream's event data.
func watchSchemas() map[string]schema {
	id := schema{"type": "string", "format": "uuid"}
	version := schema{"type": "integer", "minimum": 0}
	return map[string]schema{
		"WatchEvent": object("The data of a put or delete event.", schema{"kind": str(""), "id": id, "name": str(""),
			"version": version, "object": schema{"type": "object", "description": "the object (puts only)"}},
			"kind", "id", "version"),
		"SyncEvent": object("The data of the sync event that follows the current state.", schema{"version": version,
			"since": version, "ids": schema{"type": "object", "additionalProperties": array(id, ""),
				"description": "when resumed: every object's ID, by kind"}}, "version"),
	}
}
