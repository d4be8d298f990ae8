package bgp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"time"
)

// ErrExited: the child process of a speaker has exited.
var ErrExited = errors.New("bgp: speaker child exited")

// ChildOptions says how StartChild runs the child.
type ChildOptions struct {
	// Command is the child's command line; empty means this program
	// itself (os.Executable) with ChildEnv=1, which must call
	// MaybeServeChild first thing.
	Command []string
	// Netns, when set, runs the child in that named network namespace
	// (`ip netns exec`).
	Netns string
	// StatusInterval is how often the child reports (default 1 s).
	StatusInterval time.Duration
	// Stderr receives the child's logs (default the parent's stderr).
	Stderr io.Writer
}

// Child is a speaker running in a child process. Its routes reach the
// parent's Config.OnUpdate; when the child exits, every route it reported
// is withdrawn and Status returns ErrExited (Exited is closed).
type Child struct {
	cfg    Config
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	exited chan struct{}
	stop   sync.Once

	mu     sync.Mutex
	status []PeerStatus
	err    error
	tab    table
}

// StartChild starts a speaker for cfg in a child process.
func StartChild(ctx context.Context, cfg Config, opt ChildOptions) (*Child, error) {
	if _, err := New(cfg); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	args := opt.Command
	env := os.Environ()
	if len(args) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("bgp: child command: %w", err)
		}
		args = []string{exe}
		env = append(env, ChildEnv+"=1")
	}
	if opt.Netns != "" {
		args = append([]string{"ip", "netns", "exec", opt.Netns}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	cmd.Stderr = opt.Stderr
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cc := childConfig(cfg)
	cc.StatusInterval = opt.StatusInterval
	line, err := json.Marshal(cc)
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bgp: start child: %w", err)
	}
	c := &Child{cfg: cfg, cmd: cmd, stdin: stdin, exited: make(chan struct{})}
	c.tab.init()
	if _, err := stdin.Write(append(line, '\n')); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("bgp: configure child: %w", err)
	}
	go c.read(stdout)
	return c, nil
}

// read follows the child's messages until it exits.
func (c *Child) read(stdout io.Reader) {
	log := c.cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), MaxMessage)
	for sc.Scan() {
		m, err := DecodeMessage(sc.Bytes())
		if err != nil {
			log.Warn("bad message from BGP speaker child", "err", err)
			continue
		}
		var ups []Update
		for _, u := range m.Updates {
			if c.tab.apply(u) {
				ups = append(ups, u)
			}
		}
		if len(ups) > 0 && c.cfg.OnUpdate != nil {
			c.cfg.OnUpdate(ups)
		}
		c.mu.Lock()
		if m.Status != nil {
			c.status = m.Status
		}
		if m.Error != "" {
			c.err = errors.New(m.Error)
		}
		c.mu.Unlock()
	}
	werr := c.cmd.Wait()
	if ups := c.tab.clear(); len(ups) > 0 && c.cfg.OnUpdate != nil {
		c.cfg.OnUpdate(ups)
	}
	c.mu.Lock()
	c.err = fmt.Errorf("%w: %v", ErrExited, werr)
	c.mu.Unlock()
	close(c.exited)
}

// Status returns the last status the child reported.
func (c *Child) Status(context.Context) ([]PeerStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.exited:
		return nil, c.err
	default:
	}
	if c.status == nil {
		out := make([]PeerStatus, 0, len(c.cfg.Peers))
		for _, p := range c.cfg.Peers {
			out = append(out, PeerStatus{Peer: p.Addr, ASN: p.ASN, State: "idle"})
		}
		return out, c.err
	}
	return append([]PeerStatus(nil), c.status...), nil
}

// Routes returns the routes the child reported, by peer.
func (c *Child) Routes() map[netip.Addr][]Update { return c.tab.routes() }

// Kill kills the child process at once (no notification is sent: the
// peers notice the closed connection), as a crash would.
func (c *Child) Kill() { _ = c.cmd.Process.Kill() }

// Exited is closed when the child has exited and its routes are
// withdrawn.
func (c *Child) Exited() <-chan struct{} { return c.exited }

// Stop closes the child's input, which stops its speaker (the sessions
// are closed with a notification), and waits for it to exit, killing it
// after 5 s.
func (c *Child) Stop() {
	c.stop.Do(func() { _ = c.stdin.Close() })
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}
