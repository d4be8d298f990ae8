package api_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/nsdb/memory"
)

// concrete fills a path template's parameters with plausible values.
func concrete(path string) string {
	return strings.NewReplacer("{id}", "net1", "{rule}", "6f1c9d0e-3b2a-4c5d-8e7f-0a1b2c3d4e5f",
		"{vlan}", "0", "{addr}", "10.0.0.1").Replace(path)
}

// testAuth sends every operation of the OpenAPI document without a token,
// with a wrong one, with another scheme and with the reader's: 401, 401,
// 401, and 403 for writes; the store never changes.
func testAuth(t *testing.T, e *env) {
	e.buildWorld()
	before := e.snapshot()
	n := 0
	for path, item := range spec.doc.Paths.Map() {
		for method, op := range item.Operations() {
			n++
			p := concrete(path)
			public := op.Security != nil && len(*op.Security) == 0
			// Every operation but GET writes, except a trace: a
			// simulation writes nothing, and readers may run it.
			write := method != http.MethodGet && path != "/v1/trace"
			for _, tok := range []string{"-", "wrong-token-0123456789abcdef"} {
				r := e.do(call{method: method, path: p, token: tok, body: "{}", invalid: true})
				if public {
					if r.status != http.StatusOK {
						t.Errorf("%s %s without a token: %d, want 200 (public)", method, p, r.status)
					}
					continue
				}
				if r.status != http.StatusUnauthorized {
					t.Fatalf("%s %s with token %q: %d, want 401", method, p, tok, r.status)
				}
				r.problem(t)
				if r.header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s %s: 401 without WWW-Authenticate", method, p)
				}
			}
			req := call{method: method, path: p, body: "{}", invalid: true, header: map[string]string{"Authorization": "Basic " + adminToken}}
			req.token = "-"
			if r := e.do(req); !public && r.status != http.StatusUnauthorized {
				t.Errorf("%s %s with Basic auth: %d, want 401", method, p, r.status)
			}
			r := e.do(call{method: method, path: p, token: readerToken, body: "{}", invalid: true})
			switch {
			case write && r.status != http.StatusForbidden:
				t.Errorf("%s %s as reader: %d, want 403", method, p, r.status)
			case write:
				if pr := r.problem(t); !strings.Contains(pr.Detail, "rita") {
					t.Errorf("403 does not name the token: %+v", pr)
				}
			case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
				t.Errorf("%s %s as reader: %d", method, p, r.status)
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d operations in the document", n)
	}
	e.unchanged(before, "unauthorized requests")
	// Readers do not see BGP passwords; admins do.
	peer := e.path("bgp-peers", "peer1")
	if pw := e.must(call{method: "GET", path: peer, token: readerToken}, 200).json(t)["password"]; pw != nil {
		t.Errorf("reader sees the BGP password %v", pw)
	}
	if pw := e.get(peer).json(t)["password"]; pw != "s3cret" {
		t.Errorf("admin sees BGP password %v", pw)
	}
}

func TestParseTokens(t *testing.T) {
	good := "# operators\n" + adminToken + ",alice,admin\n\n" + readerToken + ", rita , reader\n"
	toks, err := api.ParseTokens(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := toks.Authenticate(readerToken); !ok || id != (api.Identity{Name: "rita", Role: api.RoleReader}) {
		t.Errorf("reader token: %+v %v", id, ok)
	}
	for _, tok := range []string{"", adminToken + "x", adminToken[1:], strings.ToUpper(adminToken)} {
		if id, ok := toks.Authenticate(tok); ok {
			t.Errorf("token %q authenticated as %+v", tok, id)
		}
	}
	for _, bad := range []string{
		"",                         // no tokens
		",bob,admin\n",             // no token
		adminToken + ",bob\n",      // two fields
		adminToken + ",bob,root\n", // unknown role
		adminToken + ",,admin\n",   // no name
		adminToken + ",a,admin\n" + adminToken + ",b,reader\n", // twice
		"tok en with spaces 0123456789,bob,admin\n",            // not a token68
		`"unterminated,bob,admin` + "\n",
	} {
		if _, err := api.ParseTokens(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseTokens(%q) succeeded", bad)
		}
	}
}

func TestLoadTokens(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(tokenFile), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, mode := range []os.FileMode{0o600, 0o400, 0o640} {
		toks, err := api.LoadTokens(write("ok", mode))
		if err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		if id, ok := toks.Authenticate(adminToken); !ok || id.Name != "alice" || id.Role != api.RoleAdmin {
			t.Errorf("mode %v: admin token gives %+v %v", mode, id, ok)
		}
	}
	for _, mode := range []os.FileMode{0o644, 0o604, 0o660, 0o602} {
		if _, err := api.LoadTokens(write("loose", mode)); !errors.Is(err, api.ErrBadTokenFile) {
			t.Errorf("mode %v: %v, want ErrBadTokenFile", mode, err)
		}
	}
	for _, p := range []string{dir, filepath.Join(dir, "missing")} {
		if _, err := api.LoadTokens(p); !errors.Is(err, api.ErrBadTokenFile) {
			t.Errorf("LoadTokens(%s): %v, want ErrBadTokenFile", p, err)
		}
	}
}

// TestInsecure: the API refuses to start with neither tokens nor Insecure,
// and with both; with Insecure it says so in its log, and every request
// acts as an admin whose writes are logged as InsecureName.
func TestInsecure(t *testing.T) {
	db := memory.NewServer(memory.Config{}).NewClient()
	defer db.Close()
	tokens, err := api.ParseTokens(strings.NewReader(tokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.New(api.Config{NSDB: db}); err == nil {
		t.Error("New without Tokens or Insecure succeeded")
	}
	if _, err := api.New(api.Config{NSDB: db, Tokens: tokens, Insecure: true}); err == nil {
		t.Error("New with Tokens and Insecure succeeded")
	}
	var logs bytes.Buffer
	s, err := api.New(api.Config{NSDB: db, Insecure: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "WITHOUT AUTHENTICATION") {
		t.Errorf("no warning in the log:\n%s", logs.String())
	}
	req := httptest.NewRequest("POST", "/v1/bridges", strings.NewReader(`{"name": "net1"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Errorf("POST without a token: %d %s, want 201", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "token="+api.InsecureName+" method=POST path=/v1/bridges status=201") {
		t.Errorf("the write is not logged as %s:\n%s", api.InsecureName, logs.String())
	}
}
