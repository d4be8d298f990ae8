//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// The real-kernel tier creates its topology as an operator would: a
// cluster node (the examples/cluster command) on the test's ZooKeeper
// root serves the REST API in the VM's root namespace, and the
// examples/hivectl command applies the topology file through it. Both
// are built for the VM by scripts/test-kernel.sh.

// envE2EBin names the directory holding the cluster and hivectl commands
// built for the VM (scripts/test-kernel.sh sets it).
const envE2EBin = "HIVENET_E2E_BIN"

// e2eCommand returns the path of a command built for the VM; the test
// fails (it never skips) without it.
func e2eCommand(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv(envE2EBin)
	if dir == "" {
		t.Fatalf("%s is not set: run the kernel tests through scripts/test-kernel.sh (make test-kernel), "+
			"which builds examples/cluster and examples/hivectl for the VM", envE2EBin)
	}
	p := filepath.Join(dir, name)
	if fi, err := os.Stat(p); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("%s=%s has no %s command (%v): scripts/test-kernel.sh builds it", envE2EBin, dir, name, err)
	}
	return p
}

// secret writes a mode-600 file in dir.
func secret(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// clusterUp is what the cluster command logs once its services start,
// with the address it listens on.
var clusterUp = regexp.MustCompile(`msg="cluster node up".* listen=(\S+)`)

// e2eCluster is the cluster node of an environment and hivectl's token.
type e2eCluster struct {
	node      *helper
	dir       string
	tokenFile string
}

// startCluster starts a cluster node (the API alone) on ZooKeeper servers
// under e.root, listening on a loopback port of the VM's root namespace;
// it stops when the test ends. applyTopology waits until it serves.
func (e *e2eEnv) startCluster(t *testing.T, servers string) *e2eCluster {
	t.Helper()
	clusterCmd := e2eCommand(t, "cluster")
	c := &e2eCluster{dir: t.TempDir()}
	const token = "e2e-admin-token-0123456789abcdef"
	tokens := secret(t, c.dir, "tokens.csv", token+",e2e-admin,admin")
	c.tokenFile = secret(t, c.dir, "admin.token", token)
	c.node = startProcess(t, "cluster node", []string{clusterCmd, "-nsdb", "zk", "-zk", servers, "-zk-root", e.root,
		"-node", "e2e-cn1", "-services", "api", "-listen", "127.0.0.1:0", "-token-file", tokens}, nil)
	return c
}

// applyTopology writes e.topo as a topology file and, once the cluster
// node serves its API, applies the file with "hivectl apply -f", which
// must create every object in one transaction.
func (e *e2eEnv) applyTopology(ctx context.Context, t *testing.T, c *e2eCluster) {
	t.Helper()
	hivectl := e2eCommand(t, "hivectl")
	var file bytes.Buffer
	if err := topofile.Write(&file, e.topo); err != nil {
		t.Fatalf("writing the topology file: %v", err)
	}
	topoFile := filepath.Join(c.dir, "two-tenant-cloud-e2e.yaml")
	if err := os.WriteFile(topoFile, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := c.node.waitOutput(ctx, clusterUp)
	if err != nil {
		t.Fatalf("%v\n%s", err, c.node.out.String())
	}
	api := "http://" + m[1]
	if err := waitHealthy(ctx, api); err != nil {
		t.Fatalf("cluster node on %s: %v\n%s", api, err, c.node.out.String())
	}
	t.Logf("cluster node e2e-cn1 serving the API on %s (%v)", api, e.since())

	out, err := exec.CommandContext(ctx, hivectl, "--server", api, "--token-file", c.tokenFile, "apply", "-f", topoFile).CombinedOutput()
	if err != nil {
		t.Fatalf("hivectl apply -f %s: %v\n%s\ncluster node:\n%s", topoFile, err, out, tail(c.node.out.String(), 40))
	}
	summary := string(out)
	if i := strings.LastIndexByte(strings.TrimRight(summary, "\n"), '\n'); i >= 0 {
		summary = summary[i+1:]
	}
	if !regexp.MustCompile(`: [1-9][0-9]* created, 0 updated, 0 deleted, 0 unchanged`).MatchString(summary) {
		t.Fatalf("hivectl apply -f on an empty NSDB: want only creations, got:\n%s", out)
	}
	t.Logf("topology applied with hivectl: %s (%v)", strings.TrimSpace(summary), e.since())
	// The objects the tests refer to are stored under the IDs they use.
	for _, p := range e.topo.Ports {
		if _, err := e.admin.Store().Get(ctx, topology.KindPort, p.ID); err != nil {
			t.Fatalf("port %s (%s) after hivectl apply: %v", p.Name, p.ID, err)
		}
	}
	for _, r := range e.topo.Routers {
		if _, err := e.admin.Store().Get(ctx, topology.KindRouter, r.ID); err != nil {
			t.Fatalf("router %s after hivectl apply: %v", r.Name, err)
		}
	}
}

// waitHealthy polls the node's /healthz until it answers 200 or ctx ends.
func waitHealthy(ctx context.Context, base string) error {
	c := &http.Client{Timeout: 5 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/healthz: %s", resp.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not healthy: %w (last: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
