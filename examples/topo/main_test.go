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
	if code := run([]string{"-f", "../topologies/two-tenant-cloud.yaml"}, nil, &out, &errs); code != 0 {
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
	if code := run([]string{"-f", bad}, nil, &out, &errs); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(errs.String(), "bad.yaml:4:5: bridges[0].colour: unknown key \"colour\"") {
		t.Errorf("stderr = %q", errs.String())
	}
	if out.Len() != 0 {
		t.Errorf("printed a summary of an invalid file: %q", out.String())
	}
	if code := run([]string{"a", "b"}, nil, &out, &errs); code != 2 {
		t.Errorf("positional arguments: exit %d, want 2", code)
	}
}

func TestRunFlags(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-h"}, nil, &out, &errs); code != 0 || !strings.Contains(errs.String(), "-max-size") {
		t.Errorf("-h: exit %d\n%s", code, errs.String())
	}
	out.Reset()
	t.Chdir(t.TempDir())
	if code := run(nil, nil, &out, &errs); code != 0 || !strings.Contains(out.String(), "tenant-a-net") {
		t.Errorf("default embedded example from another directory: exit %d\n%s", code, errs.String())
	}
	out.Reset()
	if code := run([]string{"-f", "-"}, strings.NewReader("bridges: [{name: from-stdin}]\n"), &out, &errs); code != 0 || !strings.Contains(out.String(), "from-stdin") {
		t.Errorf("stdin: exit %d\n%s", code, errs.String())
	}
	errs.Reset()
	if code := run([]string{"-f", "/dev/zero", "-max-size", "1000"}, nil, &out, &errs); code != 1 || !strings.Contains(errs.String(), "too large") {
		t.Errorf("/dev/zero: exit %d\n%s", code, errs.String())
	}
}

func TestRunWarns(t *testing.T) {
	f := filepath.Join(t.TempDir(), "w.yaml")
	os.WriteFile(f, []byte(`hosts: [{name: a}, {name: b}]
bridges:
  - name: net
    ports:
      - {name: p1, host: a, interface: t1}
      - {name: p2, host: b, interface: t2}
`), 0o644)
	var out, errs bytes.Buffer
	if code := run([]string{"-f", f}, nil, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s", code, errs.String())
	}
	if n := strings.Count(errs.String(), "warning: port"); n != 2 || !strings.Contains(errs.String(), "in no tunnel zone") {
		t.Errorf("warnings:\n%s", errs.String())
	}
}
