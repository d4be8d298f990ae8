package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology"
)

// TestRunInsecure: without -token-file the API starts only with
// -insecure, which the node says loudly; every request is then an admin
// whose writes are logged by that name.
func TestRunInsecure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var logs bytes.Buffer
	code := run(ctx, []string{"-nsdb", "memory", "-node", "demo", "-listen", "127.0.0.1:0", "-insecure"}, &logs,
		func(n *cluster.Node, c nsdb.Client, addr string) {
			defer cancel()
			if _, err := waitStatus(ctx, c, func(st cluster.Status) bool { return allRunning(st) && len(st.Nodes) == 1 }); err != nil {
				t.Errorf("status: %v", err)
				return
			}
			a := apiClient{t: t, base: "http://" + addr, http: &http.Client{Timeout: 10 * time.Second}}
			a.must("POST", "/v1/bridges", "", `{"name": "net1"}`, nil, 201)
		})
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, logs.String())
	}
	out := logs.String()
	for _, want := range []string{"level=WARN msg=\"!!! -insecure", "WITHOUT AUTHENTICATION", "token=" + api.InsecureName + " method=POST path=/v1/bridges status=201"} {
		if !strings.Contains(out, want) {
			t.Errorf("the logs lack %q:\n%s", want, out)
		}
	}
}

// TestClusterACLZooKeeper: a node given -zk-auth-file secures a database
// that clients without an identity wrote (the bootstrap step): an
// anonymous ZooKeeper client can then neither read nor write under the
// root, while the node runs on it.
func TestClusterACLZooKeeper(t *testing.T) {
	servers := zktest.Standalone(t)
	root := zktest.UniquePath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	open, err := zookeeper.New(ctx, zookeeper.Config{Servers: []string{servers}, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	br := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "net1"), Name: "net1"}
	if _, err := open.Store().Commit(ctx, nsdb.Create(br)); err != nil {
		t.Fatal(err)
	}
	open.Close()
	object := root + "/models/bridge/" + br.ID.String()
	anon, _, err := zk.Connect([]string{servers}, 10*time.Second, zk.WithLogger(discard{}))
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if _, _, err := anon.Get(object); err != nil {
		t.Fatalf("before the node, anonymous get %s: %v", object, err)
	}

	authFile := filepath.Join(t.TempDir(), "zk-auth")
	if err := os.WriteFile(authFile, []byte("# the cluster's identity\nhivenet-cluster:"+strings.Repeat("x", 24)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	code := run(ctx, []string{"-nsdb", "zk", "-zk", servers, "-zk-root", root, "-zk-auth-file", authFile,
		"-node", "secure", "-services", "heartbeat,recycler"}, &logs,
		func(n *cluster.Node, c nsdb.Client, _ string) {
			defer cancel()
			if _, err := waitStatus(ctx, c, func(st cluster.Status) bool { return allRunning(st) && len(st.Nodes) == 1 }); err != nil {
				t.Errorf("status: %v", err)
				return
			}
			for _, p := range []string{root, object} {
				if _, _, err := anon.Get(p); !errors.Is(err, zk.ErrNoAuth) {
					t.Errorf("anonymous get %s: %v, want NoAuth", p, err)
				}
				if _, err := anon.Create(p+"/x", nil, 0, zk.WorldACL(zk.PermAll)); !errors.Is(err, zk.ErrNoAuth) {
					t.Errorf("anonymous create under %s: %v, want NoAuth", p, err)
				}
			}
			if _, err := anon.Set(object, []byte("{}"), -1); !errors.Is(err, zk.ErrNoAuth) {
				t.Errorf("anonymous set %s: %v, want NoAuth", object, err)
			}
		})
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, logs.String())
	}
	if !strings.Contains(logs.String(), "ZooKeeper access control in place") {
		t.Errorf("the node does not say it secured the root:\n%s", logs.String())
	}
}

type discard struct{}

func (discard) Printf(string, ...any) {}
