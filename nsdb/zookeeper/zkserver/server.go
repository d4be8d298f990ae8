package zkserver

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

	"github.com/hivenet/hivenet/internal/proc"
)

// Errors of a Server; test them with errors.Is.
var (
	// ErrExited reports that a server process exited while it was awaited.
	ErrExited = errors.New("zkserver: server process exited")
	// ErrRunning reports a Start of a server that is already running.
	ErrRunning = errors.New("zkserver: server is already running")
	// ErrNotServing reports a server that answers but does not serve
	// requests (no quorum yet, or still loading its database).
	ErrNotServing = errors.New("zkserver: server is not serving requests")
)

// Mode values reported by [Server.Mode].
const (
	ModeStandalone = "standalone"
	ModeLeader     = "leader"
	ModeFollower   = "follower"
	ModeObserver   = "observer"
)

// StopTimeout bounds how long Stop waits after SIGTERM before it kills.
const StopTimeout = 10 * time.Second

// Server is one ZooKeeper server process: a standalone server or a member
// of an ensemble. It can be stopped, killed and started again; it keeps
// its data directory, address and ports across restarts. Its methods are
// safe for concurrent use.
type Server struct {
	rt      Runtime
	id      int // myid; 0 for a standalone server
	dir     string
	main    string
	cfgPath string
	logPath string
	cds     bool
	jvm     []string // Config.JVMFlags

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
		return fmt.Errorf("zkserver: open server log: %w", err)
	}
	fmt.Fprintf(logf, "==== zkserver: %s starting %s %s\n", time.Now().Format(time.RFC3339Nano), s.main, s.cfgPath)
	args := append([]string{}, jvmFlags...)
	var cds cdsPlan
	if s.cds {
		cds = planCDS(s.rt)
	}
	if cds.flag != "" {
		args = append(args, cds.flag)
	}
	args = append(args, s.jvm...)
	args = append(args, "-Dzookeeper.log.dir="+s.dir, "-cp", s.rt.ClassPath, s.main, s.cfgPath)
	cmd := exec.Command(s.rt.Java, args...)
	cmd.Dir = s.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = append(os.Environ(), "JAVA_TOOL_OPTIONS=")
	err = proc.Spawn(cmd)
	logf.Close() // the child holds its own descriptor
	if err != nil {
		cds.finish(err)
		return fmt.Errorf("zkserver: start %s: %w", s.rt.Java, err)
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
	if err := proc.Stop(p.cmd.Process, p.done, sig, timeout); err != nil {
		return fmt.Errorf("zkserver: %w", err)
	}
	return nil
}

// Exited returns a channel closed when the current process exits, or nil
// when no process was ever started.
func (s *Server) Exited() <-chan struct{} {
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
	done := s.Exited()
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
			return fmt.Errorf("zkserver: %s not serving: %w (last probe: %v)", s.Addr(), ctx.Err(), last)
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
	return proc.LogTail(s.logPath, n)
}

// BindFailed reports whether the server's log shows it could not bind one
// of its ports (another process took a port between choice and use).
func (s *Server) BindFailed() bool {
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
		return "", fmt.Errorf("zkserver: %s %s: %w", cmd, addr, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, cmd); err != nil {
		return "", fmt.Errorf("zkserver: %s %s: %w", cmd, addr, err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return string(b), fmt.Errorf("zkserver: %s %s: %w", cmd, addr, err)
	}
	return string(b), nil
}

// New prepares a server from cfg — its directory, data directory, zoo.cfg
// and, for an ensemble member, myid — and starts nothing: call
// [Server.Start] and [Server.WaitServing].
func New(cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("zkserver: no directory")
	}
	cfg = cfg.withDefaults()
	if cfg.SecureClient.IsValid() && cfg.TLSKeyStore == "" {
		return nil, errors.New("zkserver: SecureClient needs TLSKeyStore")
	}
	if cfg.Runtime == (Runtime{}) {
		rt, err := FindRuntime()
		if err != nil {
			return nil, err
		}
		cfg.Runtime = rt
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("zkserver: %w", err)
	}
	if cfg.DataDir == "" {
		cfg.DataDir = filepath.Join(dir, "data")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("zkserver: %w", err)
	}
	s := &Server{
		rt:      cfg.Runtime,
		dir:     dir,
		main:    standaloneMain,
		cfgPath: filepath.Join(dir, "zoo.cfg"),
		logPath: filepath.Join(dir, "zookeeper.log"),
		client:  cfg.Client,
		cds:     cfg.ClassDataSharing && len(cfg.JVMFlags) == 0,
		jvm:     cfg.JVMFlags,
	}
	if len(cfg.Peers) > 0 {
		s.id = cfg.ID
		s.main = quorumMain
		if err := os.WriteFile(filepath.Join(cfg.DataDir, "myid"), []byte(strconv.Itoa(cfg.ID)+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("zkserver: %w", err)
		}
	}
	if err := os.WriteFile(s.cfgPath, []byte(cfg.render()), 0o644); err != nil {
		return nil, fmt.Errorf("zkserver: %w", err)
	}
	return s, nil
}
