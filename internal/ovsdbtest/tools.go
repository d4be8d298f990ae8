package ovsdbtest

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hivenet/hivenet/internal/proc"
)

// VtepCtl runs vtep-ctl against the server's admin socket and returns its
// standard output; the error carries its standard error.
func (s *Server) VtepCtl(ctx context.Context, args ...string) (string, error) {
	return s.Tool(ctx, s.rt.VtepCtl, append([]string{"--db=" + s.AdminEndpoint(), "--timeout=20"}, args...)...)
}

// OVSDBClient runs ovsdb-client with the given command, then the admin
// endpoint, then the remaining arguments: OVSDBClient(ctx, "dump",
// "hardware_vtep", "Logical_Switch") runs "ovsdb-client dump unix:ADMIN
// hardware_vtep Logical_Switch".
func (s *Server) OVSDBClient(ctx context.Context, command string, args ...string) (string, error) {
	return s.Tool(ctx, s.rt.Client, append([]string{command, s.AdminEndpoint()}, args...)...)
}

// Tool runs program with args in the server's directory and returns its
// standard output.
func (s *Server) Tool(ctx context.Context, program string, args ...string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ToolTimeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+s.dir, "OVS_LOGDIR="+s.dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("ovsdbtest: %s %s: %w: %s", filepath.Base(program), strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}

// LogTail returns the last n lines of the server's log.
func (s *Server) LogTail(n int) string {
	return proc.LogTail(s.logPath, n)
}

// FreePort returns a TCP port of 127.0.0.1 that is free now and that this
// process has not handed out before; tests give it to listeners they add
// (a Manager row's "ptcp:PORT:127.0.0.1", for instance).
func FreePort() (uint16, error) {
	ps, err := proc.FreePorts(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 1)
	if err != nil {
		return 0, err
	}
	return ps[0], nil
}

// Spawn starts cmd so that the kernel kills it when this process (the test
// binary) exits, however it exits: for harnesses that run other Open
// vSwitch daemons beside the servers of this package. The daemons must not
// detach (fork again), or the signal does not reach them.
func Spawn(cmd *exec.Cmd) error { return proc.Spawn(cmd) }
