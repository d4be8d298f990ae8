package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childPIDs returns the PIDs of pid's child processes (the JVMs).
func childPIDs(t *testing.T, pid int) []int {
	t.Helper()
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var out []int
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// A 3-member ensemble goes on when one member is killed: the command logs
// the exit, keeps the other two, and stops cleanly on SIGTERM.
func TestEnsembleSurvivesMemberKillZooKeeper(t *testing.T) {
	if _, err := os.Stat("/usr/share/java/zookeeper.jar"); err != nil && os.Getenv("HIVENET_REQUIRE_ZK") == "" {
		t.Skip("ZooKeeper is not installed")
	}
	bin := filepath.Join(t.TempDir(), "zkserver")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-n", "3")
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	connect, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no connect string: %v", err)
	}
	t.Logf("ensemble: %s", strings.TrimSpace(connect))
	jvms := childPIDs(t, cmd.Process.Pid)
	if len(jvms) != 3 {
		t.Fatalf("%d server processes, want 3", len(jvms))
	}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if err := syscall.Kill(jvms[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The command notices within its one-second check and says so.
	for seen := false; !seen; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the command's stderr closed before it reported the member's exit")
			}
			seen = strings.Contains(l, "exited (2 of 3 left)")
		case err := <-done:
			t.Fatalf("the command stopped when one member died: %v", err)
		case <-ctx.Done():
			t.Fatal("the member's exit was never reported")
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("exit after SIGTERM with two members left: %v", err)
	}
}
