package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/internal/zktest"
)

func TestRun(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"-topology", "../topologies/two-tenant-cloud.yaml"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"== l2-across-hosts", "== flows on host-a", " 0 failed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestRunZooKeeper(t *testing.T) {
	zk := zktest.Standalone(t)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"-topology", "../topologies/two-tenant-cloud.yaml", "-zk", zk, "-flows=false"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "nsdb: ZooKeeper") || !strings.Contains(out.String(), "6 scenarios: 0 failed, 0 skipped") {
		t.Errorf("output:\n%s", out.String())
	}
	t.Log(out.String())
}

func TestRunBadUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"extra"}, &out, &errb); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}
