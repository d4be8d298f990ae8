package bgp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// ChildEnv is the environment variable that makes a program a speaker
// child: MaybeServeChild serves the child protocol when it is "1".
const ChildEnv = "HIVENET_BGP_SPEAKER"

// ErrProtocol: a malformed line of the child protocol.
var ErrProtocol = errors.New("bgp: child protocol")

// MaybeServeChild serves the child protocol on standard input and output
// and exits when the process was started as a speaker child (ChildEnv is
// "1"); otherwise it returns at once. Programs that start speakers with
// StartChild and no Command (the agent's command, test binaries of
// packages that run agents) call it first thing in main or TestMain.
func MaybeServeChild() {
	if os.Getenv(ChildEnv) != "1" {
		return
	}
	// Session changes are logged by the parent (from the status); the
	// child logs only problems.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := ServeChild(context.Background(), os.Stdin, os.Stdout, log); err != nil {
		log.Error("BGP speaker child", "err", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// ServeChild runs one speaker for the configuration line read from in,
// writes its messages to out, and stops it when in ends (or ctx does).
func ServeChild(ctx context.Context, in io.Reader, out io.Writer, log *slog.Logger) error {
	r := bufio.NewReader(io.LimitReader(in, MaxMessage+1))
	line, err := r.ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("bgp child: read config: %w", err)
	}
	cfg, err := DecodeChildConfig(line)
	if err != nil {
		return err
	}
	var cc ChildConfig
	_ = json.Unmarshal(line, &cc)
	every := cc.StatusInterval
	if every <= 0 {
		every = time.Second
	}
	var mu sync.Mutex
	enc := json.NewEncoder(out)
	send := func(m Message) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(m)
	}
	cfg.Logger = log
	cfg.OnUpdate = func(us []Update) { send(Message{Updates: us}) }
	s, err := New(cfg)
	if err != nil {
		return err
	}
	status := make(chan struct{}, 1)
	cfg.OnPeer = func(PeerStatus) {
		select {
		case status <- struct{}{}:
		default:
		}
	}
	s.cfg.OnPeer = cfg.OnPeer
	if err := s.Start(ctx); err != nil {
		send(Message{Error: err.Error()})
		return err
	}
	defer s.Stop()
	// The parent closes our input to stop us.
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, r)
		close(eof)
	}()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-eof:
			return nil
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-status:
		}
		st, err := s.Status(ctx)
		if err != nil {
			send(Message{Error: err.Error()})
			continue
		}
		send(Message{Status: st})
	}
}
