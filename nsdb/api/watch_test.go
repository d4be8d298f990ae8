package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/topology"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	name, id, data string
}

// sseStream reads the events of a change stream.
type sseStream struct {
	t      *testing.T
	resp   *http.Response
	sc     *bufio.Scanner
	cancel func()
	// comments counts the comment lines read.
	comments int
}

// openWatch opens GET path on a live server; lastID, if set, is sent as
// Last-Event-ID.
func openWatch(t *testing.T, base, path, lastID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	req, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+readerToken)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s\n%s", path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	s := &sseStream{t: t, resp: resp, sc: bufio.NewScanner(resp.Body), cancel: cancel}
	s.sc.Buffer(nil, 1<<20)
	t.Cleanup(s.close)
	return s
}

func (s *sseStream) close() {
	s.cancel()
	s.resp.Body.Close()
}

// next returns the next event.
func (s *sseStream) next() sseEvent {
	s.t.Helper()
	var ev sseEvent
	for s.sc.Scan() {
		l := s.sc.Text()
		switch {
		case l == "":
			if ev.name != "" {
				return ev
			}
		case strings.HasPrefix(l, ":"):
			s.comments++
		default:
			k, v, _ := strings.Cut(l, ": ")
			switch k {
			case "event":
				ev.name = v
			case "id":
				ev.id = v
			case "data":
				ev.data = v
			}
		}
	}
	s.t.Fatalf("the stream ended: %v", s.sc.Err())
	return ev
}

// until reads events up to and including the first named name,
// returning them.
func (s *sseStream) until(name string) []sseEvent {
	s.t.Helper()
	var evs []sseEvent
	for {
		ev := s.next()
		evs = append(evs, ev)
		if ev.name == name {
			return evs
		}
	}
}

func decodeEvent[T any](t *testing.T, ev sseEvent) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(ev.data), &v); err != nil {
		t.Fatalf("event %s data %q: %v", ev.name, ev.data, err)
	}
	return v
}

// GET /v1/watch: the current objects, a sync event, then changes in
// order, ids never decreasing; a reconnection with Last-Event-ID resumes
// with what changed meanwhile and the IDs that exist.
func testWatch(t *testing.T, e *env) {
	e.must(call{method: "POST", path: "/v1/bridges", body: `{"name": "w1"}`}, 201)
	e.must(call{method: "POST", path: "/v1/bridges", body: `{"name": "w2"}`}, 201)
	e.must(call{method: "POST", path: "/v1/ports", body: `{"name": "wp", "bridge": "w1"}`}, 201)
	e.must(call{method: "POST", path: "/v1/hosts", body: `{"name": "not-watched"}`}, 201)
	// The first part, validated against the document.
	r := e.must(call{method: "GET", path: "/v1/watch?kind=bridges,port"}, 200)
	if n := strings.Count(string(r.body), "event: put\n"); n != 3 || !strings.Contains(string(r.body), "event: sync\n") {
		t.Fatalf("first part of the stream: %d puts, want 3, then sync:\n%s", n, r.body)
	}

	srv := httptest.NewServer(e.srv)
	t.Cleanup(srv.Close) // after the streams' cleanups close them
	s := openWatch(t, srv.URL, "/v1/watch?kind=bridges,ports", "")
	first := s.until("sync")
	var names []string
	last := 0
	for _, ev := range first[:len(first)-1] {
		we := decodeEvent[api.WatchEvent](t, ev)
		names = append(names, we.Kind+" "+we.Name)
		id, _ := strconv.Atoi(ev.id)
		if id < last || uint64(id) < uint64(we.Version) {
			t.Errorf("event id %s after %d for version %d", ev.id, last, we.Version)
		}
		last = id
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"bridge w1", "bridge w2", "port wp"}) {
		t.Errorf("current state: %v", names)
	}
	if sync := decodeEvent[api.SyncEvent](t, first[len(first)-1]); int(sync.Version) != last || sync.IDs != nil {
		t.Errorf("sync %+v after id %d", sync, last)
	}

	// Changes, each as it happens.
	e.must(call{method: "POST", path: "/v1/bridges", body: `{"name": "w3"}`}, 201)
	ev := s.next()
	if we := decodeEvent[api.WatchEvent](t, ev); ev.name != "put" || we.Name != "w3" || string(we.Object) == "" {
		t.Errorf("after creating w3: %s %+v", ev.name, we)
	}
	e.must(call{method: "PUT", path: "/v1/bridges/w3", body: `{"name": "w3", "admin-down": true}`}, 200)
	ev = s.next()
	if we := decodeEvent[api.WatchEvent](t, ev); ev.name != "put" || !strings.Contains(string(we.Object), `"admin-down":true`) {
		t.Errorf("after updating w3: %s %s", ev.name, ev.data)
	}
	e.must(call{method: "DELETE", path: "/v1/ports/wp"}, 204)
	ev = s.next()
	if we := decodeEvent[api.WatchEvent](t, ev); ev.name != "delete" || we.Kind != "port" || we.Name != "wp" || we.Object != nil {
		t.Errorf("after deleting wp: %s %s", ev.name, ev.data)
	}
	resume := ev.id
	s.close()

	// Meanwhile: w4 created, w2 deleted. The resumed stream sends w4
	// alone, and lists the bridges there are.
	e.must(call{method: "POST", path: "/v1/bridges", body: `{"name": "w4"}`}, 201)
	e.must(call{method: "DELETE", path: "/v1/bridges/w2"}, 204)
	s = openWatch(t, srv.URL, "/v1/watch?kind=bridges", resume)
	evs := s.until("sync")
	if len(evs) != 2 || decodeEvent[api.WatchEvent](t, evs[0]).Name != "w4" {
		t.Fatalf("resumed from %s: %v, want w4's put and sync", resume, evs)
	}
	sync := decodeEvent[api.SyncEvent](t, evs[1])
	if got := sync.IDs["bridge"]; strconv.FormatUint(uint64(sync.Since), 10) != resume || len(got) != 3 || slices.Contains(got, topology.NameID(topology.KindBridge, "w2")) {
		t.Errorf("resumed sync %+v: want since %s and the IDs of w1, w3, w4", sync, resume)
	}

	e.must(call{method: "GET", path: "/v1/watch?kind=nope", invalid: true}, 400)
	e.must(call{method: "GET", path: "/v1/watch?since=x", invalid: true}, 400)
	e.must(call{method: "GET", path: "/v1/watch", header: map[string]string{"Last-Event-ID": "-1"}}, 400)
}

// An idle stream gets keep-alive comments.
func TestWatchHeartbeat(t *testing.T) {
	e := newEnv(t, memoryBackend, &coverage{ops: map[string]bool{}})
	tokens, err := api.ParseTokens(strings.NewReader(tokenFile))
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{NSDB: e.db, Tokens: tokens, WatchHeartbeat: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s := openWatch(t, srv.URL, "/v1/watch", "")
	s.until("sync")
	for s.comments < 2 && s.sc.Scan() {
		if strings.HasPrefix(s.sc.Text(), ":") {
			s.comments++
		}
	}
	if s.comments < 2 {
		t.Fatalf("no keep-alive comment: %v", s.sc.Err())
	}
}
