package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/internal/zktest"
)

func TestRun(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"-f", "../topologies/two-tenant-cloud.yaml"}, &out, &errb)
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
	code := run(context.Background(), []string{"-nsdb", "zk", "-zk", zk, "-flows=false"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "nsdb: ZooKeeper") || !strings.Contains(out.String(), "6 scenarios with connection tracking and NAT: 0 failed") {
		t.Errorf("output:\n%s", out.String())
	}
	// The run removed its root (and the parent it created, now empty).
	conn, _, err := gozk.Connect([]string{zk}, 5*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if kids, _, err := conn.Children("/hivenet-sandbox"); err == nil && len(kids) > 0 {
		t.Errorf("the run left /hivenet-sandbox/%v behind", kids)
	} else if err != nil && !errors.Is(err, gozk.ErrNoNode) {
		t.Fatal(err)
	}
}

func TestRunBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"extra"},
		{"-timeout", "0s"},
		{"-nsdb", "zk"},
		{"-nsdb", "etcd"},
		{"-zk", "127.0.0.1:99999"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &out, &errb); code != 0 {
		t.Errorf("-h: exit %d, want 0", code)
	}
	// A topology without the scenarios' VM ports is refused before any
	// agent starts.
	if code := run(context.Background(), []string{"-f", "two-vms-one-bridge"}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "lacks") {
		t.Errorf("foreign topology: exit %d\n%s", code, errb.String())
	}
}
