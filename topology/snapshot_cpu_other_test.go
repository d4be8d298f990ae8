//go:build !unix

package topology

import "testing"

// reportCPU does nothing where getrusage is unavailable.
func reportCPU(*testing.B) func() { return func() {} }
