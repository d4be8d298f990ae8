package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunSummarizes(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"../topologies/two-tenant-cloud.yaml"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	for _, want := range []string{"3 hosts", "tenant-a-net", "0.0.0.0/0", "implicit", "snat to 203.0.113.10:1024-65535 (dynamic)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

func TestRunReportsErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("bridges:\n  - name: b\n    vni: 5\n    colour: red\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	if code := run([]string{bad}, &out, &errs); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(errs.String(), "bad.yaml:4:5: bridges[0].colour: unknown key \"colour\"") {
		t.Errorf("stderr = %q", errs.String())
	}
	if out.Len() != 0 {
		t.Errorf("printed a summary of an invalid file: %q", out.String())
	}
	if code := run([]string{"a", "b"}, &out, &errs); code != 2 {
		t.Errorf("two arguments: exit %d, want 2", code)
	}
}
