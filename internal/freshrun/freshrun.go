package freshrun

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/proc"
)

// envVar names, in a test binary started by Run, the file its command
// reports its peak resident set to.
const envVar = "HIVENET_FRESHRUN_REPORT"

// Main runs the command run, reports its peak resident set and exits with
// its status, when the test binary was started by Run; otherwise it
// returns at once. Call it first in TestMain.
//
// The command measures its own peak (the kernel's VmHWM of its address
// space): the peak the kernel reports to a parent counts the parent's
// memory too, as a child starts in its parent's address space.
func Main(run func() int) {
	report := os.Getenv(envVar)
	if report == "" {
		return
	}
	code := run()
	if err := os.WriteFile(report, []byte(strconv.FormatInt(proc.SelfMemory("VmHWM"), 10)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "freshrun:", err)
		code = 125
	}
	os.Exit(code)
}

// Stats are what one fresh run cost.
type Stats struct {
	Wall time.Duration
	// CPU is the user and system time of the process.
	CPU time.Duration
	// PeakRSS is the process's largest resident set, in bytes; 0 where
	// the kernel does not say.
	PeakRSS int64
}

// Run runs the test binary as its command with args, its output
// discarded, and returns its cost; err is the command's failure, with its
// standard error.
func Run(args ...string) (Stats, error) {
	dir, err := os.MkdirTemp("", "freshrun")
	if err != nil {
		return Stats{}, err
	}
	defer os.RemoveAll(dir)
	report := filepath.Join(dir, "peak")
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envVar+"="+report)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	s := Stats{Wall: time.Since(start)}
	if ps := cmd.ProcessState; ps != nil {
		s.CPU = ps.UserTime() + ps.SystemTime()
	}
	if err != nil {
		return s, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	data, err := os.ReadFile(report)
	if err != nil {
		return s, fmt.Errorf("freshrun: the command did not report (is freshrun.Main in its TestMain?): %w", err)
	}
	if s.PeakRSS, err = strconv.ParseInt(string(data), 10, 64); err != nil {
		return s, fmt.Errorf("freshrun: bad report %q: %w", data, err)
	}
	return s, nil
}

// Bench runs the command with args once per operation of b and reports,
// besides the wall time per operation, the process CPU time per operation
// (cpu-ns/op) and the largest peak resident set of any run (peak-RSS-MB).
func Bench(b *testing.B, args ...string) {
	b.Helper()
	var cpu time.Duration
	var peak int64
	for b.Loop() {
		s, err := Run(args...)
		if err != nil {
			b.Fatal(err)
		}
		cpu += s.CPU
		peak = max(peak, s.PeakRSS)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MB")
}
