package agent

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/simulation"
)

// Every drop reason is exported under its name: none as a placeholder
// ("reason(27)") and none for "not dropped".
func TestDropReasonLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	zero := func() float64 { return 0 }
	if _, err := newMetrics(reg, zero, zero, zero, zero); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "hivenet_agent_drops_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[l.GetValue()] = true
			}
		}
	}
	if want := int(simulation.NumDropReasons) - 1; len(labels) != want {
		t.Errorf("%d drop reasons exported, want %d: %v", len(labels), want, labels)
	}
	for l := range labels {
		if strings.HasPrefix(l, "reason(") || l == simulation.ReasonNone.String() {
			t.Errorf("drop reason label %q", l)
		}
	}
	for r := simulation.ReasonNone + 1; r < simulation.NumDropReasons; r++ {
		if !labels[r.String()] {
			t.Errorf("drop reason %q not exported", r)
		}
	}
}
