package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/topology"
)

// TestRunACLZooKeeper: an agent given -zk-auth-file writes the topology
// and its ports' state with the identity's ACL: an anonymous ZooKeeper
// client can neither read nor write them.
func TestRunACLZooKeeper(t *testing.T) {
	servers := zktest.Standalone(t)
	root := zktest.UniquePath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.LocalAddr().(*net.UDPAddr).Port)
	l.Close()
	var logs bytes.Buffer
	var bound bool
	code := run(ctx, []string{"-host", "host-a", "-datapath", "inproc", "-underlay", "127.0.0.1", "-vxlan-port", port,
		"-nsdb", "zk", "-zk", servers, "-zk-root", root, "-zk-auth-file", secretFile(t, "agent:"+root+"-password\n", 0o600),
		"-f", "../topologies/two-tenant-cloud.yaml", "-listen", ""}, &logs,
		func(a *agent.Agent, _ string) {
			defer cancel()
			_, bound = a.LocalPort(topology.NameID(topology.KindPort, "vm1"))
			anon, _, err := zk.Connect([]string{servers}, 10*time.Second, zk.WithLogger(quiet{}))
			if err != nil {
				t.Error(err)
				return
			}
			defer anon.Close()
			for _, p := range []string{root, root + "/models", root + "/state"} {
				if _, _, err := anon.Children(p); !errors.Is(err, zk.ErrNoAuth) {
					t.Errorf("anonymous children %s: %v, want NoAuth", p, err)
				}
				if _, err := anon.Create(p+"/x", nil, 0, zk.WorldACL(zk.PermAll)); !errors.Is(err, zk.ErrNoAuth) {
					t.Errorf("anonymous create under %s: %v, want NoAuth", p, err)
				}
			}
		})
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, logs.String())
	}
	if !bound {
		t.Errorf("vm1 not bound: the agent did not work with its identity\n%s", logs.String())
	}
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}
