package agent_test

import (
	"os"
	"testing"

	"github.com/hivenet/hivenet/datapath/agent/bgp"
)

// TestMain lets this test binary serve as the agents' BGP speaker child
// processes (bgp.StartChild re-executes it).
func TestMain(m *testing.M) {
	bgp.MaybeServeChild()
	os.Exit(m.Run())
}
