package main

import (
	"bufio"
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/neutronstore"
	"github.com/hivenet/hivenet/nsdb/nsdbtest"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/neutron"
)

// Helpers of the tests that drive a node with Debian's openstack command
// (python3-openstackclient), replaying the README's commands.

// envRequireOpenStack makes a missing openstack command fail the tests
// instead of skipping them (make test sets it).
const envRequireOpenStack = "HIVENET_REQUIRE_OPENSTACK"

// openstackCommand returns the openstack command's path, or skips (fails
// with HIVENET_REQUIRE_OPENSTACK=1 or HIVENET_REQUIRE_ZK=1, as under make
// test) when it is not installed.
func openstackCommand(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("openstack")
	if err == nil {
		return p
	}
	if os.Getenv(envRequireOpenStack) != "" || os.Getenv("HIVENET_REQUIRE_ZK") != "" {
		t.Fatalf("the openstack command is missing (%v): scripts/provision.sh installs python3-openstackclient", err)
	}
	t.Skipf("skipping: no openstack command (%v); set %s=1 to fail instead", err, envRequireOpenStack)
	return ""
}

// readmeOpenStack returns the openstack commands (without "openstack ")
// of the README blocks TestOpenStackCLI replays, block by block: the
// cloud's creation, then its teardown.
func readmeOpenStack(t *testing.T) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks [][]string
	var cur []string
	in, prev, cont := false, "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case !in && strings.HasPrefix(l, "```sh") && strings.Contains(prev, "readme-test: skip TestOpenStackCLI"):
			in, cur = true, nil
		case in && strings.HasPrefix(l, "```"):
			in = false
			blocks = append(blocks, cur)
		case in:
			l = strings.TrimSpace(l)
			if s, ok := strings.CutSuffix(l, "\\"); ok {
				cont += s + " "
				continue
			}
			if cmd, ok := strings.CutPrefix(cont+l, "openstack "); ok {
				cur = append(cur, cmd)
			}
			cont = ""
		}
		prev = l
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 || len(blocks[0]) < 10 || len(blocks[1]) < 5 {
		t.Fatalf("README.md: want the two blocks TestOpenStackCLI replays (creation, teardown); found %d: %q", len(blocks), blocks)
	}
	return blocks
}

// openstack runs commands through one openstack process (its interactive
// mode reads them from standard input), authenticated through the node's
// Keystone endpoint with the admin token. The command reports errors on
// standard error and goes on: any output there fails the test.
func openstack(t *testing.T, addr string, cmds []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, openstackCommand(t))
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "OS_AUTH_URL=http://" + addr + "/v3",
		"OS_AUTH_TYPE=v3token", "OS_TOKEN=" + adminToken}
	c.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	var out, errs bytes.Buffer
	c.Stdout, c.Stderr = &out, &errs
	start := time.Now()
	err := c.Run()
	t.Logf("openstack: %d commands in %v", len(cmds), time.Since(start).Round(time.Millisecond))
	if err != nil || errs.Len() > 0 {
		t.Fatalf("openstack %q: %v\nstandard error:\n%s\nstandard output:\n%s", cmds, err, errs.String(), out.String())
	}
	return out.String()
}

// runNode runs a cluster node in this process with args (and -listen,
// -token-file) until the test ends; it returns the node's NSDB client and
// HTTP address once its services run.
func runNode(t *testing.T, args ...string) (nsdb.Client, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	type up struct {
		c    nsdb.Client
		addr string
	}
	ready := make(chan up, 1)
	done := make(chan int, 1)
	var logs lockedBuffer
	args = append(args, "-listen", "127.0.0.1:0", "-token-file", tokenFile(t))
	go func() {
		done <- run(ctx, args, &logs, func(_ *cluster.Node, c nsdb.Client, addr string) {
			wctx, wcancel := context.WithTimeout(ctx, time.Minute)
			defer wcancel()
			if _, err := waitStatus(wctx, c, allRunning); err == nil {
				ready <- up{c, addr}
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("node exited %d", code)
		}
		if t.Failed() {
			t.Logf("node log:\n%s", logs.String())
		}
	})
	select {
	case u := <-ready:
		return u.c, u.addr
	case code := <-done:
		done <- code
		t.Fatalf("node exited %d before running:\n%s", code, logs.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("node not running after 2 minutes:\n%s", logs.String())
	}
	return nil, ""
}

// base is the operator's part of the deployment, outside Neutron (the
// README writes it through /v1/): three hosts in a VXLAN tunnel zone and
// the provider router, whose uplink on host-c reaches the upstream gateway
// 198.51.100.1.
func base() *topology.Topology {
	id := topology.NameID
	t := &topology.Topology{}
	z := topology.TunnelZone{ID: id(topology.KindTunnelZone, "underlay"), Name: "underlay", Type: topology.TunnelZoneVXLAN}
	for i, h := range []string{"host-a", "host-b", "host-c"} {
		t.Hosts = append(t.Hosts, topology.Host{ID: id(topology.KindHost, h), Name: h})
		z.Members = append(z.Members, topology.TunnelZoneMember{Host: id(topology.KindHost, h), Addr: netip.AddrFrom4([4]byte{192, 168, 100, byte(11 + i)})})
	}
	t.TunnelZones = []topology.TunnelZone{z}
	prov, up := id(topology.KindRouter, "provider"), id(topology.KindPort, "provider-uplink")
	t.Routers = []topology.Router{{ID: prov, Name: "provider"}}
	t.Ports = []topology.Port{{ID: up, Name: "provider-uplink", Router: prov, Host: id(topology.KindHost, "host-c"), Interface: "eth1",
		Subnets: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}, Address: netip.MustParseAddr("198.51.100.2"),
		MAC: topology.MustParseMAC("02:00:c6:33:64:02")}}
	t.Routes = []topology.Route{{ID: id(topology.KindRoute, "provider-default"), Router: prov, Dst: netip.MustParsePrefix("0.0.0.0/0"),
		NextHop: topology.NextHopPort, NextHopPort: up, Gateway: netip.MustParseAddr("198.51.100.1")}}
	return t
}

// Addresses the README's commands give.
var (
	vm1Addr    = netip.MustParseAddr("10.0.0.11")
	vm2Addr    = netip.MustParseAddr("10.0.0.12")
	vmGateway  = netip.MustParseAddr("10.0.0.1")
	floatingIP = netip.MustParseAddr("203.0.113.20")
	snatAddr   = netip.MustParseAddr("203.0.113.10") // r1's gateway: the external pool's first address
	upstream   = netip.MustParseAddr("198.51.100.1")
)

// cloudPort returns the Neutron port named name of the model the node
// stores.
func cloudPort(t *testing.T, c nsdb.Client, name string) *neutron.Port {
	t.Helper()
	s, err := neutronstore.New(neutronstore.Config{NSDB: c})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Model(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Ports {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no Neutron port named %q", name)
	return nil
}

func dumpNSDB(t *testing.T, c nsdb.Client) string {
	t.Helper()
	d, err := nsdbtest.Dump(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// lockedBuffer is a buffer written by several goroutines (the node's
// loggers) and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
