package freshrun

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// ballast is large while the test binary's tests run: a fresh run of its
// command must not count it.
var ballast []byte

// runForTest is the "command" of this package's test binary: it touches
// 64 MiB, or fails when its first argument is "fail".
func runForTest() int {
	if len(os.Args) > 1 && os.Args[1] == "fail" {
		os.Stderr.WriteString("failing as asked\n")
		return 3
	}
	b := make([]byte, 64<<20)
	for i := range b {
		if i%4096 == 0 {
			b[i] = 1
		}
	}
	return 0
}

func TestMain(m *testing.M) {
	Main(runForTest)
	os.Exit(m.Run())
}

func TestRunMeasuresAFreshProcess(t *testing.T) {
	ballast = make([]byte, 512<<20)
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1
	}
	defer func() { ballast = nil }()
	s, err := Run("ok")
	if err != nil {
		t.Fatal(err)
	}
	if s.PeakRSS < 64<<20 || s.PeakRSS > 256<<20 {
		t.Errorf("peak RSS %d MiB, want the 64 MiB the command touched and not the test's 512", s.PeakRSS>>20)
	}
	if s.Wall <= 0 || s.CPU <= 0 {
		t.Errorf("wall %v, CPU %v", s.Wall, s.CPU)
	}
}

func TestRunReportsFailure(t *testing.T) {
	_, err := Run("fail")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("err = %v, want exit status 3", err)
	}
	if !strings.Contains(err.Error(), "failing as asked") {
		t.Errorf("error %q lacks the command's stderr", err)
	}
}

// A command run as a user runs it: what it cost.
func ExampleRun() {
	s, err := Run("ok")
	fmt.Println(err, s.PeakRSS >= 64<<20)
	// Output: <nil> true
}
