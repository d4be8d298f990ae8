package vteptest

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/ovsdbtest"
)

// The ovs-vtep emulator: Open vSwitch's VTEP emulator, a Python program
// (Debian's openvswitch-vtep, with python3-openvswitch) that turns an OVS
// bridge into a hardware_vtep physical switch. It runs unprivileged on
// ovs-vswitchd's dummy datapath (--enable-dummy=override): one
// ovsdb-server serves both the Open_vSwitch and the hardware_vtep
// databases in a temporary directory named by OVS_RUNDIR, the bridge has
// datapath_type=dummy and its ports type dummy, and a frame injected with
// `ovs-appctl netdev-dummy/receive` is learnt (Ucast_Macs_Local) once the
// port is bound to a logical switch. The emulator polls its database once
// a second and ages learnt MACs out after 15 s. Every process is started
// in the foreground with ovsdbtest.Spawn, so the kernel kills it with the
// test binary.

// Paths of the emulator's programs.
const (
	emulatorScript = "/usr/share/openvswitch/scripts/ovs-vtep"
	vswitchSchema  = "/usr/share/openvswitch/vswitch.ovsschema"
	python         = "/usr/bin/python3"
)

// Emulator is a running ovs-vtep with its ovs-vswitchd and ovsdb-server.
type Emulator struct {
	dir   string
	name  string
	procs []*exec.Cmd
}

// RequireEmulator skips the test when the emulator cannot run here, or
// fails it when the environment demands the real components
// (ovsdbtest.Required).
func RequireEmulator(t testing.TB) {
	t.Helper()
	var missing []string
	for _, p := range []string{emulatorScript, vswitchSchema, python, ovsdbtest.DefaultSchema} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	for _, p := range []string{"ovsdb-server", "ovsdb-tool", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl", "ovs-appctl", "vtep-ctl"} {
		if _, err := lookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if err := exec.Command(python, "-c", "import ovs.daemon").Run(); err != nil {
		missing = append(missing, "python3-openvswitch")
	}
	if len(missing) == 0 {
		return
	}
	msg := "the ovs-vtep emulator needs " + strings.Join(missing, ", ") + " (openvswitch-switch, openvswitch-vtep, python3-openvswitch; scripts/provision.sh)"
	if ovsdbtest.Required() {
		t.Fatal(msg)
	}
	t.Skip("skipping: " + msg)
}

func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("vteptest: %s not found", name)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// StartEmulator starts the emulator for a physical switch named name with
// tunnel address tunnelIP and dummy ports, in a temporary directory
// removed when the test ends (as are the processes). It returns once the
// emulator has taken the switch over.
func StartEmulator(t testing.TB, name string, tunnelIP netip.Addr, ports ...string) *Emulator {
	t.Helper()
	RequireEmulator(t)
	dir, err := os.MkdirTemp("", "vtepemu-")
	if err != nil {
		t.Fatal(err)
	}
	e := &Emulator{dir: dir, name: name}
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range []string{"ovs-vtep.out", "ovs-vtep.log", "ovs-vswitchd.log"} {
				b, _ := os.ReadFile(filepath.Join(dir, l))
				t.Logf("vteptest: %s:\n%s", l, tail(b, 30))
			}
		}
		e.stop()
		os.RemoveAll(dir)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.start(ctx, tunnelIP, ports); err != nil {
		t.Fatalf("vteptest: start the emulator: %v", err)
	}
	return e
}

func tail(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// env is the environment of every program: all of Open vSwitch's paths
// in the emulator's directory.
func (e *Emulator) env() []string {
	env := os.Environ()
	for _, v := range []string{"OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVS_SYSCONFDIR"} {
		env = append(env, v+"="+e.dir)
	}
	return append(env, "OVS_PKGDATADIR=/usr/share/openvswitch", "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
}

// run runs a program to completion and returns its standard output.
func (e *Emulator) run(ctx context.Context, prog string, args ...string) (string, error) {
	p, err := lookPath(prog)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.Dir, cmd.Env = e.dir, e.env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", prog, strings.Join(args, " "), err, bytes.TrimSpace(errb.Bytes()))
	}
	return out.String(), nil
}

// daemon starts a long-running program in the foreground.
func (e *Emulator) daemon(prog string, args ...string) error {
	p := prog
	if !filepath.IsAbs(p) {
		var err error
		if p, err = lookPath(prog); err != nil {
			return err
		}
	}
	name := filepath.Base(p)
	if name == filepath.Base(python) {
		name = filepath.Base(args[0]) // the script
	}
	out, err := os.Create(filepath.Join(e.dir, name+".out"))
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(p, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = e.dir, e.env(), out, out
	if err := ovsdbtest.Spawn(cmd); err != nil {
		return fmt.Errorf("%s: %w", prog, err)
	}
	e.procs = append(e.procs, cmd)
	return nil
}

func (e *Emulator) start(ctx context.Context, tunnelIP netip.Addr, ports []string) error {
	conf, vtepDB := filepath.Join(e.dir, "conf.db"), filepath.Join(e.dir, "vtep.db")
	if _, err := e.run(ctx, "ovsdb-tool", "create", conf, vswitchSchema); err != nil {
		return err
	}
	if _, err := e.run(ctx, "ovsdb-tool", "create", vtepDB, ovsdbtest.DefaultSchema); err != nil {
		return err
	}
	sock := filepath.Join(e.dir, "db.sock")
	if err := e.daemon("ovsdb-server", "--remote=punix:"+sock, "--unixctl="+filepath.Join(e.dir, "ovsdb-server.ctl"),
		"--log-file="+filepath.Join(e.dir, "ovsdb-server.log"), conf, vtepDB); err != nil {
		return err
	}
	if err := e.retry(ctx, "ovs-vsctl", "--timeout=5", "--no-wait", "init"); err != nil {
		return err
	}
	if err := e.daemon("ovs-vswitchd", "--enable-dummy=override", "--disable-system", "--unixctl="+filepath.Join(e.dir, "ovs-vswitchd.ctl"),
		"--log-file="+filepath.Join(e.dir, "ovs-vswitchd.log"), "unix:"+sock); err != nil {
		return err
	}
	args := []string{"--timeout=30", "add-br", e.name, "--", "set", "Bridge", e.name, "datapath_type=dummy"}
	for _, p := range ports {
		args = append(args, "--", "add-port", e.name, p, "--", "set", "Interface", p, "type=dummy")
	}
	if _, err := e.run(ctx, "ovs-vsctl", args...); err != nil {
		return err
	}
	args = []string{"add-ps", e.name, "--", "set", "Physical_Switch", e.name, "tunnel_ips=" + tunnelIP.String()}
	for _, p := range ports {
		args = append(args, "--", "add-port", e.name, p)
	}
	if _, err := e.run(ctx, "vtep-ctl", args...); err != nil {
		return err
	}
	if err := e.daemon(python, emulatorScript, "--log-file="+filepath.Join(e.dir, "ovs-vtep.log"), e.name); err != nil {
		return err
	}
	for ctx.Err() == nil {
		if out, err := e.run(ctx, "vtep-ctl", "get", "Physical_Switch", e.name, "description"); err == nil && strings.Contains(out, "Emulator") {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the emulator did not take %s over: %w", e.name, ctx.Err())
}

// retry runs a program until it succeeds (a server coming up).
func (e *Emulator) retry(ctx context.Context, prog string, args ...string) error {
	for {
		_, err := e.run(ctx, prog, args...)
		if err == nil || ctx.Err() != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *Emulator) stop() {
	for i := len(e.procs) - 1; i >= 0; i-- {
		p := e.procs[i]
		p.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			p.Process.Kill()
			<-done
		}
	}
	e.procs = nil
}

// Endpoint returns the OVSDB endpoint of the emulator's database (its
// ovsdb-server serves hardware_vtep there).
func (e *Emulator) Endpoint() string { return "unix:" + filepath.Join(e.dir, "db.sock") }

// Receive injects a frame into a dummy port, as if it arrived from the
// wire: flow is in ovs-appctl's flow syntax
// ("in_port(1),eth(src=...,dst=...),eth_type(0x0806),arp(...)").
func (e *Emulator) Receive(ctx context.Context, port, flow string) error {
	_, err := e.run(ctx, "ovs-appctl", "--target="+filepath.Join(e.dir, "ovs-vswitchd.ctl"), "netdev-dummy/receive", port, flow)
	return err
}

// VSCtl runs ovs-vsctl on the emulator's Open_vSwitch database.
func (e *Emulator) VSCtl(ctx context.Context, args ...string) (string, error) {
	return e.run(ctx, "ovs-vsctl", args...)
}
