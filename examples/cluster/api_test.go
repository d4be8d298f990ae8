package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
)

const (
	adminToken  = "admin-s3cret-token"
	readerToken = "reader-s3cret-token"
)

// tokenFile writes an admin and a reader token, mode 600.
func tokenFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(p, []byte(adminToken+",alice,admin\n"+readerToken+",bob,reader\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// apiClient calls a node's API.
type apiClient struct {
	t    *testing.T
	base string
	http *http.Client
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (c apiClient) do(method, path, token, body string, header map[string]string) (response, error) {
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}, err
}

// must does a request that must answer want.
func (c apiClient) must(method, path, token, body string, header map[string]string, want int) response {
	c.t.Helper()
	r, err := c.do(method, path, token, body, header)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if r.status != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// TestRunAPI: a one-process node serves the API with its tokens: the
// cluster's status, reads for readers, writes for admins only; and over
// HTTPS with -tls-cert/-tls-key.
func TestRunAPI(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		name := "http"
		if useTLS {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			args := []string{"-nsdb", "memory", "-node", "api-node", "-listen", "127.0.0.1:0", "-token-file", tokenFile(t)}
			scheme, hc := "http", &http.Client{Timeout: 10 * time.Second}
			if useTLS {
				cert, key, pool := selfSigned(t)
				args = append(args, "-tls-cert", cert, "-tls-key", key)
				scheme = "https"
				hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
			}
			var logs bytes.Buffer
			code := run(ctx, args, &logs, func(n *cluster.Node, c nsdb.Client, addr string) {
				defer cancel()
				// Every service by default: recycler, snapshots,
				// vxgw-flooding-proxy and neutron-sync are the
				// leader-placed ones, all led by the only node once each
				// has won its election (allRunning also accepts a
				// leader-placed service still waiting for it).
				led := func(st cluster.Status) bool {
					leaders := len(st.Leaders) == 4
					for _, l := range st.Leaders {
						leaders = leaders && l.NodeName == "api-node"
					}
					return leaders && len(st.Nodes) == 1 && st.Nodes[0].Name == "api-node"
				}
				if _, err := waitStatus(ctx, c, func(st cluster.Status) bool { return allRunning(st) && led(st) }); err != nil {
					t.Errorf("status: %v", err)
					return
				}
				api := apiClient{t: t, base: scheme + "://" + addr, http: hc}
				var st cluster.Status
				if err := json.Unmarshal(api.must("GET", "/v1/cluster", readerToken, "", nil, 200).body, &st); err != nil {
					t.Errorf("GET /v1/cluster: %v", err)
				}
				if !led(st) {
					t.Errorf("GET /v1/cluster = %+v", st)
				}
				api.must("GET", "/v1/cluster", "", "", nil, 401)
				api.must("POST", "/v1/bridges", readerToken, `{"name": "net1"}`, nil, 403)
				api.must("POST", "/v1/bridges", adminToken, `{"name": "net1"}`, nil, 201)
				api.must("GET", "/v1/bridges/net1", readerToken, "", nil, 200)
			})
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, logs.String())
			}
		})
	}
}

// TestTokenFileChecked: a token file others may read is refused before
// anything starts.
func TestTokenFileChecked(t *testing.T) {
	p := tokenFile(t)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs bytes.Buffer
	if code := run(context.Background(), []string{"-listen", addr, "-token-file", p}, &logs, nil); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, logs.String())
	}
	if !strings.Contains(logs.String(), "-token-file") {
		t.Errorf("the error does not name -token-file:\n%s", logs.String())
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns a
// pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hivenet test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
