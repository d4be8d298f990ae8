package ovsdbtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"syscall"
	"time"

	"github.com/hivenet/hivenet/internal/proc"
)

// Stop stops the server gracefully (SIGTERM, after a SIGCONT in case it is
// paused) and waits for it to exit, killing it after [StopTimeout].
// Stopping a stopped server does nothing.
func (s *Server) Stop() error {
	s.Resume()
	return s.signal(syscall.SIGTERM, StopTimeout)
}

// Kill kills the server (SIGKILL), as a crash would, and waits for it to
// exit. Killing a stopped server does nothing.
func (s *Server) Kill() error { return s.signal(syscall.SIGKILL, StopTimeout) }

// Pause stops the server process (SIGSTOP): it keeps its sockets open
// but answers nothing, like a hung server. [Server.Resume] continues it.
func (s *Server) Pause() error { return s.send(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() error { return s.send(syscall.SIGCONT) }

func (s *Server) send(sig syscall.Signal) error {
	p := s.current()
	if p == nil {
		return fmt.Errorf("%w: %s was never started", ErrExited, s.dir)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("ovsdbtest: signal %v: %w", sig, err)
	}
	return nil
}

func (s *Server) signal(sig syscall.Signal, timeout time.Duration) error {
	p := s.current()
	if p == nil {
		return nil
	}
	if err := proc.Stop(p.cmd.Process, p.done, sig, timeout); err != nil {
		return fmt.Errorf("ovsdbtest: %w", err)
	}
	return nil
}

// WaitServing waits until the server answers list_dbs with hardware_vtep
// on its admin socket and, unless it runs isolated, on its client socket
// and TCP port. It fails early, wrapping [ErrExited], when the process
// exits.
func (s *Server) WaitServing(ctx context.Context) error {
	p := s.current()
	if p == nil {
		return fmt.Errorf("%w: %s was never started", ErrExited, s.dir)
	}
	targets := [][2]string{{"unix", s.admin}}
	if !p.isolated {
		targets = append(targets, [2]string{"unix", s.sock}, [2]string{"tcp", s.tcp.String()})
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		last = nil
		for _, t := range targets {
			if err := probe(ctx, t[0], t[1]); err != nil {
				last = err
				break
			}
		}
		if last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%w: %s: %v; log tail:\n%s", ErrExited, s.dir, p.err, s.LogTail(20))
		case <-ctx.Done():
			return fmt.Errorf("ovsdbtest: %s not serving: %w (last probe: %v)", s.dir, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// probe sends list_dbs to one listener and checks the answer.
func probe(ctx context.Context, network, addr string) error {
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(pctx, network, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	dl, _ := pctx.Deadline()
	c.SetDeadline(dl)
	if _, err := c.Write([]byte(`{"method":"list_dbs","params":[],"id":0}`)); err != nil {
		return err
	}
	var reply struct {
		Result []string        `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.NewDecoder(c).Decode(&reply); err != nil {
		return fmt.Errorf("list_dbs on %s: %w", addr, err)
	}
	if !slices.Contains(reply.Result, DBName) {
		return fmt.Errorf("list_dbs on %s: %v, error %s", addr, reply.Result, reply.Error)
	}
	return nil
}
