package storetest_test

import (
	"testing"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/localstore"
	"github.com/hivenet/hivenet/flowstate/storetest"
)

// A backend runs the suite from a test, giving it an empty store per
// subtest.
func ExampleRun() {
	conformance := func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) flowstate.Store {
			s, err := localstore.Open(localstore.Config{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	}
	_ = conformance // in a _test.go file: func TestConformance(t *testing.T) { ... }
}
