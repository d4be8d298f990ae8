package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hivenet/hivenet/nsdb/api"
)

// get KIND -w: the objects of a kind, then each change as it happens,
// from the API's change stream (GET /v1/watch, server-sent events). A lost
// connection is resumed from the last event's id; the objects deleted
// meanwhile are reported from the resumed stream's sync event.

// sseEvent is one server-sent event.
type sseEvent struct{ name, id, data string }

// readEvents reads events from r until it ends, calling fn for each.
func readEvents(r io.Reader, fn func(sseEvent) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var ev sseEvent
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if ev.name != "" || ev.data != "" {
				if err := fn(ev); err != nil {
					return err
				}
			}
			ev = sseEvent{}
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue // keep-alive
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			ev.name = value
		case "id":
			ev.id = value
		case "data":
			if ev.data != "" {
				ev.data += "\n"
			}
			ev.data += value
		}
	}
}

// watcher follows one kind and prints its changes.
type watcher struct {
	e     *env
	k     *kind
	table *streamTable
	// known holds the objects shown, by ID; lastID is the last event id.
	known  map[string]bool
	lastID string
}

func (e *env) watch(kindName string) error {
	k, err := kindNamed(kindName)
	if err != nil {
		return err
	}
	w := &watcher{e: e, k: k, known: map[string]bool{}}
	if e.g.output == "" || e.g.output == "table" {
		header := []string{"EVENT", "NAME"}
		if !k.named {
			header[1] = "ID"
		}
		for _, c := range k.cols {
			header = append(header, c.header)
		}
		w.table = &streamTable{out: e.stdout}
		if !e.g.noHeaders {
			w.table.row(header)
		}
	}
	backoff := 100 * time.Millisecond
	for {
		err := w.stream()
		if e.ctx.Err() != nil {
			return nil // interrupted: the normal end
		}
		var ae *apiError
		if errors.As(err, &ae) || errors.Is(err, errUsage) {
			return err
		}
		fmt.Fprintf(e.stderr, "hivectl get -w: %v; reconnecting\n", err)
		select {
		case <-e.ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// stream reads one connection's events.
func (w *watcher) stream() error {
	rq := request{method: http.MethodGet, path: "/v1/watch?kind=" + w.k.coll}
	if w.lastID != "" {
		rq.header = map[string]string{"Last-Event-ID": w.lastID}
	}
	resp, err := w.e.c.send(w.e.ctx, rq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return problemOf(resp, b)
	}
	return readEvents(resp.Body, w.event)
}

func (w *watcher) event(ev sseEvent) error {
	if ev.id != "" {
		w.lastID = ev.id
	}
	switch ev.name {
	case "sync":
		var s api.SyncEvent
		if err := json.Unmarshal([]byte(ev.data), &s); err != nil {
			return fmt.Errorf("sync event: %w", err)
		}
		if w.table != nil {
			w.table.release()
		}
		if s.Since == 0 {
			return nil
		}
		// Resumed: what is not listed was deleted while disconnected.
		present := map[string]bool{}
		for _, ids := range s.IDs {
			for _, id := range ids {
				present[id.String()] = true
			}
		}
		for id := range w.known {
			if !present[id] {
				delete(w.known, id)
				if err := w.print("DELETED", api.WatchEvent{Kind: w.k.one}, id, nil); err != nil {
					return err
				}
			}
		}
		return nil
	case "put", "delete":
		var we api.WatchEvent
		if err := json.Unmarshal([]byte(ev.data), &we); err != nil {
			return fmt.Errorf("%s event: %w", ev.name, err)
		}
		id := we.ID.String()
		what := "MODIFIED"
		switch {
		case ev.name == "delete":
			if !w.known[id] {
				return nil // never shown
			}
			what = "DELETED"
			delete(w.known, id)
		case !w.known[id]:
			what = "ADDED"
			w.known[id] = true
		}
		if we.Name != "" {
			if w.e.c.names[w.k.coll] == nil {
				w.e.c.names[w.k.coll] = map[string]string{}
			}
			w.e.c.names[w.k.coll][id] = we.Name
		}
		return w.print(what, we, id, []byte(ev.data))
	}
	return nil
}

// print writes one change.
func (w *watcher) print(what string, we api.WatchEvent, id string, data []byte) error {
	e := w.e
	switch e.g.output {
	case "json":
		if data == nil {
			data, _ = json.Marshal(api.WatchEvent{Kind: w.k.one, ID: we.ID})
		}
		_, err := fmt.Fprintf(e.stdout, "{\"event\":%q,\"data\":%s}\n", what, data)
		return err
	case "yaml":
		if data == nil {
			data = []byte(`{"id": "` + id + `"}`)
		}
		fmt.Fprintf(e.stdout, "---\nevent: %s\n", what)
		return e.printer().document(nil, [][]byte{data}, false)
	case "name":
		n := we.Name
		if n == "" {
			n = id
		}
		_, err := fmt.Fprintf(e.stdout, "%s %s\n", what, n)
		return err
	}
	row := []string{what, we.Name}
	if !w.k.named || we.Name == "" {
		row[1] = id
	}
	var obj map[string]any
	if len(we.Object) > 0 {
		var err error
		if obj, err = decodeObject(we.Object); err != nil {
			return err
		}
	}
	p := e.printer()
	for _, c := range w.k.cols {
		row = append(row, p.cell(c, obj[c.key]))
	}
	w.table.row(row)
	return nil
}

// streamTable writes rows as they come, aligned on the widths seen so
// far; rows are held until release (the current state, aligned as a
// whole).
type streamTable struct {
	out     io.Writer
	widths  []int
	held    [][]string
	flowing bool
}

func (t *streamTable) row(cells []string) {
	for i, c := range cells {
		if i == len(t.widths) {
			t.widths = append(t.widths, 0)
		}
		t.widths[i] = max(t.widths[i], len(c))
	}
	if !t.flowing {
		t.held = append(t.held, cells)
		return
	}
	t.write(cells)
}

// release writes the held rows, and the later ones as they come.
func (t *streamTable) release() {
	for _, r := range t.held {
		t.write(r)
	}
	t.held, t.flowing = nil, true
}

func (t *streamTable) write(cells []string) {
	var b strings.Builder
	for i, c := range cells {
		b.WriteString(c)
		if i+1 < len(cells) {
			b.WriteString(strings.Repeat(" ", t.widths[i]-len(c)+2))
		}
	}
	b.WriteByte('\n')
	io.WriteString(t.out, b.String())
}
