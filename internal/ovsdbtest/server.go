package ovsdbtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/hivenet/hivenet/internal/proc"
)

// Harness limits.
const (
	// StartTimeout bounds how long the harness waits for a server to serve.
	StartTimeout = 30 * time.Second
	// StopTimeout bounds how long Stop waits after SIGTERM before it kills.
	StopTimeout = 10 * time.Second
	// ToolTimeout bounds one run of vtep-ctl or ovsdb-client when the
	// caller's context has no deadline.
	ToolTimeout = 30 * time.Second
)

// DBName is the name of the database every server serves.
const DBName = "hardware_vtep"

// Errors returned by the harness; test them with errors.Is.
var (
	// ErrUnavailable reports that ovsdb-server, ovsdb-tool or the schema
	// is missing.
	ErrUnavailable = errors.New("ovsdbtest: ovsdb-server is unavailable")
	// ErrExited reports that a server process exited while it was awaited.
	ErrExited = errors.New("ovsdbtest: server process exited")
	// ErrRunning reports a Start of a server that is already running.
	ErrRunning = errors.New("ovsdbtest: server is already running")
)

// DefaultSchema is the hardware_vtep schema of Debian's openvswitch-vtep.
const DefaultSchema = "/usr/share/openvswitch/vtep.ovsschema"

// Runtime is where the Open vSwitch programs and the schema are.
type Runtime struct {
	Server  string // ovsdb-server
	Tool    string // ovsdb-tool
	Client  string // ovsdb-client
	VtepCtl string // vtep-ctl
	Schema  string // the .ovsschema databases are created from
}

// FindRuntime locates the programs on $PATH (and /usr/sbin, where Debian
// puts ovsdb-server) and the schema (HIVENET_OVSDB_SCHEMA or
// [DefaultSchema]). The error wraps [ErrUnavailable] and says what is
// missing.
func FindRuntime() (Runtime, error) {
	var rt Runtime
	find := func(name string) (string, error) {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
		return "", fmt.Errorf("%w: %s not found (apt-get install openvswitch-common openvswitch-vtep, or run scripts/provision.sh)", ErrUnavailable, name)
	}
	var err error
	for _, p := range []struct {
		dst  *string
		name string
	}{{&rt.Server, "ovsdb-server"}, {&rt.Tool, "ovsdb-tool"}, {&rt.Client, "ovsdb-client"}, {&rt.VtepCtl, "vtep-ctl"}} {
		if *p.dst, err = find(p.name); err != nil {
			return rt, err
		}
	}
	rt.Schema = DefaultSchema
	if s := os.Getenv(EnvSchema); s != "" {
		rt.Schema = s
	}
	if _, err := os.Stat(rt.Schema); err != nil {
		return rt, fmt.Errorf("%w: schema %s: %v (apt-get install openvswitch-vtep)", ErrUnavailable, rt.Schema, err)
	}
	return rt, nil
}

// Server is one ovsdb-server process and its database file. It can be
// stopped, killed, paused and started again; it keeps its database,
// sockets and TCP port across restarts. Its methods are safe for
// concurrent use.
type Server struct {
	rt      Runtime
	dir     string
	db      string
	sock    string
	admin   string
	ctl     string
	logPath string
	tcp     netip.AddrPort

	mu   sync.Mutex
	proc *process // nil when not running
}

// process is one run of ovsdb-server.
type process struct {
	cmd      *exec.Cmd
	isolated bool
	done     chan struct{} // closed after Wait returned
	err      error         // Wait's result, valid after done is closed
}

// NewServer creates the database in dir (created if needed; keep its path
// short: unix socket paths are limited to about 100 bytes) and chooses a
// free TCP port. It starts nothing: call [Server.Start] and
// [Server.WaitServing], or use [StartDir].
func NewServer(dir string) (*Server, error) {
	rt, err := FindRuntime()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ovsdbtest: %w", err)
	}
	s := &Server{
		rt:      rt,
		dir:     dir,
		db:      filepath.Join(dir, "vtep.db"),
		sock:    filepath.Join(dir, "db.sock"),
		admin:   filepath.Join(dir, "admin.sock"),
		ctl:     filepath.Join(dir, "ovsdb-server.ctl"),
		logPath: filepath.Join(dir, "ovsdb-server.log"),
	}
	if len(s.sock) > 100 {
		return nil, fmt.Errorf("ovsdbtest: directory %s is too long for a unix socket path", dir)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	s.tcp = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port)
	out, err := exec.Command(rt.Tool, "create", s.db, rt.Schema).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("ovsdbtest: ovsdb-tool create: %v: %s", err, bytes.TrimSpace(out))
	}
	return s, nil
}

// StartDir creates a server in dir, starts it and waits until it serves or
// ctx ends.
func StartDir(ctx context.Context, dir string) (*Server, error) {
	s, err := NewServer(dir)
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	if err := s.WaitServing(ctx); err != nil {
		s.Kill()
		return nil, err
	}
	return s, nil
}

// Endpoint returns the client unix socket as an OVSDB endpoint,
// "unix:PATH".
func (s *Server) Endpoint() string { return "unix:" + s.sock }

// TCPEndpoint returns the TCP listener as an OVSDB endpoint,
// "tcp:127.0.0.1:PORT".
func (s *Server) TCPEndpoint() string { return "tcp:" + s.tcp.String() }

// AdminEndpoint returns the admin unix socket, which stays open while the
// server runs isolated.
func (s *Server) AdminEndpoint() string { return "unix:" + s.admin }

// Dir returns the server's directory.
func (s *Server) Dir() string { return s.dir }

// DBPath returns the database file.
func (s *Server) DBPath() string { return s.db }

// LogPath returns the file that collects the server's output across runs.
func (s *Server) LogPath() string { return s.logPath }

// Start starts ovsdb-server with all its remotes. It does not wait for it
// to serve; use [Server.WaitServing].
func (s *Server) Start() error { return s.start(false) }

// StartIsolated starts ovsdb-server with its admin socket only: clients of
// [Server.Endpoint] and [Server.TCPEndpoint] cannot connect, while
// [Server.VtepCtl] and [Server.Tool] work. Stop it and [Server.Start] it to
// end the outage.
func (s *Server) StartIsolated() error { return s.start(true) }

func (s *Server) start(isolated bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		select {
		case <-s.proc.done:
		default:
			return fmt.Errorf("%w: %s", ErrRunning, s.dir)
		}
	}
	// A killed server leaves its sockets behind; an isolated one must not
	// leave the client socket looking alive.
	os.Remove(s.sock)
	os.Remove(s.admin)
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("ovsdbtest: open server log: %w", err)
	}
	fmt.Fprintf(logf, "==== ovsdbtest: %s starting (isolated=%v)\n", time.Now().Format(time.RFC3339Nano), isolated)
	args := []string{"--remote=punix:" + s.admin}
	if !isolated {
		args = append(args,
			"--remote=punix:"+s.sock,
			"--remote=ptcp:"+fmt.Sprint(s.tcp.Port())+":"+s.tcp.Addr().String(),
			"--remote=db:"+DBName+",Global,managers")
	}
	args = append(args, "--unixctl="+s.ctl, "--no-chdir", "-vconsole:info", s.db)
	cmd := exec.Command(s.rt.Server, args...)
	cmd.Dir = s.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+s.dir, "OVS_DBDIR="+s.dir, "OVS_LOGDIR="+s.dir)
	err = proc.Spawn(cmd)
	logf.Close() // the child holds its own descriptor
	if err != nil {
		return fmt.Errorf("ovsdbtest: start %s: %w", s.rt.Server, err)
	}
	p := &process{cmd: cmd, isolated: isolated, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.proc = p
	return nil
}

// Running reports whether the server process is alive.
func (s *Server) Running() bool {
	p := s.current()
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

// Pid returns the process id of the running server, or 0.
func (s *Server) Pid() int {
	if p := s.current(); p != nil && s.Running() {
		return p.cmd.Process.Pid
	}
	return 0
}

func (s *Server) current() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}
