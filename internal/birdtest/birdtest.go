// Package birdtest runs a real BIRD 2 routing daemon for tests: the upstream
// router that hivenet's BGP speakers peer with.
//
// It starts Debian's bird2 (/usr/sbin/bird, installed by
// scripts/provision.sh) in the foreground as a child process with a
// generated configuration and its own control socket in a temporary
// directory, and queries it with birdc. A missing bird fails the test: it
// is never skipped. The daemon is killed by t.Cleanup.
//
// In a network namespace (the kernel tier) pass Netns: the daemon runs
// under `ip netns exec`.
package birdtest

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Paths of the daemon and its client.
var (
	Bird  = "/usr/sbin/bird"
	Birdc = "/usr/sbin/birdc"
)

// Neighbor is one BGP session of the daemon.
type Neighbor struct {
	// Name is the protocol's name in BIRD (letters, digits, underscores;
	// not a keyword of its configuration language such as "gw").
	Name string
	Addr netip.Addr
	ASN  uint32
	// Port is the neighbour's TCP port (default 179).
	Port uint16
	// Password, when set, is the session's TCP MD5 key.
	Password string
	// Multihop allows a neighbour that is not directly connected (loopback
	// addresses).
	Multihop bool
	// Local is the session's local address (default Config.Local).
	Local netip.Addr
}

// Config configures the daemon.
type Config struct {
	RouterID netip.Addr
	ASN      uint32
	// Local is the address the sessions use; LocalPort BIRD's listening
	// port (default 179).
	Local     netip.Addr
	LocalPort uint16
	Neighbors []Neighbor
	// Static are the routes BIRD originates (unreachable routes in its own
	// table, exported to every neighbour with itself as next hop).
	Static []netip.Prefix
	// Hold and KeepAlive are the session timers in seconds (default 3
	// and 1, so that a lost session is noticed in tests).
	Hold, KeepAlive int
	// Netns runs the daemon in that network namespace.
	Netns string
	// Extra is appended to the configuration.
	Extra string
}

// Daemon is a running bird.
type Daemon struct {
	t    testing.TB
	cfg  Config
	dir  string
	sock string
	cmd  *exec.Cmd
	done chan struct{}
	out  *syncBuf
}

// syncBuf is the daemon's output, written by exec's copying goroutine.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start starts bird with cfg and waits until its control socket answers.
func Start(t testing.TB, cfg Config) *Daemon {
	t.Helper()
	if _, err := os.Stat(Bird); err != nil {
		t.Fatalf("birdtest: %v (install bird2: scripts/provision.sh)", err)
	}
	if cfg.Hold == 0 {
		cfg.Hold = 3
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 1
	}
	dir := t.TempDir()
	d := &Daemon{t: t, cfg: cfg, dir: dir, sock: filepath.Join(dir, "bird.ctl"), out: new(syncBuf)}
	conf := filepath.Join(dir, "bird.conf")
	if err := os.WriteFile(conf, []byte(d.config()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{Bird, "-f", "-c", conf, "-s", d.sock, "-P", filepath.Join(dir, "bird.pid")}
	if cfg.Netns != "" {
		args = append([]string{"ip", "netns", "exec", cfg.Netns}, args...)
	}
	d.cmd = exec.Command(args[0], args[1:]...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("birdtest: start bird: %v", err)
	}
	d.done = make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(d.Kill)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := d.Birdc("show status"); err == nil {
			return d
		}
		select {
		case <-d.done:
			t.Fatalf("birdtest: bird exited; output:\n%s", d.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("birdtest: bird did not answer on %s; output:\n%s", d.sock, d.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *Daemon) config() string {
	c := d.cfg
	var b strings.Builder
	fmt.Fprintf(&b, "router id %s;\nlog stderr all;\nprotocol device {}\n", c.RouterID)
	if len(c.Static) > 0 {
		b.WriteString("protocol static origin {\n\tipv4;\n")
		for _, p := range c.Static {
			fmt.Fprintf(&b, "\troute %s unreachable;\n", p)
		}
		b.WriteString("}\n")
	}
	for _, n := range c.Neighbors {
		port := n.Port
		if port == 0 {
			port = 179
		}
		lport := c.LocalPort
		if lport == 0 {
			lport = 179
		}
		local := c.Local
		if n.Local.IsValid() {
			local = n.Local
		}
		fmt.Fprintf(&b, "protocol bgp %s {\n\tlocal %s port %d as %d;\n\tneighbor %s port %d as %d;\n",
			n.Name, local, lport, c.ASN, n.Addr, port, n.ASN)
		// strict bind: listen on Local only, so that several daemons
		// share a port on different loopback addresses.
		b.WriteString("\tstrict bind;\n")
		fmt.Fprintf(&b, "\thold time %d;\n\tkeepalive time %d;\n\tconnect retry time 1;\n\terror wait time 1, 2;\n", c.Hold, c.KeepAlive)
		if n.Multihop {
			b.WriteString("\tmultihop 2;\n")
		}
		if n.Password != "" {
			fmt.Fprintf(&b, "\tpassword %q;\n", n.Password)
		}
		b.WriteString("\tipv4 { import all; export all; next hop self; };\n}\n")
	}
	b.WriteString(c.Extra)
	return b.String()
}

// Birdc runs one birdc command and returns its output. The control socket
// is a file, so birdc needs no namespace.
func (d *Daemon) Birdc(command string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	args := append([]string{Birdc, "-s", d.sock}, strings.Fields(command)...)
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("birdc %s: %w: %s", command, err, out)
	}
	return string(out), nil
}

// State returns the BGP state of neighbour name as BIRD shows it
// ("Established", "Active", "Connect", ...), or an error.
func (d *Daemon) State(name string) (string, error) {
	out, err := d.Birdc("show protocols " + name)
	if err != nil {
		return "", err
	}
	states := map[string]bool{"Idle": true, "Connect": true, "Active": true, "OpenSent": true, "OpenConfirm": true, "Established": true, "Close": true, "Down": true}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || f[0] != name {
			continue
		}
		for _, w := range f[3:] {
			if states[w] {
				return w, nil
			}
		}
		return f[3], nil
	}
	return "", fmt.Errorf("birdtest: no protocol %s in:\n%s", name, out)
}

// Paths returns the next hops BIRD has for prefix (one per path: two for a
// prefix learned from two neighbours), sorted as BIRD lists them.
func (d *Daemon) Paths(prefix netip.Prefix) ([]netip.Addr, error) {
	out, err := d.Birdc("show route " + prefix.String() + " all")
	if strings.Contains(out, "Network not found") {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var hops []netip.Addr
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "BGP.next_hop:" {
			if a, err := netip.ParseAddr(f[1]); err == nil {
				hops = append(hops, a)
			}
		}
	}
	return hops, nil
}

// Kill stops the daemon (SIGKILL: the sessions' TCP connections are reset
// by the kernel) and waits for it. It is idempotent.
func (d *Daemon) Kill() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Kill()
	<-d.done
	d.cmd = nil
}

// Output returns what the daemon logged so far.
func (d *Daemon) Output() string { return d.out.String() }
