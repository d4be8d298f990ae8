package zookeeper

import (
	"context"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/nsdbtest"
)

func TestZooKeeperSecretsConformance(t *testing.T) {
	connect := zktest.Standalone(t)
	nsdbtest.RunSecrets(t, func(t *testing.T) nsdbtest.Harness { return newHarness(t, connect) })
}

// TestACLSecretsZooKeeper: a secret written by a client with Auth (the
// flow-state keys) is neither readable nor writable by an anonymous
// client; another client with the identity reads it.
func TestACLSecretsZooKeeper(t *testing.T) {
	connect := zktest.Standalone(t)
	h := authHarness{harness: newHarness(t, connect), auth: testAuth}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := h.client(t)
	if _, err := c.Secrets().Set(ctx, "flow-state-keys", []byte("k"), nsdb.AnyVersion); err != nil {
		t.Fatal(err)
	}
	refused(t, anonymous(t, h.servers), h.root, c.paths.secrets+"/flow-state-keys")
	if got, _, err := h.client(t).Secrets().Get(ctx, "flow-state-keys"); err != nil || string(got) != "k" {
		t.Fatalf("another client with the identity: %q, %v", got, err)
	}
}
