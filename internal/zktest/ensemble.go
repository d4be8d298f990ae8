package zktest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/hivenet/hivenet/internal/proc"
	"github.com/hivenet/hivenet/nsdb/zookeeper/zkserver"
)

// Ensemble is a ZooKeeper ensemble of n servers. Server i (0-based) has
// myid i+1 and listens on 127.0.0.(i+1) — client, quorum and election
// ports — so that each member has its own loopback address.
type Ensemble struct {
	servers []*Server
}

// NewEnsemble prepares an n-server ensemble under dir (one subdirectory per
// server, "server1" ...). It starts nothing: call [Ensemble.Start] and
// [Ensemble.WaitServing], or use [StartEnsembleDir].
func NewEnsemble(dir string, n int) (*Ensemble, error) {
	if n < 1 || n > 250 {
		return nil, fmt.Errorf("zktest: ensemble size %d out of range [1, 250]", n)
	}
	rt, err := FindRuntime()
	if err != nil {
		return nil, err
	}
	peers := make([]zkserver.Peer, n)
	clients := make([]netip.AddrPort, n)
	for i := range peers {
		addr := netip.AddrFrom4([4]byte{127, 0, 0, byte(i + 1)})
		ports, err := proc.FreePorts(addr, 3)
		if err != nil {
			return nil, err
		}
		peers[i] = zkserver.Peer{ID: i + 1, Addr: addr, Quorum: ports[1], Election: ports[2]}
		clients[i] = netip.AddrPortFrom(addr, ports[0])
	}
	e := &Ensemble{servers: make([]*Server, n)}
	for i := range peers {
		cfg := testConfig(rt, filepath.Join(dir, fmt.Sprintf("server%d", i+1)), clients[i])
		cfg.ID, cfg.Peers = i+1, peers
		s, err := zkserver.New(cfg)
		if err != nil {
			return nil, err
		}
		e.servers[i] = s
	}
	return e, nil
}

// StartEnsembleDir prepares and starts an n-server ensemble under dir and
// waits until every member serves and one leads, or ctx ends. If a port was
// taken by another process before a server bound it, it retries once with
// new ports. On error no server is left running.
func StartEnsembleDir(ctx context.Context, dir string, n int) (*Ensemble, error) {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		adir := filepath.Join(dir, fmt.Sprintf("ensemble%d", attempt))
		var e *Ensemble
		e, err = NewEnsemble(adir, n)
		if err != nil {
			return nil, err
		}
		if err = e.Start(); err == nil {
			if err = e.WaitServing(ctx); err == nil {
				if err = e.checkAllRunning(); err == nil {
					return e, nil
				}
			}
		}
		e.Kill()
		bind := false
		for _, s := range e.servers {
			bind = bind || s.BindFailed()
		}
		if !bind || ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

// Len returns the number of servers.
func (e *Ensemble) Len() int { return len(e.servers) }

// Server returns server i, 0 <= i < Len(); its myid is i+1.
func (e *Ensemble) Server(i int) *Server { return e.servers[i] }

// Servers returns all servers in myid order.
func (e *Ensemble) Servers() []*Server { return append([]*Server(nil), e.servers...) }

// ConnectString returns the comma-separated client addresses of all
// servers, running or not, as ZooKeeper clients expect.
func (e *Ensemble) ConnectString() string {
	parts := make([]string, len(e.servers))
	for i, s := range e.servers {
		parts[i] = s.ConnectString()
	}
	return strings.Join(parts, ",")
}

// Start starts every server that is not running.
func (e *Ensemble) Start() error {
	for _, s := range e.servers {
		if s.Running() {
			continue
		}
		if err := s.Start(); err != nil {
			return err
		}
	}
	return nil
}

// Stop stops every server gracefully.
func (e *Ensemble) Stop() error {
	return e.each(func(s *Server) error { return s.Stop() })
}

// Kill kills every server.
func (e *Ensemble) Kill() error {
	return e.each(func(s *Server) error { return s.Kill() })
}

func (e *Ensemble) each(f func(*Server) error) error {
	errs := make(chan error, len(e.servers))
	for _, s := range e.servers {
		go func() { errs <- f(s) }()
	}
	var all []error
	for range e.servers {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// Leader returns the index (not myid) of the running server that reports
// itself leader, or -1 when none does right now.
func (e *Ensemble) Leader() int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for i, s := range e.servers {
		if !s.Running() {
			continue
		}
		if m, err := s.Mode(ctx); err == nil && m == ModeLeader {
			return i
		}
	}
	return -1
}

// WaitLeader waits until a running server leads and returns its index.
func (e *Ensemble) WaitLeader(ctx context.Context) (int, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if i := e.Leader(); i >= 0 {
			return i, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("zktest: no leader among %s: %w", e.ConnectString(), ctx.Err())
		case <-tick.C:
		}
	}
}

// WaitServing waits until every running server serves and one of them
// leads. A server that exits meanwhile fails it with [ErrExited].
func (e *Ensemble) WaitServing(ctx context.Context) error {
	for _, s := range e.servers {
		if !s.Running() {
			continue
		}
		if err := s.WaitServing(ctx); err != nil {
			return err
		}
	}
	_, err := e.WaitLeader(ctx)
	return err
}

func (e *Ensemble) checkAllRunning() error {
	for _, s := range e.servers {
		if !s.Running() {
			return fmt.Errorf("%w: server %d (%s); log tail:\n%s", ErrExited, s.ID(), s.Addr(), s.LogTail(30))
		}
	}
	return nil
}

// logTails returns the log tails of all servers, for failure reports.
func (e *Ensemble) logTails(n int) string {
	var b strings.Builder
	for _, s := range e.servers {
		fmt.Fprintf(&b, "--- server %d (%s, running=%v) %s:\n%s\n", s.ID(), s.Addr(), s.Running(), s.LogPath(), s.LogTail(n))
	}
	return b.String()
}
