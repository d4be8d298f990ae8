package scale

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
)

// The harness runs end to end in a reduced quick mode against the test
// binary's ZooKeeper server, and its report holds every section with
// measured values: agents became ready, connections were delivered,
// changes reached every agent.
func TestRunQuick(t *testing.T) {
	servers := zktest.Standalone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := Defaults(true)
	cfg.Dir, cfg.Servers = t.TempDir(), servers
	cfg.Sizes, cfg.Idle, cfg.Conns = []int{2000}, 200*time.Millisecond, 300
	cfg.Hosts, cfg.Changes, cfg.Rates, cfg.RateLength = []int{3}, 3, []int{20}, 300*time.Millisecond
	cfg.RoleRate, cfg.RoleLength = 200, 300*time.Millisecond
	r, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Footprints) != 1 || r.Footprints[0].Ready <= 0 || r.Footprints[0].Memory.RSS <= 0 || r.Footprints[0].NSDBBytes <= 0 {
		t.Errorf("footprint: %+v", r.Footprints)
	} else if f := r.Footprints[0]; f.Tables <= 0 || f.Tables >= 2*f.Bridges+f.Routers {
		// 2,000 ports on 20 hosts: h0 binds ports on half the bridges.
		t.Errorf("the agent follows %d state tables of the deployment's %d: want those its ports reach only", f.Tables, 2*f.Bridges+f.Routers)
	}
	if len(r.Stateful) != 4 || r.Stateful[1].Delivered != 300 {
		t.Errorf("stateful: %+v", r.Stateful)
	}
	if len(r.Roles) != 3 || r.Roles[0].Delivered == 0 {
		t.Errorf("roles: %+v", r.Roles)
	}
	if len(r.Propagation) != 1 || r.Propagation[0].All.N != 3 || r.Propagation[0].All.P50 <= 0 {
		t.Errorf("propagation: %+v", r.Propagation)
	}
	if len(r.Rates) != 1 || len(r.Rates[0].Points) == 0 {
		t.Errorf("rates: %+v", r.Rates)
	}
	md, err := os.ReadFile(filepath.Join(cfg.Dir, "scale.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"quick run", "## 1.", "## 3.", "## 6.", "scale-propagation.svg"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("scale.md lacks %q", want)
		}
	}
	back, err := Read(filepath.Join(cfg.Dir, "scale.json"))
	if err != nil || len(back.Propagation) != 1 || back.Propagation[0].All != r.Propagation[0].All {
		t.Errorf("scale.json read back: %v, %+v", err, back)
	}
	for _, svg := range []string{"scale-footprint-memory.svg", "scale-rate.svg", "scale-roles.svg"} {
		if b, err := os.ReadFile(filepath.Join(cfg.Dir, svg)); err != nil || !strings.Contains(string(b), "<svg") {
			t.Errorf("%s: %v", svg, err)
		}
	}
}
