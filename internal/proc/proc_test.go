package proc

import (
	"net/netip"
	"os"
	"os/exec"
	"testing"
)

func TestFreePorts(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	a, err := FreePorts(lo, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := FreePorts(lo, 3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint16]bool{}
	for _, p := range append(a, b...) {
		if seen[p] || p < portLow || p >= portHigh {
			t.Errorf("port %d handed out twice or outside [%d, %d)", p, portLow, portHigh)
		}
		seen[p] = true
	}
}

func TestSpawnAndGone(t *testing.T) {
	cmd := exec.Command("true")
	if err := Spawn(cmd); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if !Gone(pid) {
		t.Errorf("pid %d of an exited, reaped child is not gone", pid)
	}
	if Gone(os.Getpid()) {
		t.Error("this process is gone")
	}
}
