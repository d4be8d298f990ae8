package harness_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/harness"
)

// recorder is a harness.T that records failures instead of stopping.
type recorder struct{ failures []string }

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// expectFails checks that check fails once, with a message holding every
// one of want.
func expectFails(t *testing.T, what string, check func(harness.T), want ...string) {
	t.Helper()
	var rec recorder
	check(&rec)
	if len(rec.failures) != 1 {
		t.Errorf("%s: %d failures, want 1", what, len(rec.failures))
		return
	}
	for _, w := range want {
		if !strings.Contains(rec.failures[0], w) {
			t.Errorf("%s: the failure does not say %q:\n%s", what, w, rec.failures[0])
		}
	}
}

func TestExpectFailures(t *testing.T) {
	h := loadCloud(t, harness.Config{})
	ok := send(t, h, "vm1", harness.Ping("vm2"))
	dropped := send(t, h, "vm3", harness.TCP("vm2:80"))
	// Passing expectations record nothing.
	var rec recorder
	if d := ok.ExpectDelivered(&rec, "vm2"); d == nil || d.Port != "vm2" {
		t.Errorf("ExpectDelivered returned %v", d)
	}
	dropped.ExpectDropped(&rec, simulation.ReasonFilter)
	ok.ExpectVerdict(&rec, simulation.Forward)
	if len(rec.failures) != 0 {
		t.Errorf("passing expectations failed: %q", rec.failures)
	}
	// Failing ones say what was wanted, what happened, and show the trace.
	expectFails(t, "wrong port", func(t harness.T) { ok.ExpectDelivered(t, "vm3") },
		"want forward to vm3", "got forward to vm2", "ingress port vm1")
	expectFails(t, "extra port", func(t harness.T) { ok.ExpectDelivered(t, "vm2", "vm3") }, "want forward to vm2, vm3")
	expectFails(t, "no port", func(t harness.T) { ok.ExpectDelivered(t) }, "at least one port")
	expectFails(t, "dropped", func(t harness.T) { dropped.ExpectDelivered(t, "vm2") },
		"got drop (filter-drop)", "chain tenant-a-sg")
	expectFails(t, "wrong reason", func(t harness.T) { dropped.ExpectDropped(t, simulation.ReasonNoRoute) }, "want a drop (no-route)")
	expectFails(t, "not dropped", func(t harness.T) { ok.ExpectDropped(t, simulation.ReasonFilter) }, "want a drop (filter-drop)")
	expectFails(t, "verdict", func(t harness.T) { ok.ExpectVerdict(t, simulation.Consumed) }, "want consumed")
	expectFails(t, "no answer", func(t harness.T) { ok.ExpectAnswered(t, "vm1") }, "want an answer")
	expectFails(t, "send error", func(t harness.T) { h.MustSend(t, "nope", harness.Ping("vm2")) }, "unknown name")
	expectFails(t, "reply error", func(t harness.T) { h.MustReply(t, dropped) }, "nothing to reply to")
}
