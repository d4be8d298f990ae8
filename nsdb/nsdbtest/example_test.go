package nsdbtest_test

import (
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/nsdb/nsdbtest"
)

type memHarness struct{ srv *memory.Server }

func (h memHarness) NewClient(t *testing.T) nsdb.Client {
	c := h.srv.NewClient()
	t.Cleanup(func() { c.Close() })
	return c
}

func (h memHarness) ExpireSession(t *testing.T, c nsdb.Client) {
	h.srv.ExpireSession(c.(*memory.Client))
}

// A backend runs the suite from a test, giving it a fresh database per
// subtest.
func ExampleRun() {
	conformance := func(t *testing.T) {
		nsdbtest.Run(t, func(t *testing.T) nsdbtest.Harness {
			return memHarness{memory.NewServer(memory.Config{})}
		})
	}
	_ = conformance // in a _test.go file: func TestConformance(t *testing.T) { ... }
}
