package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
)

// FuzzRequestBody sends arbitrary bodies to POST on every collection and
// to PUT on an object of each, on a fresh database holding the test
// world. The server never panics nor fails with a 5xx; a refused body is
// answered with a problem and changes nothing.
func FuzzRequestBody(f *testing.F) {
	// Build the world once through the API, then keep its objects to load
	// them straight into each fuzzing database.
	e := newEnv(f, memoryBackend, &coverage{ops: map[string]bool{}})
	e.buildWorld()
	top, err := nsdb.Load(context.Background(), e.db.Store())
	if err != nil {
		f.Fatal(err)
	}
	colls := []string{}
	targets := map[string]string{}
	for _, w := range world {
		if _, ok := targets[w.coll]; !ok {
			colls = append(colls, w.coll)
			targets[w.coll] = e.ids[w.handle]
		}
		f.Add(uint8(len(colls)-1), false, []byte(e.expand(w.body)))
	}
	for _, s := range []string{`{"name": `, `[]`, `null`, `{"name": 7}`, `{"name": "x", "colour": 1}`, `{"name":"a","name":"b"}`,
		`{"rules": [{"snat": "1.2.3.4-1.2.3.3"}]}`, `{"bridge": "net1", "name": "p", "peer": "r1-net1"}`, "\xff\xfe"} {
		f.Add(uint8(0), true, []byte(s))
	}
	tokens, err := api.ParseTokens(strings.NewReader(tokenFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, coll uint8, put bool, body []byte) {
		db := memory.NewServer(memory.Config{}).NewClient()
		defer db.Close()
		ctx := context.Background()
		if _, err := db.Store().Commit(ctx, nsdb.PutAll(top)...); err != nil {
			t.Fatal(err)
		}
		srv, err := api.New(api.Config{NSDB: db, Tokens: tokens, MaxBodyBytes: maxBody})
		if err != nil {
			t.Fatal(err)
		}
		c := colls[int(coll)%len(colls)]
		method, path := http.MethodPost, "/v1/"+c
		if put {
			method, path = http.MethodPut, path+"/"+targets[c]
		}
		before := versions(t, db)
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("%s %s %q: %d\n%s", method, path, body, rec.Code, rec.Body)
		case rec.Code >= 400:
			var p api.Problem
			if rec.Header().Get("Content-Type") != "application/problem+json" || json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Status != rec.Code {
				t.Fatalf("%s %s %q: %d with a malformed problem\n%s", method, path, body, rec.Code, rec.Body)
			}
			if after := versions(t, db); after != before {
				t.Fatalf("%s %s %q refused with %d, yet the store changed", method, path, body, rec.Code)
			}
		default:
			var o map[string]any
			if json.Unmarshal(rec.Body.Bytes(), &o) != nil || o["id"] == nil {
				t.Fatalf("%s %s %q: %d with body %s", method, path, body, rec.Code, rec.Body)
			}
		}
	})
}

// versions fingerprints the store: every object's kind, ID and version.
func versions(t *testing.T, db nsdb.Client) string {
	var b strings.Builder
	for _, k := range topology.Kinds() {
		vs, err := db.Store().List(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			b.WriteString(v.Object.ObjectID().String())
			b.WriteByte(byte(v.Version))
		}
	}
	return b.String()
}
