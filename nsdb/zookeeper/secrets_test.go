package zookeeper

import (
	"testing"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb/nsdbtest"
)

func TestZooKeeperSecretsConformance(t *testing.T) {
	connect := zktest.Standalone(t)
	nsdbtest.RunSecrets(t, func(t *testing.T) nsdbtest.Harness { return newHarness(t, connect) })
}
