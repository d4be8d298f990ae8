package memory_test

import (
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/nsdb/nsdbtest"
)

type harness struct{ srv *memory.Server }

func (h harness) NewClient(t *testing.T) nsdb.Client {
	c := h.srv.NewClient()
	t.Cleanup(func() { c.Close() })
	return c
}

func (h harness) ExpireSession(t *testing.T, c nsdb.Client) {
	h.srv.ExpireSession(c.(*memory.Client))
}

func TestConformance(t *testing.T) {
	nsdbtest.Run(t, func(t *testing.T) nsdbtest.Harness {
		return harness{memory.NewServer(memory.Config{})}
	})
}

func TestBlocksConformance(t *testing.T) {
	nsdbtest.RunBlocks(t, func(t *testing.T) nsdbtest.Harness {
		return harness{memory.NewServer(memory.Config{})}
	})
}

func TestSecretsConformance(t *testing.T) {
	nsdbtest.RunSecrets(t, func(t *testing.T) nsdbtest.Harness {
		return harness{memory.NewServer(memory.Config{})}
	})
}
