package zkserver

import (
	"context"
	"io"
	"log/slog"
	"time"
)

// SuperviseOptions tunes Server.Supervise. The zero value is valid.
type SuperviseOptions struct {
	// Logger receives a record for every crash and restart (with the tail
	// of the server's log); nil discards them.
	Logger *slog.Logger
	// MinBackoff is the delay before restarting a server that crashed; it
	// doubles while the server keeps crashing within a minute of its
	// start, up to MaxBackoff. 1 s and 1 min if zero.
	MinBackoff, MaxBackoff time.Duration
	// Restarted, if non-nil, is called after every restart, with the
	// number of restarts so far.
	Restarted func(n int)
}

// Supervise keeps the server running until ctx ends: it starts the server
// if it is not running, restarts it whenever its process exits, and stops
// it gracefully when ctx ends (killing it after StopTimeout). It returns
// the error of the final Stop, or nil.
func (s *Server) Supervise(ctx context.Context, opt SuperviseOptions) error {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = time.Second
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = time.Minute
	}
	log = log.With("zookeeper", s.Addr().String(), "dir", s.dir)
	backoff := opt.MinBackoff
	restarts := 0
	for {
		if !s.Running() {
			if err := s.Start(); err != nil {
				log.Error("cannot start ZooKeeper", "err", err)
			} else if restarts > 0 && opt.Restarted != nil {
				opt.Restarted(restarts)
			}
		}
		started := time.Now()
		select {
		case <-ctx.Done():
			return s.Stop()
		case <-s.exitedOrNow():
		}
		if ctx.Err() != nil {
			return s.Stop()
		}
		if time.Since(started) > time.Minute {
			backoff = opt.MinBackoff
		}
		log.Warn("ZooKeeper exited; restarting", "err", s.exitErr(), "backoff", backoff, "log-tail", s.LogTail(10))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, opt.MaxBackoff)
		restarts++
	}
}

// exitedOrNow is Exited, or a closed channel when no process runs.
func (s *Server) exitedOrNow() <-chan struct{} {
	if ch := s.Exited(); ch != nil {
		return ch
	}
	ch := make(chan struct{})
	close(ch)
	return ch
}
