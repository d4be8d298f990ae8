// Package cli holds what the example commands share about their command
// lines, so that they check the same flags the same way: ZooKeeper server
// lists and credentials, listen addresses and secret files.
package cli

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/hivenet/hivenet/nsdb/zookeeper"
)

// HostPorts parses a comma-separated list of HOST:PORT, as -zk takes it,
// checking every port before anything starts.
func HostPorts(list string) ([]string, error) {
	var out []string
	for _, hp := range strings.Split(list, ",") {
		host, port, err := net.SplitHostPort(hp)
		if err != nil || host == "" {
			return nil, fmt.Errorf("%q: want HOST:PORT", hp)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: port out of range 1-65535", hp)
		}
		out = append(out, hp)
	}
	return out, nil
}

// ListenAddr checks an IP:PORT to listen on (port 0 picks one).
func ListenAddr(s string) error {
	if _, err := netip.ParseAddrPort(s); err != nil {
		return fmt.Errorf("%q: want IP:PORT", s)
	}
	return nil
}

// ReadSecret reads a one-line secret (a token) from path. It refuses
// files that group or others can read or write.
func ReadSecret(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s is accessible to group or others (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(string(b))
	if t == "" || strings.ContainsAny(t, " \t\n") {
		return "", fmt.Errorf("%s: want one token on one line", path)
	}
	return t, nil
}

// ZooKeeperSecurity loads what the -zk-auth-file and -zk-tls-ca flags
// name: the digest identity to authenticate as (zookeeper.LoadAuth: a
// mode-600 file, "user:password" then optional "grant" lines), and a TLS
// configuration trusting the CA certificates of a PEM file. An empty path
// gives nil.
func ZooKeeperSecurity(authFile, caFile string) (*zookeeper.Auth, *tls.Config, error) {
	var auth *zookeeper.Auth
	if authFile != "" {
		a, err := zookeeper.LoadAuth(authFile)
		if err != nil {
			return nil, nil, fmt.Errorf("-zk-auth-file: %w", err)
		}
		auth = a
	}
	var tc *tls.Config
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, nil, fmt.Errorf("-zk-tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("-zk-tls-ca: %s holds no PEM certificate", caFile)
		}
		tc = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return auth, tc, nil
}
