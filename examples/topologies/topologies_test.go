package topologies_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/examples/topologies"
)

// Every example loads and validates, by name, from any directory.
func TestExamplesLoad(t *testing.T) {
	names := topologies.Names()
	if len(names) < 4 {
		t.Fatalf("embedded examples: %v", names)
	}
	t.Chdir(t.TempDir())
	for _, n := range names {
		topo, err := topologies.Load(n, nil, 0)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if err := topo.Validate(); err != nil {
			t.Errorf("%s: %v", n, err)
		}
		if ws := topo.Warnings(); len(ws) != 0 {
			t.Errorf("%s warns: %v", n, ws)
		}
	}
	if _, err := topologies.Load("two-tenant-cloud", nil, 0); err != nil {
		t.Errorf("by name without .yaml: %v", err)
	}
	if _, err := topologies.Load("nosuch", nil, 0); err == nil || !strings.Contains(err.Error(), "two-tenant-cloud.yaml") {
		t.Errorf("unknown name: %v", err)
	}
}

func TestLoadLimits(t *testing.T) {
	if _, err := topologies.Load("-", strings.NewReader("hosts: [{name: h}]\n"), 0); err != nil {
		t.Errorf("stdin: %v", err)
	}
	big := strings.NewReader("hosts: [{name: h}]\n" + strings.Repeat("# padding\n", 100))
	if _, err := topologies.Load("-", big, 100); !errors.Is(err, topologies.ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	// /dev/zero is endless: the limit stops the read.
	if _, err := topologies.Load("/dev/zero", nil, 1<<20); !errors.Is(err, topologies.ErrTooLarge) {
		t.Errorf("/dev/zero: %v", err)
	}
	p := filepath.Join(t.TempDir(), "f.yaml")
	os.WriteFile(p, []byte("bridges: [{name: b}]\n"), 0o644)
	if topo, err := topologies.Load(p, nil, 0); err != nil || len(topo.Bridges) != 1 {
		t.Errorf("file: %v", err)
	}
}
