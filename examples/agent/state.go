package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/flowstate/cassandra"
	"github.com/hivenet/hivenet/flowstate/localstore"
	"github.com/hivenet/hivenet/internal/cli"
)

// stateFlags are the flow-state persistence flags.
type stateFlags struct {
	dir       string
	port      uint
	cassandra string
	keyspace  string
	pidFile   string
	takeover  bool
}

func (f *stateFlags) check() error {
	if f.port == 0 || f.port > 65535 {
		return fmt.Errorf("-state-port %d out of range", f.port)
	}
	if f.cassandra != "" {
		if _, err := cli.HostPorts(f.cassandra); err != nil {
			return fmt.Errorf("-cassandra: %w", err)
		}
	}
	if f.takeover && (f.pidFile == "" || f.dir == "") {
		return errors.New("-takeover needs -pid-file (the running agent's) and -state-dir")
	}
	return nil
}

// open opens the stores the flags name and sets them in cfg; the returned
// function closes them.
func (f *stateFlags) open(ctx context.Context, cfg *agent.Config, log *slog.Logger) (func(), error) {
	var closers []func()
	done := func() {
		for _, c := range closers {
			c()
		}
	}
	cfg.StatePort = uint16(f.port)
	if f.dir != "" {
		st, err := localstore.Open(localstore.Config{Dir: f.dir, Logger: log, Registerer: cfg.Registerer})
		if err != nil {
			return done, err
		}
		closers = append(closers, func() { st.Close() })
		cfg.StateStore = st
		log.Info("flow state kept in a local store", "dir", f.dir)
	}
	if f.cassandra != "" {
		hosts, _ := cli.HostPorts(f.cassandra)
		c, err := cassandra.New(ctx, cassandra.Config{Hosts: hosts, Keyspace: f.keyspace, CreateSchema: true, Logger: log})
		if err != nil {
			done()
			return func() {}, err
		}
		closers = append(closers, func() { c.Close() })
		cfg.SharedStateStore = c
	}
	return done, nil
}

// writePID writes this process's PID to -pid-file, if set.
func (f *stateFlags) writePID() error {
	if f.pidFile == "" {
		return nil
	}
	return os.WriteFile(f.pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

// handover stops the agent whose PID -pid-file holds (SIGTERM) and waits
// until it has exited.
func (f *stateFlags) handover(ctx context.Context, log *slog.Logger) error {
	b, err := os.ReadFile(f.pidFile)
	if errors.Is(err, os.ErrNotExist) {
		log.Info("no running agent to take over from", "pid-file", f.pidFile)
		return nil
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return fmt.Errorf("%s does not hold a PID: %q", f.pidFile, b)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			log.Info("the agent to take over from is not running", "pid", pid)
			return nil
		}
		return fmt.Errorf("stopping the running agent (pid %d): %w", pid, err)
	}
	start := time.Now()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for syscall.Kill(pid, 0) == nil {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	log.Info("the running agent stopped", "pid", pid, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
