package zktest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Server tuning. Small values make servers start, elect and expire
// sessions quickly; tests choose session timeouts between
// MinSessionTimeout and MaxSessionTimeout.
const (
	// TickTime is ZooKeeper's basic time unit (heartbeats, session expiry
	// granularity, initLimit/syncLimit).
	TickTime = 200 * time.Millisecond
	// MinSessionTimeout is the smallest session timeout a server grants.
	MinSessionTimeout = 2 * TickTime
	// MaxSessionTimeout is the largest session timeout a server grants.
	MaxSessionTimeout = 60 * time.Second
	// StartTimeout bounds how long the harness waits for servers to serve.
	StartTimeout = 60 * time.Second
	// StopTimeout bounds how long Stop waits after SIGTERM before it kills.
	StopTimeout = 10 * time.Second
)

// Errors returned by the harness; test them with errors.Is.
var (
	// ErrUnavailable reports that java or the ZooKeeper jars are missing.
	ErrUnavailable = errors.New("zktest: ZooKeeper is unavailable")
	// ErrExited reports that a server process exited while it was awaited.
	ErrExited = errors.New("zktest: server process exited")
	// ErrRunning reports a Start of a server that is already running.
	ErrRunning = errors.New("zktest: server is already running")
	// ErrNotServing reports a server that answers but does not serve
	// requests (no quorum yet, or still loading its database).
	ErrNotServing = errors.New("zktest: server is not serving requests")
)

// Mode values reported by [Server.Mode].
const (
	ModeStandalone = "standalone"
	ModeLeader     = "leader"
	ModeFollower   = "follower"
	ModeObserver   = "observer"
)

const (
	standaloneMain = "org.apache.zookeeper.server.ZooKeeperServerMain"
	quorumMain     = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
	debianJar      = "/usr/share/java/zookeeper.jar"
	slf4jSimpleJar = "/usr/share/java/slf4j-simple.jar"
)

// jvmFlags make the JVM start fast and stay small.
var jvmFlags = []string{
	"-Xmx128m",
	"-Xss512k",
	"-XX:+UseSerialGC",
	"-XX:TieredStopAtLevel=1",
	"-Xshare:auto",
	"-XX:-UsePerfData",
	"-Djava.net.preferIPv4Stack=true",
	"-Dzookeeper.admin.enableServer=false",
	"-Dzookeeper.jmx.log4j.disable=true",
	// Leader election backs off up to 60 s between rounds by default; cap
	// it so that an ensemble whose members start at different times (or
	// restart) elects within about a second.
	"-Dzookeeper.fastleader.maxNotificationInterval=1000",
	"-Dorg.slf4j.simpleLogger.showDateTime=true",
	"-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
}

// Runtime is a java binary and a class path holding the ZooKeeper server.
type Runtime struct {
	Java      string // path of the java binary
	ClassPath string // JVM class path
}

// FindRuntime locates java and the ZooKeeper jars, honouring
// HIVENET_ZK_JAVA, JAVA_HOME and HIVENET_ZK_CLASSPATH. The error wraps
// [ErrUnavailable] and says what is missing.
func FindRuntime() (Runtime, error) {
	var rt Runtime
	switch {
	case os.Getenv("HIVENET_ZK_JAVA") != "":
		rt.Java = os.Getenv("HIVENET_ZK_JAVA")
	case os.Getenv("JAVA_HOME") != "":
		rt.Java = filepath.Join(os.Getenv("JAVA_HOME"), "bin", "java")
	default:
		p, err := exec.LookPath("java")
		if err != nil {
			return rt, fmt.Errorf("%w: no java on PATH (install Debian package zookeeper, which brings a JRE, or set HIVENET_ZK_JAVA)", ErrUnavailable)
		}
		rt.Java = p
	}
	if fi, err := os.Stat(rt.Java); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return rt, fmt.Errorf("%w: java %q is not an executable file", ErrUnavailable, rt.Java)
	}
	if cp := os.Getenv("HIVENET_ZK_CLASSPATH"); cp != "" {
		rt.ClassPath = cp
		return rt, nil
	}
	if _, err := os.Stat(debianJar); err != nil {
		return rt, fmt.Errorf("%w: %s not found (apt-get install zookeeper, or set HIVENET_ZK_CLASSPATH)", ErrUnavailable, debianJar)
	}
	rt.ClassPath = debianJar
	if _, err := os.Stat(slf4jSimpleJar); err == nil {
		rt.ClassPath += string(os.PathListSeparator) + slf4jSimpleJar
	}
	return rt, nil
}

// Server is one ZooKeeper server process: a standalone server or a member
// of an [Ensemble]. It can be stopped, killed and started again; it keeps
// its data directory, address and ports across restarts. Its methods are
// safe for concurrent use.
type Server struct {
	rt      Runtime
	id      int // myid; 0 for a standalone server
	dir     string
	main    string
	cfgPath string
	logPath string

	mu     sync.Mutex
	client netip.AddrPort // set before the first start, fixed afterwards
	proc   *process       // nil when not running
}

// process is one run of the JVM.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed after Wait returned
	err  error         // Wait's result, valid after done is closed
}

// ID returns the server's myid in its ensemble (1-based), or 0 for a
// standalone server.
func (s *Server) ID() int { return s.id }

// Addr returns the address the server accepts clients on.
func (s *Server) Addr() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client
}

// ConnectString returns "host:port" of this server alone.
func (s *Server) ConnectString() string { return s.Addr().String() }

// Dir returns the server's directory (zoo.cfg, data/, zookeeper.log).
func (s *Server) Dir() string { return s.dir }

// LogPath returns the file that collects the server's output across runs.
func (s *Server) LogPath() string { return s.logPath }

// Running reports whether the server process is alive.
func (s *Server) Running() bool {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Pid returns the process id of the running JVM, or 0.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil || s.proc.cmd.Process == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Start starts the server process with its existing configuration and data.
// It does not wait for the server to serve; use [Server.WaitServing].
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		select {
		case <-s.proc.done:
		default:
			return fmt.Errorf("%w: %s", ErrRunning, s.client)
		}
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("zktest: open server log: %w", err)
	}
	fmt.Fprintf(logf, "==== zktest: %s starting %s %s\n", time.Now().Format(time.RFC3339Nano), s.main, s.cfgPath)
	args := append([]string{}, jvmFlags...)
	cds := planCDS(s.rt)
	if cds.flag != "" {
		args = append(args, cds.flag)
	}
	args = append(args, "-Dzookeeper.log.dir="+s.dir, "-cp", s.rt.ClassPath, s.main, s.cfgPath)
	cmd := exec.Command(s.rt.Java, args...)
	cmd.Dir = s.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = append(os.Environ(), "JAVA_TOOL_OPTIONS=")
	err = spawn(cmd)
	logf.Close() // the child holds its own descriptor
	if err != nil {
		cds.finish(err)
		return fmt.Errorf("zktest: start %s: %w", s.rt.Java, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		cds.finish(p.err)
		close(p.done)
	}()
	s.proc = p
	return nil
}

// Stop stops the server gracefully (SIGTERM) and waits for it to exit,
// killing it after [StopTimeout]. Stopping a stopped server does nothing.
func (s *Server) Stop() error {
	return s.signal(syscall.SIGTERM, StopTimeout)
}

// Kill kills the server process (SIGKILL), as a crash would, and waits for
// it to exit. Killing a stopped server does nothing.
func (s *Server) Kill() error {
	return s.signal(syscall.SIGKILL, StopTimeout)
}

func (s *Server) signal(sig syscall.Signal, timeout time.Duration) error {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("zktest: signal %v: %w", sig, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("zktest: kill: %w", err)
	}
	<-p.done
	return nil
}

// exited returns a channel closed when the current process exits, or nil
// when no process was ever started.
func (s *Server) exited() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	return s.proc.done
}

// Command sends a four-letter-word command ("ruok", "srvr", "mntr", ...) to
// the server and returns its answer.
func (s *Server) Command(ctx context.Context, cmd string) (string, error) {
	return fourLetter(ctx, s.Addr(), cmd)
}

// Mode returns the server's role from the "Mode:" line of srvr:
// [ModeStandalone], [ModeLeader], [ModeFollower] or [ModeObserver]. A
// server that runs but does not serve returns an error wrapping
// [ErrNotServing].
func (s *Server) Mode(ctx context.Context) (string, error) {
	out, err := s.Command(ctx, "srvr")
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "Mode: "); ok {
			return strings.TrimSpace(m), nil
		}
	}
	return "", fmt.Errorf("%w: %s: %q", ErrNotServing, s.Addr(), strings.TrimSpace(out))
}

// WaitServing waits until the server serves client requests (srvr reports
// a Mode). It fails early, wrapping [ErrExited], when the process exits.
func (s *Server) WaitServing(ctx context.Context) error {
	done := s.exited()
	if done == nil {
		return fmt.Errorf("%w: %s was never started", ErrExited, s.Addr())
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := s.Mode(pctx)
		cancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-done:
			return fmt.Errorf("%w: %s: %v; log tail:\n%s", ErrExited, s.Addr(), s.exitErr(), s.LogTail(30))
		case <-ctx.Done():
			return fmt.Errorf("zktest: %s not serving: %w (last probe: %v)", s.Addr(), ctx.Err(), last)
		case <-tick.C:
		}
	}
}

func (s *Server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	return s.proc.err
}

// LogTail returns the last n lines of the server's log.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// bindFailed reports whether the server's log shows it could not bind one
// of its ports (another process took a port between choice and use).
func (s *Server) bindFailed() bool {
	b, err := os.ReadFile(s.logPath)
	return err == nil && (bytes.Contains(b, []byte("BindException")) || bytes.Contains(b, []byte("Address already in use")))
}

func fourLetter(ctx context.Context, addr netip.AddrPort, cmd string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return "", fmt.Errorf("zktest: %s %s: %w", cmd, addr, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, cmd); err != nil {
		return "", fmt.Errorf("zktest: %s %s: %w", cmd, addr, err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return string(b), fmt.Errorf("zktest: %s %s: %w", cmd, addr, err)
	}
	return string(b), nil
}

// config is what a server's zoo.cfg is made of.
type config struct {
	dataDir string
	client  netip.AddrPort
	peers   []peer // empty for a standalone server
}

// peer is one ensemble member as every member's zoo.cfg lists it.
type peer struct {
	id       int
	addr     netip.Addr
	quorum   uint16
	election uint16
}

func (c config) render() string {
	var b strings.Builder
	kv := func(k string, v any) { fmt.Fprintf(&b, "%s=%v\n", k, v) }
	b.WriteString("# generated by github.com/hivenet/hivenet/internal/zktest\n")
	kv("tickTime", TickTime.Milliseconds())
	kv("dataDir", c.dataDir)
	kv("clientPort", c.client.Port())
	kv("clientPortAddress", c.client.Addr())
	kv("minSessionTimeout", MinSessionTimeout.Milliseconds())
	kv("maxSessionTimeout", MaxSessionTimeout.Milliseconds())
	kv("maxClientCnxns", 0)
	kv("admin.enableServer", false)
	kv("4lw.commands.whitelist", "*")
	// Unknown keys become zookeeper.* system properties: no fsync per
	// transaction (a test machine's crash loses the test anyway).
	kv("forceSync", "no")
	if len(c.peers) > 0 {
		kv("initLimit", 25) // ticks: 5 s for a follower to sync
		kv("syncLimit", 10) // ticks: 2 s of leader silence before a follower gives up
		kv("reconfigEnabled", false)
		kv("standaloneEnabled", false)
		kv("quorumListenOnAllIPs", false)
		for _, p := range c.peers {
			kv(fmt.Sprintf("server.%d", p.id), fmt.Sprintf("%s:%d:%d", p.addr, p.quorum, p.election))
		}
	}
	return b.String()
}

// newServer prepares a server directory and zoo.cfg; it starts nothing.
func newServer(rt Runtime, dir string, id int, cfg config) (*Server, error) {
	if err := os.MkdirAll(cfg.dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("zktest: %w", err)
	}
	s := &Server{
		rt:      rt,
		id:      id,
		dir:     dir,
		main:    standaloneMain,
		cfgPath: filepath.Join(dir, "zoo.cfg"),
		logPath: filepath.Join(dir, "zookeeper.log"),
		client:  cfg.client,
	}
	if len(cfg.peers) > 0 {
		s.main = quorumMain
		if err := os.WriteFile(filepath.Join(cfg.dataDir, "myid"), []byte(strconv.Itoa(id)+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("zktest: %w", err)
		}
	}
	if err := os.WriteFile(s.cfgPath, []byte(cfg.render()), 0o644); err != nil {
		return nil, fmt.Errorf("zktest: %w", err)
	}
	return s, nil
}

// NewStandalone prepares a standalone server in dir (created if needed) on
// a free port of 127.0.0.1. It does not start it: call [Server.Start] and
// [Server.WaitServing], or use [StartStandalone].
func NewStandalone(dir string) (*Server, error) {
	rt, err := FindRuntime()
	if err != nil {
		return nil, err
	}
	addr := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	ports, err := freePorts(addr, 1)
	if err != nil {
		return nil, err
	}
	return newServer(rt, dir, 0, config{
		dataDir: filepath.Join(dir, "data"),
		client:  netip.AddrPortFrom(addr, ports[0]),
	})
}

// StartStandalone prepares and starts a standalone server in dir and waits
// until it serves or ctx ends. If another process takes the chosen port
// first, it retries on a new port.
func StartStandalone(ctx context.Context, dir string) (*Server, error) {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var s *Server
		s, err = NewStandalone(dir)
		if err != nil {
			return nil, err
		}
		if err = s.Start(); err != nil {
			return nil, err
		}
		if err = s.WaitServing(ctx); err == nil {
			return s, nil
		}
		s.Kill()
		if !s.bindFailed() || ctx.Err() != nil {
			break
		}
		os.Remove(s.logPath)
	}
	return nil, err
}
