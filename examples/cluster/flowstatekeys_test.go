package main

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
)

// TestRotateFlowStateKeysZooKeeper: -rotate-flow-state-keys creates the
// keys on a database without them, rotates them (the new key pending for
// -flow-state-key-delay, the previous one signing meanwhile), refuses a
// second rotation while one is pending, and exits without running a node.
func TestRotateFlowStateKeysZooKeeper(t *testing.T) {
	servers, root := zktest.Standalone(t), zktest.UniquePath(t)
	rotate := func(delay string) (int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var logs bytes.Buffer
		code := run(ctx, []string{"-nsdb", "zk", "-zk", servers, "-zk-root", root, "-rotate-flow-state-keys",
			"-flow-state-key-delay", delay}, &logs, func(*cluster.Node, nsdb.Client, string) { t.Error("a node started") })
		return code, logs.String()
	}
	if code, logs := rotate("0s"); code != 0 {
		t.Fatalf("creating the keys: exit %d\n%s", code, logs)
	}
	if code, logs := rotate("1h"); code != 0 {
		t.Fatalf("rotating: exit %d\n%s", code, logs)
	}
	if code, logs := rotate("1h"); code != 1 || !bytes.Contains([]byte(logs), []byte("pending")) {
		t.Fatalf("a rotation while one is pending: exit %d, want 1 saying so\n%s", code, logs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := zookeeper.New(ctx, zookeeper.Config{Servers: []string{servers}, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ks, _, err := auth.Load(ctx, c.Secrets())
	if err != nil {
		t.Fatal(err)
	}
	signing, _ := ks.Signing(time.Now())
	if len(ks.Keys) != 2 || ks.Keys[0].ID != 2 || signing.ID != 1 {
		t.Fatalf("keys %+v (signing %d), want key 2 pending and key 1 signing", ks.Info(), signing.ID)
	}
	if _, err := auth.Rotate(ctx, c.Secrets(), time.Now(), time.Second, nil); !errors.Is(err, auth.ErrRotationPending) {
		t.Fatalf("the stored keys are not pending: %v", err)
	}
}
