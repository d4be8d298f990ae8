package scale

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/hivenet/hivenet/internal/proc"
)

// EnvChild names the environment variable that turns a process running the
// harness into one of its measured children: it holds the job (JSON).
const EnvChild = "HIVENET_SCALE_CHILD"

// job is what a child process measures. Children give the footprint and
// role measurements a process of their own, so that the RSS and CPU time
// reported are one agent's, not the harness's.
type job struct {
	Kind    string        `json:"kind"` // "footprint", "stateful" or "roles"
	Servers string        `json:"servers"`
	Root    string        `json:"root"`
	Host    string        `json:"host"`
	Ports   int           `json:"ports"`
	Idle    time.Duration `json:"idle"`
	Conns   []int         `json:"conns,omitempty"`
	Rate    int           `json:"rate,omitempty"`
	Length  time.Duration `json:"length,omitempty"`
}

// RunChild runs the child job named by EnvChild, if any, writes its result
// as JSON to standard output and returns true; it returns false at once in
// a process that is not a child. Commands and test binaries embedding the
// harness call it first thing (a test binary from TestMain).
func RunChild() bool {
	spec := os.Getenv(EnvChild)
	if spec == "" {
		return false
	}
	var j job
	if err := json.Unmarshal([]byte(spec), &j); err != nil {
		fmt.Fprintln(os.Stderr, "scale child:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var res any
	var err error
	switch j.Kind {
	case "footprint":
		res, err = footprintChild(ctx, j)
	case "stateful":
		res, err = statefulChild(ctx, j)
	case "roles":
		res, err = rolesChild(ctx, j)
	default:
		err = fmt.Errorf("unknown job %q", j.Kind)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale child:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		os.Exit(1)
	}
	return true
}

// runChild runs j in a new process of this executable and decodes its
// result into out.
func runChild(ctx context.Context, j job, out any) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	spec, err := json.Marshal(j)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), EnvChild+"="+string(spec))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s child: %w: %s", j.Kind, err, lastLines(stderr.String(), 10))
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		return fmt.Errorf("%s child: %w: %q", j.Kind, err, lastLines(stdout.String(), 5))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// memory is a process's memory after a full collection.
type memory struct {
	RSS  int64 `json:"rss"`  // resident set, bytes (VmRSS)
	Heap int64 `json:"heap"` // live heap and goroutine stacks, bytes
}

// measureMemory collects garbage, returns freed memory to the OS and
// reads the heap and the resident set.
func measureMemory() memory {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memory{RSS: proc.SelfMemory("VmRSS"), Heap: int64(ms.HeapAlloc + ms.StackInuse)}
}

// cpuTime returns the CPU time (user + system) this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAvg returns the 1-minute load average ("" where /proc is missing).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
