package zktest

import (
	"context"
	"net/netip"
	"os"
	"time"

	"github.com/hivenet/hivenet/internal/proc"
	"github.com/hivenet/hivenet/nsdb/zookeeper/zkserver"
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
	StopTimeout = zkserver.StopTimeout
)

// The server process is package zkserver's; these names keep the harness's
// vocabulary.
type (
	// Server is one ZooKeeper server process (see zkserver.Server).
	Server = zkserver.Server
	// Runtime is a java binary and a class path holding the ZooKeeper
	// server.
	Runtime = zkserver.Runtime
)

// Errors returned by the harness; test them with errors.Is.
var (
	// ErrUnavailable reports that java or the ZooKeeper jars are missing.
	ErrUnavailable = zkserver.ErrUnavailable
	// ErrExited reports that a server process exited while it was awaited.
	ErrExited = zkserver.ErrExited
	// ErrRunning reports a Start of a server that is already running.
	ErrRunning = zkserver.ErrRunning
	// ErrNotServing reports a server that answers but does not serve
	// requests (no quorum yet, or still loading its database).
	ErrNotServing = zkserver.ErrNotServing
)

// Mode values reported by [Server.Mode].
const (
	ModeStandalone = zkserver.ModeStandalone
	ModeLeader     = zkserver.ModeLeader
	ModeFollower   = zkserver.ModeFollower
	ModeObserver   = zkserver.ModeObserver
)

// FindRuntime locates java and the ZooKeeper jars (see
// zkserver.FindRuntime); the error wraps [ErrUnavailable].
func FindRuntime() (Runtime, error) { return zkserver.FindRuntime() }

// testConfig is a server's configuration with the harness's tunings: fast
// ticks, wide session timeouts, no fsync, class-data sharing unless
// HIVENET_ZK_CDS=0.
func testConfig(rt Runtime, dir string, client netip.AddrPort) zkserver.Config {
	return zkserver.Config{
		Dir:               dir,
		Client:            client,
		TickTime:          TickTime,
		MinSessionTimeout: MinSessionTimeout,
		MaxSessionTimeout: MaxSessionTimeout,
		NoSync:            true,
		InitLimit:         25, // ticks: 5 s for a follower to sync
		SyncLimit:         10, // ticks: 2 s of leader silence before a follower gives up
		ClassDataSharing:  true,
		Runtime:           rt,
	}
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
	ports, err := proc.FreePorts(addr, 1)
	if err != nil {
		return nil, err
	}
	return zkserver.New(testConfig(rt, dir, netip.AddrPortFrom(addr, ports[0])))
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
		if !s.BindFailed() || ctx.Err() != nil {
			break
		}
		os.Remove(s.LogPath())
	}
	return nil, err
}
