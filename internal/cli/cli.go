// Package cli holds what the example commands share about their command
// lines, so that they check the same flags the same way: ZooKeeper server
// lists, listen addresses and secret files.
package cli

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
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
