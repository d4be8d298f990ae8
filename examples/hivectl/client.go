package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/hivenet/hivenet/internal/cli"
	"github.com/hivenet/hivenet/nsdb/api"
)

// client calls the REST API of a cluster node.
type client struct {
	base  string // http://host:port, without /v1
	token string
	http  *http.Client
	// names caches, per collection, its objects' names by ID.
	names map[string]map[string]string
}

// errAPI marks errors the API answered (a problem); errUsage bad command
// lines. Both are printed as they are.
var (
	errAPI   = errors.New("api")
	errUsage = errors.New("usage")
)

// apiError is a problem the API answered.
type apiError struct{ p api.Problem }

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", e.p.Status, e.p.Title)
	if e.p.Detail != "" {
		b.WriteString(": " + e.p.Detail)
	}
	for _, pe := range e.p.Errors {
		b.WriteString("\n  ")
		for _, s := range []string{pe.Object, pe.Field} {
			if s != "" {
				b.WriteString(s + ": ")
			}
		}
		b.WriteString(pe.Class + ": " + pe.Detail)
	}
	return b.String()
}

func (e *apiError) Unwrap() error { return errAPI }

// newClient returns a client for the global options.
func newClient(g *globals) (*client, error) {
	u, err := url.Parse(g.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: --server %q: want http://HOST:PORT or https://HOST:PORT", errUsage, g.server)
	}
	c := &client{base: strings.TrimSuffix(strings.TrimSuffix(g.server, "/"), "/v1"), names: map[string]map[string]string{}}
	switch {
	case g.tokenFile != "":
		if c.token, err = cli.ReadSecret(g.tokenFile); err != nil {
			return nil, fmt.Errorf("%w: --token-file: %w", errUsage, err)
		}
	default:
		c.token = strings.TrimSpace(os.Getenv("HIVENET_TOKEN"))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if g.caFile != "" {
		pem, err := os.ReadFile(g.caFile)
		if err != nil {
			return nil, fmt.Errorf("%w: --cacert: %w", errUsage, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: --cacert %s: no PEM certificate", errUsage, g.caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	c.http = &http.Client{Transport: tr}
	return c, nil
}

// request is one API call.
type request struct {
	method, path string
	body         []byte
	ctype        string
	header       map[string]string
}

// response is an API answer with a success status.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send makes a request and returns the response, whatever its status.
func (c *client) send(ctx context.Context, rq request) (*http.Response, error) {
	var body io.Reader
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, c.base+rq.path, body)
	if err != nil {
		return nil, err
	}
	if rq.body != nil {
		ct := rq.ctype
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", rq.method, c.base+rq.path, err)
	}
	return resp, nil
}

// do makes a request; an error status becomes an *apiError.
func (c *client) do(ctx context.Context, rq request) (*response, error) {
	resp, err := c.send(ctx, rq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", rq.method, rq.path, err)
	}
	if resp.StatusCode >= 300 {
		return nil, problemOf(resp, b)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// problemOf turns an error response into an *apiError.
func problemOf(resp *http.Response, body []byte) error {
	var p api.Problem
	if err := json.Unmarshal(body, &p); err != nil || p.Status == 0 {
		p = api.Problem{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode), Detail: strings.TrimSpace(string(body))}
	}
	if resp.StatusCode == http.StatusUnauthorized && p.Detail != "" {
		p.Detail += " (--token-file FILE or HIVENET_TOKEN)"
	}
	return &apiError{p}
}

func (c *client) get(ctx context.Context, path string) (*response, error) {
	return c.do(ctx, request{method: http.MethodGet, path: path})
}

// getJSON GETs path and decodes its JSON answer into v.
func (c *client) getJSON(ctx context.Context, path string, v any) error {
	r, err := c.get(ctx, path)
	if err != nil {
		return err
	}
	return json.Unmarshal(r.body, v)
}

// list reads every page of a list, returning its items.
func (c *client) list(ctx context.Context, path string) ([]json.RawMessage, error) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var all []json.RawMessage
	cont := ""
	for {
		p := path + sep + "limit=1000"
		if cont != "" {
			p += "&continue=" + url.QueryEscape(cont)
		}
		var page struct {
			Items    []json.RawMessage `json:"items"`
			Continue string            `json:"continue"`
		}
		if err := c.getJSON(ctx, p, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.Continue == "" {
			return all, nil
		}
		cont = page.Continue
	}
}

// objects lists a collection as JSON objects.
func (c *client) objects(ctx context.Context, coll string) ([]map[string]any, error) {
	items, err := c.list(ctx, "/v1/"+coll)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		m, err := decodeObject(it)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	c.remember(coll, out)
	return out, nil
}

// remember caches the names of a collection's objects.
func (c *client) remember(coll string, objs []map[string]any) {
	names := map[string]string{}
	for _, o := range objs {
		id, _ := o["id"].(string)
		if n, ok := o["name"].(string); ok && id != "" {
			names[id] = n
		}
	}
	c.names[coll] = names
}

// nameOf returns the name of the object of coll with UUID id, or id.
func (c *client) nameOf(ctx context.Context, coll, id string) string {
	names, ok := c.names[coll]
	if !ok {
		if _, err := c.objects(ctx, coll); err != nil {
			c.names[coll] = map[string]string{} // not again
		}
		names = c.names[coll]
	}
	if n, ok := names[id]; ok {
		return n
	}
	return id
}

// decodeObject decodes one JSON object keeping numbers exact.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decoding the API's answer: %w", err)
	}
	return m, nil
}

// pathOf is the URL path of an object.
func pathOf(coll, ref string) string { return "/v1/" + coll + "/" + url.PathEscape(ref) }
