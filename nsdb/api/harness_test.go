package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology"
)

func TestMain(m *testing.M) { zktest.Main(m) }

// Tokens of every test server.
const (
	adminToken  = "admin-token-0123456789abcdef"
	readerToken = "reader-token-0123456789abcdef"
	tokenFile   = adminToken + ",alice,admin\n" + readerToken + ",rita,reader\n"
	// maxBody is the tests' body limit, small so that a too-large body is
	// cheap to send.
	maxBody = 64 << 10
)

// backend opens fresh, empty databases: open returns a function that
// opens clients (sessions) on one new database.
type backend struct {
	name string
	open func(t testing.TB) func(t testing.TB) nsdb.Client
}

var memoryBackend = backend{"memory", func(t testing.TB) func(t testing.TB) nsdb.Client {
	srv := memory.NewServer(memory.Config{})
	return func(t testing.TB) nsdb.Client {
		c := srv.NewClient()
		t.Cleanup(func() { c.Close() })
		return c
	}
}}

var zooKeeperBackend = backend{"zookeeper", func(t testing.TB) func(t testing.TB) nsdb.Client {
	servers := strings.Split(zktest.Standalone(t), ",")
	root := zktest.UniquePath(t)
	return func(t testing.TB) nsdb.Client {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := zookeeper.New(ctx, zookeeper.Config{Servers: servers, Root: root, SessionTimeout: 4 * time.Second})
		if err != nil {
			t.Fatalf("zookeeper.New: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
}}

// spec is the OpenAPI document every request and response of the tests is
// validated against, loaded once per test binary.
var spec struct {
	once   sync.Once
	raw    []byte
	doc    *openapi3.T
	router routers.Router
	err    error
}

func loadSpec(t testing.TB, h http.Handler) {
	spec.once.Do(func() {
		// A change stream's body is text, validated as a string.
		openapi3filter.RegisterBodyDecoder("text/event-stream", func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
			b, err := io.ReadAll(body)
			return string(b), err
		})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/openapi.json", nil))
		spec.raw = rec.Body.Bytes()
		loader := openapi3.NewLoader()
		if spec.doc, spec.err = loader.LoadFromData(spec.raw); spec.err != nil {
			return
		}
		if spec.err = spec.doc.Validate(context.Background()); spec.err != nil {
			return
		}
		spec.router, spec.err = legacy.NewRouter(spec.doc)
	})
	if spec.err != nil {
		t.Fatalf("the server's OpenAPI document: %v", spec.err)
	}
}

// coverage records the operations whose success responses the tests
// validated, per backend.
type coverage struct {
	mu  sync.Mutex
	ops map[string]bool
}

func (c *coverage) hit(op string) {
	c.mu.Lock()
	c.ops[op] = true
	c.mu.Unlock()
}

// env is one API server on a fresh database.
type env struct {
	t       testing.TB
	srv     *api.Server
	db      nsdb.Client
	newConn func(t testing.TB) nsdb.Client
	reg     *prometheus.Registry
	logs    *syncBuffer
	cov     *coverage
	// ids holds the IDs of objects created by create, by name or handle.
	ids map[string]string
}

func newEnv(t testing.TB, b backend, cov *coverage) *env {
	newConn := b.open(t)
	db := newConn(t)
	tokens, err := api.ParseTokens(strings.NewReader(tokenFile))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, newConn: newConn, reg: prometheus.NewRegistry(), logs: &syncBuffer{}, cov: cov, ids: map[string]string{}}
	e.srv, err = api.New(api.Config{NSDB: db, Tokens: tokens, Registerer: e.reg, MaxBodyBytes: maxBody,
		Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	loadSpec(t, e.srv)
	return e
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// call is one request.
type call struct {
	method, path string
	// body is sent as it is (a string) with Content-Type ctype, default
	// application/json.
	body   string
	ctype  string
	noBody bool
	// token defaults to the admin token; "-" sends none.
	token  string
	header map[string]string
	// invalid marks a request that deliberately breaks the contract: it
	// is not validated (its response is).
	invalid bool
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %v\n%s", r.status, err, r.body)
	}
	return m
}

// problem decodes a problem response.
func (r response) problem(t testing.TB) api.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("error response %d has Content-Type %q, not application/problem+json:\n%s", r.status, ct, r.body)
	}
	var p api.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != r.status || !strings.HasPrefix(p.Type, api.ProblemType) || p.Title == "" {
		t.Fatalf("malformed problem %+v for status %d", p, r.status)
	}
	return p
}

func (e *env) newRequest(c call) *http.Request {
	var body io.Reader
	if c.body != "" || !c.noBody && (c.method == http.MethodPost || c.method == http.MethodPut) {
		body = strings.NewReader(c.body)
	}
	req := httptest.NewRequest(c.method, c.path, body)
	if body != nil {
		ct := c.ctype
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	switch c.token {
	case "":
		req.Header.Set("Authorization", "Bearer "+adminToken)
	case "-":
	default:
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	return req
}

// do sends a request to the server, validating the request (unless
// invalid) and the response against the OpenAPI document.
func (e *env) do(c call) response {
	e.t.Helper()
	ctx := context.Background()
	vreq := e.newRequest(c)
	route, params, findErr := spec.router.FindRoute(vreq)
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	if findErr == nil && !c.invalid {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			e.t.Fatalf("%s %s: the request does not match the OpenAPI document: %v", c.method, c.path, err)
		}
	}
	rec := httptest.NewRecorder()
	req := e.newRequest(c)
	var w http.ResponseWriter = rec
	if strings.HasPrefix(c.path, "/v1/watch") {
		// A change stream never ends by itself: end it once its first
		// part, up to the sync event, is out.
		sctx, cancel := context.WithCancel(req.Context())
		defer cancel()
		req = req.WithContext(sctx)
		w = &untilSync{ResponseRecorder: rec, cancel: cancel}
	}
	e.srv.ServeHTTP(w, req)
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if findErr != nil {
		if res.status != http.StatusNotFound && res.status != http.StatusMethodNotAllowed && res.status != http.StatusUnauthorized {
			e.t.Fatalf("%s %s is in no operation of the OpenAPI document, yet answered %d", c.method, c.path, res.status)
		}
		return res
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.status, Header: res.header,
		Body: io.NopCloser(bytes.NewReader(res.body)), Options: opts}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		e.t.Fatalf("%s %s: response %d does not match the OpenAPI document: %v\n%s", c.method, c.path, res.status, err, res.body)
	}
	if res.status < 300 && !c.invalid {
		e.cov.hit(route.Operation.OperationID)
	}
	return res
}

// must sends a request and checks its status.
func (e *env) must(c call, status int) response {
	e.t.Helper()
	r := e.do(c)
	if r.status != status {
		e.t.Fatalf("%s %s %s: status %d, want %d\n%s", c.method, c.path, c.body, r.status, status, r.body)
	}
	return r
}

func (e *env) get(path string) response {
	e.t.Helper()
	return e.must(call{method: "GET", path: path}, 200)
}

// snapshot is every object of the store with its version.
type snapshot map[topology.Kind][]nsdb.Versioned

func (e *env) snapshot() snapshot {
	e.t.Helper()
	s := snapshot{}
	for _, k := range topology.Kinds() {
		vs, err := e.db.Store().List(context.Background(), k)
		if err != nil {
			e.t.Fatal(err)
		}
		s[k] = vs
	}
	return s
}

// unchanged fails the test if the store differs from before.
func (e *env) unchanged(before snapshot, what string) {
	e.t.Helper()
	after := e.snapshot()
	for _, k := range topology.Kinds() {
		if !slices.EqualFunc(before[k], after[k], func(a, b nsdb.Versioned) bool {
			return a.Version == b.Version && a.Object.ObjectID() == b.Object.ObjectID()
		}) {
			e.t.Fatalf("%s changed the store: %d %ss before, %d after", what, len(before[k]), k, len(after[k]))
		}
	}
}

type apiProblemError = api.ProblemError

// untilSync records a change stream and cancels its request once the
// stream has sent its sync event.
type untilSync struct {
	*httptest.ResponseRecorder
	cancel func()
}

func (u *untilSync) Write(b []byte) (int, error) {
	n, err := u.ResponseRecorder.Write(b)
	if bytes.Contains(u.Body.Bytes(), []byte("event: sync\n")) {
		u.cancel()
	}
	return n, err
}
