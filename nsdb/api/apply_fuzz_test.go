package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology/topofile"
)

// FuzzTopologyApply sends arbitrary topology files to PUT /v1/topology,
// under a scope or none, for real or as a dry run, on a database holding
// tenant-a's objects. The server never panics nor fails with a 5xx; a
// refused file changes nothing, and so does a dry run.
func FuzzTopologyApply(f *testing.F) {
	for _, s := range []string{tenantA1, tenantA2, tenantB, tenantB + "  - name: a-net\n", "bridges: [\n", "hosts: [{name: h1}]\n",
		"{}", "[]", "bridges: [{name: x, ports: [{name: p, host: nope}]}]\n", "chains: [{name: c, rules: [{jump: c}]}]\n",
		`{"bridges": [{"name": "j"}]}`, "a: &x [*x]\n"} {
		f.Add(uint8(0), []byte(s))
		f.Add(uint8(3), []byte(s))
	}
	seed, err := topofile.Load(strings.NewReader(tenantA1), "a.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for o := range seed.Objects() {
		if sc := reflect.ValueOf(o).Elem().FieldByName("Scope"); sc.IsValid() {
			sc.SetString("tenant-a")
		}
	}
	tokens, err := api.ParseTokens(strings.NewReader(tokenFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, mode uint8, body []byte) {
		db := memory.NewServer(memory.Config{}).NewClient()
		defer db.Close()
		if _, err := db.Store().Commit(context.Background(), nsdb.PutAll(seed)...); err != nil {
			t.Fatal(err)
		}
		srv, err := api.New(api.Config{NSDB: db, Tokens: tokens, MaxTopologyBytes: maxBody})
		if err != nil {
			t.Fatal(err)
		}
		path := "/v1/topology?scope=" + []string{"tenant-a", "tenant-b"}[mode&1]
		if mode&2 != 0 {
			path = "/v1/topology?"
		}
		dry := mode&4 != 0
		if dry {
			path += "&dry-run=true"
		}
		before := versions(t, db)
		req := httptest.NewRequest("PUT", path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "application/yaml")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("PUT %s %q: %d\n%s", path, body, rec.Code, rec.Body)
		case rec.Code >= 400:
			var p api.Problem
			if rec.Header().Get("Content-Type") != "application/problem+json" || json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Status != rec.Code {
				t.Fatalf("PUT %s %q: %d with a malformed problem\n%s", path, body, rec.Code, rec.Body)
			}
			if versions(t, db) != before {
				t.Fatalf("PUT %s %q refused with %d, yet the store changed", path, body, rec.Code)
			}
		default:
			var res api.ApplyResult
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.DryRun != dry {
				t.Fatalf("PUT %s %q: %d with %s", path, body, rec.Code, rec.Body)
			}
			if dry && versions(t, db) != before {
				t.Fatalf("dry run %q changed the store", body)
			}
		}
	})
}
