package scale

import (
	"os"
	"testing"
)

// TestMain lets the test binary act as the harness's child process.
func TestMain(m *testing.M) {
	if RunChild() {
		os.Exit(0)
	}
	os.Exit(m.Run())
}
