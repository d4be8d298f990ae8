package vmtest

import (
	"context"
	"errors"
	"os/exec"
	"testing"
)

func TestRequireSkipsOutsideVM(t *testing.T) {
	t.Setenv(EnvVar, "")
	var skipped bool
	t.Run("inner", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Require(t)
	})
	if !skipped {
		t.Fatal("Require did not skip with VMTEST unset")
	}
}

func TestRequireRunsInVM(t *testing.T) {
	t.Setenv(EnvVar, "1")
	var skipped bool
	t.Run("inner", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Require(t)
	})
	if skipped {
		t.Fatal("Require skipped with VMTEST=1")
	}
}

func TestParsePing(t *testing.T) {
	for _, tc := range []struct {
		name       string
		out        string
		sent, recv int
		ok         bool
	}{
		{"busybox all", "PING 10.0.0.2 (10.0.0.2): 56 data bytes\n64 bytes from 10.0.0.2: seq=0 ttl=64 time=1.1 ms\n\n--- 10.0.0.2 ping statistics ---\n3 packets transmitted, 3 packets received, 0% packet loss\nround-trip min/avg/max = 0.4/0.7/1.1 ms\n", 3, 3, true},
		{"busybox loss", "--- 10.0.0.2 ping statistics ---\n1 packets transmitted, 0 packets received, 100% packet loss\n", 1, 0, true},
		{"iputils", "--- 10.0.0.2 ping statistics ---\n4 packets transmitted, 2 received, 50% packet loss, time 3004ms\n", 4, 2, true},
		{"no stats", "ping: sendto: Network unreachable\n", 0, 0, false},
		{"empty", "", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent, recv, ok := parsePing([]byte(tc.out))
			if sent != tc.sent || recv != tc.recv || ok != tc.ok {
				t.Fatalf("parsePing = %d, %d, %v; want %d, %d, %v", sent, recv, ok, tc.sent, tc.recv, tc.ok)
			}
		})
	}
}

func TestExecError(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh on this host")
	}
	out, err := Exec(context.Background(), "sh", "-c", "echo oops >&2; exit 3")
	var ce *CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("Exec error %v (%T), want *CommandError", err, err)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Exec error %v does not unwrap to an exit status 3", err)
	}
	if string(out) != "oops\n" || string(ce.Output) != "oops\n" {
		t.Fatalf("output %q / %q, want %q", out, ce.Output, "oops\n")
	}
	if _, err := Exec(context.Background()); err == nil {
		t.Fatal("Exec with no command succeeded")
	}
	out, err = Exec(context.Background(), "sh", "-c", "echo ok")
	if err != nil || string(out) != "ok\n" {
		t.Fatalf("Exec = %q, %v", out, err)
	}
}

func TestNilNetNSCommand(t *testing.T) {
	var ns *NetNS
	if got := ns.Command("ip", "link"); len(got) != 2 || got[0] != "ip" {
		t.Fatalf("nil NetNS Command = %q", got)
	}
	if ns.Name() != "" {
		t.Fatalf("nil NetNS Name = %q", ns.Name())
	}
	ns = &NetNS{name: "a"}
	want := []string{"ip", "netns", "exec", "a", "ping", "x"}
	got := ns.Command("ping", "x")
	if len(got) != len(want) {
		t.Fatalf("Command = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Command = %q, want %q", got, want)
		}
	}
}
