package proc

import (
	"io"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Stop ends a process with the signal it asked for, kills one that ignores
// it once the timeout passes, and does nothing to a process already gone.
func TestStop(t *testing.T) {
	start := func(script string) (*exec.Cmd, chan struct{}) {
		cmd := exec.Command("sh", "-c", script)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The script says "ready" once it is set up.
		if _, err := io.ReadFull(out, make([]byte, 6)); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		return cmd, done
	}
	cmd, done := start("echo ready; exec sleep 30")
	begin := time.Now()
	if err := Stop(cmd.Process, done, syscall.SIGTERM, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGTERM || time.Since(begin) > 5*time.Second {
		t.Errorf("a process that honours SIGTERM: %v after %v", cmd.ProcessState, time.Since(begin))
	}
	cmd, done = start(`trap "" TERM; echo ready; while :; do sleep 0.05; done`)
	if err := Stop(cmd.Process, done, syscall.SIGTERM, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("a process that ignores SIGTERM: %v, want killed", cmd.ProcessState)
	}
	if err := Stop(cmd.Process, done, syscall.SIGTERM, time.Second); err != nil {
		t.Errorf("stopping a process already gone: %v", err)
	}
}
