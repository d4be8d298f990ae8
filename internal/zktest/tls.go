package zktest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/proc"
	"github.com/hivenet/hivenet/nsdb/zookeeper/zkserver"
)

// StartServerTLS starts a private standalone server, like [StartServer],
// that also accepts clients over TLS on a second port of 127.0.0.1, with a
// self-signed certificate for 127.0.0.1. It returns the server (whose Addr
// is the plaintext port), the TLS port's address, and a pool trusting the
// certificate. The server is stopped when the test ends.
func StartServerTLS(t testing.TB) (s *Server, tlsAddr string, roots *x509.CertPool) {
	t.Helper()
	Require(t)
	rt, err := FindRuntime()
	if err != nil {
		t.Fatalf("zktest: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "zk")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	keyStore, roots := selfSigned(t, dir)
	addr := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	ports, err := proc.FreePorts(addr, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(rt, dir, netip.AddrPortFrom(addr, ports[0]))
	cfg.SecureClient = netip.AddrPortFrom(addr, ports[1])
	cfg.TLSKeyStore = keyStore
	s, err = zkserver.New(cfg)
	if err != nil {
		t.Fatalf("zktest: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("zktest: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("zktest: tail of ZooKeeper log %s:\n%s", s.LogPath(), s.LogTail(30))
		}
		if err := s.Stop(); err != nil {
			t.Errorf("zktest: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	if err := s.WaitServing(ctx); err != nil {
		t.Fatalf("zktest: start ZooKeeper with TLS: %v", err)
	}
	return s, cfg.SecureClient.String(), roots
}

// selfSigned writes a PEM key store (key, then certificate) for 127.0.0.1
// in dir and returns its path and a pool trusting the certificate.
func selfSigned(t testing.TB, dir string) (string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hivenet zktest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	p := filepath.Join(dir, "server.pem")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return p, pool
}
