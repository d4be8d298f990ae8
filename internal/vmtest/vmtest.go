// Package vmtest supports tests that need a real Linux kernel with the
// openvswitch datapath: they run inside a throw-away qemu VM booted from
// Debian's kernel by the scripts in this directory.
//
// build.sh builds (and caches) the kernel and an initramfs holding busybox,
// iproute2's ip, ovs-dpctl, bash and iputils' ping (as iputils-ping: ping
// itself is busybox's, which has no -M); vm-exec.sh is a go test -exec wrapper
// that boots one VM per test binary, runs the binary as root in its package
// directory (shared over virtio-9p at the same path) and returns its output
// and exit status:
//
//	CGO_ENABLED=0 go test -exec "$PWD/internal/vmtest/vm-exec.sh" -run '^TestKernel' ./datapath/...
//
// Inside the VM the environment variable VMTEST is "1", the modules
// openvswitch, vport-vxlan/geneve/gre, veth, dummy, tun, nf_conntrack and
// nf_nat are loaded, and with VM_NET=user on the host the guest reaches the
// host's 127.0.0.1 at 10.0.2.2.
//
// Kernel tests are named TestKernel*, live in //go:build linux files and
// call [Require] first, so a plain go test on the host skips them. The
// helpers below build small test networks (network namespaces joined by
// veth pairs) with the ip binary, without further dependencies.
package vmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// EnvVar is the environment variable that vm-exec.sh sets to "1" in the VM.
const EnvVar = "VMTEST"

// SkipReason is the message of the skip issued by [Require] outside the VM.
const SkipReason = "kernel test: runs inside the VM harness (make test-kernel)"

// commandTimeout bounds every command run by the t-taking helpers.
const commandTimeout = 2 * time.Minute

// InVM reports whether the process runs inside the VM harness.
func InVM() bool { return os.Getenv(EnvVar) == "1" }

// Require skips the test unless it runs inside the VM harness.
func Require(t testing.TB) {
	t.Helper()
	if !InVM() {
		t.Skip(SkipReason)
	}
}

// ErrPing is returned (wrapped) by [Ping] when replies are missing.
var ErrPing = errors.New("vmtest: ping lost packets")

// CommandError describes a command that failed. It unwraps to the error of
// os/exec (an *exec.ExitError when the command ran and exited non-zero).
type CommandError struct {
	Args   []string // the command line
	Output []byte   // combined stdout and stderr
	Err    error
}

// Error returns the command line, the failure and the command's output.
func (e *CommandError) Error() string {
	return fmt.Sprintf("vmtest: %s: %v: %s", strings.Join(e.Args, " "), e.Err,
		bytes.TrimSpace(e.Output))
}

// Unwrap returns the error of os/exec.
func (e *CommandError) Unwrap() error { return e.Err }

// Exec runs args[0] with the remaining arguments and returns its combined
// output. A failure is reported as a *CommandError.
func Exec(ctx context.Context, args ...string) ([]byte, error) {
	if len(args) == 0 {
		return nil, errors.New("vmtest: Exec: no command")
	}
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return out, &CommandError{Args: args, Output: out, Err: err}
	}
	return out, nil
}

// Run runs a command like [Exec] and fails the test if it fails. It returns
// the combined output.
func Run(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	out, err := Exec(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// NetNS is a named network namespace (ip netns) created for one test.
type NetNS struct {
	name string
}

// NewNetNS creates the network namespace name with its loopback up, and
// deletes it (with every interface still inside) when the test ends.
func NewNetNS(t testing.TB, name string) *NetNS {
	t.Helper()
	Run(t, "ip", "netns", "add", name)
	ns := &NetNS{name: name}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		defer cancel()
		if _, err := Exec(ctx, "ip", "netns", "delete", name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	ns.Run(t, "ip", "link", "set", "lo", "up")
	return ns
}

// Name returns the namespace's name; nil is the root namespace ("").
func (ns *NetNS) Name() string {
	if ns == nil {
		return ""
	}
	return ns.name
}

// Command returns the command line running args inside the namespace (via
// ip netns exec); for a nil *NetNS it returns args unchanged.
func (ns *NetNS) Command(args ...string) []string {
	if ns == nil {
		return args
	}
	return append([]string{"ip", "netns", "exec", ns.name}, args...)
}

// Exec runs a command inside the namespace (nil: the root namespace) and
// returns its combined output; a failure is a *CommandError.
func (ns *NetNS) Exec(ctx context.Context, args ...string) ([]byte, error) {
	return Exec(ctx, ns.Command(args...)...)
}

// Run runs a command inside the namespace (nil: the root namespace), fails
// the test if it fails, and returns its combined output.
func (ns *NetNS) Run(t testing.TB, args ...string) string {
	t.Helper()
	return Run(t, ns.Command(args...)...)
}

// VethPair creates the veth pair hostSide/nsSide, moves nsSide into ns, gives
// it addr and brings both ends up. hostSide stays in the root namespace
// without an address (ready to be attached to a datapath or bridge); it is
// deleted when the test ends (which also removes nsSide).
func VethPair(t testing.TB, hostSide, nsSide string, ns *NetNS, addr netip.Prefix) {
	t.Helper()
	if ns == nil {
		t.Fatal("vmtest: VethPair needs a namespace")
	}
	// "name" keeps ip from parsing a short interface name as a keyword.
	Run(t, "ip", "link", "add", "name", hostSide, "type", "veth", "peer", "name", nsSide, "netns", ns.name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		defer cancel()
		// The pair is gone already if the namespace went first.
		if _, err := os.Stat("/sys/class/net/" + hostSide); err != nil {
			return
		}
		if _, err := Exec(ctx, "ip", "link", "delete", hostSide); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	Run(t, "ip", "link", "set", hostSide, "up")
	if addr.IsValid() {
		ns.Run(t, "ip", "address", "add", addr.String(), "dev", nsSide)
	}
	ns.Run(t, "ip", "link", "set", nsSide, "up")
}

// Ping sends count echo requests (0.2 s apart) from the namespace ns (nil:
// the root namespace) to dst and returns nil if every one was answered. It
// returns an error wrapping [ErrPing] if replies are missing, or a
// *CommandError if ping could not run.
func Ping(t testing.TB, ns *NetNS, dst netip.Addr, count int) error {
	t.Helper()
	if count < 1 {
		count = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	// busybox ping: -W bounds the wait when no reply came at all; with
	// replies it waits max(1 s, 2 RTT) after the last request.
	out, err := ns.Exec(ctx, "ping", "-c", strconv.Itoa(count), "-i", "0.2", "-W", "3", dst.String())
	sent, recv, ok := parsePing(out)
	if !ok {
		if err != nil {
			return err
		}
		return fmt.Errorf("vmtest: ping %s: no statistics in output: %q", dst, out)
	}
	if sent != count || recv != count {
		return fmt.Errorf("%w: %s from %q: %d sent, %d received", ErrPing, dst, ns.Name(), sent, recv)
	}
	return nil
}

var pingStats = regexp.MustCompile(`(?m)^(\d+) packets transmitted, (\d+) (?:packets )?received`)

// parsePing extracts the statistics line of busybox or iputils ping.
func parsePing(out []byte) (sent, recv int, ok bool) {
	m := pingStats.FindSubmatch(out)
	if m == nil {
		return 0, 0, false
	}
	sent, err1 := strconv.Atoi(string(m[1]))
	recv, err2 := strconv.Atoi(string(m[2]))
	return sent, recv, err1 == nil && err2 == nil
}
