//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/vmtest"
)

// streamByte is the i-th byte of a tcp-stream.
func streamByte(i int64) byte { return byte(i*7 + i>>8 + i>>16) }

// tcpStream is the tcp-stream role (see runRole).
func tcpStream(addr string, d time.Duration) error {
	c, err := net.DialTimeout("tcp4", addr, 20*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(d + 2*time.Minute))
	r := bufio.NewReader(c)
	peer, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the peer line: %w", err)
	}
	fmt.Print(peer)
	var sent int64
	werr := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for end := time.Now().Add(d); time.Now().Before(end); {
			<-t.C
			for i := range buf {
				buf[i] = streamByte(sent + int64(i))
			}
			if _, err := c.Write(buf); err != nil {
				werr <- fmt.Errorf("sending after %d bytes: %w", sent, err)
				return
			}
			sent += int64(len(buf))
		}
		werr <- c.(*net.TCPConn).CloseWrite()
	}()
	var got int64
	var stall time.Duration
	var stallEnd time.Time
	last, report := time.Now(), time.Now()
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		now := time.Now()
		if n > 0 {
			if now.Sub(last) > stall {
				stall, stallEnd = now.Sub(last), now
			}
			last = now
			for i := range n {
				if buf[i] != streamByte(got+int64(i)) {
					return fmt.Errorf("echo byte %d is %#x, sent %#x", got+int64(i), buf[i], streamByte(got+int64(i)))
				}
			}
			got += int64(n)
			if now.Sub(report) >= 250*time.Millisecond {
				fmt.Printf("progress %d\n", got)
				report = now
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the echo after %d bytes: %w", got, err)
		}
	}
	if err := <-werr; err != nil {
		return err
	}
	if got != sent {
		return fmt.Errorf("echo of %d bytes, %d sent", got, sent)
	}
	fmt.Printf("echoed %d bytes, longest stall %v ending at %d\n", got, stall.Round(time.Millisecond), stallEnd.UnixMilli())
	return nil
}

var progressRe = regexp.MustCompile(`(?m)^progress (\d+)$`)

var phasesRe = regexp.MustCompile(`msg="agent running".* (took=\S+ nsdb-read=\S+ datapath=\S+ bind-and-restore=\S+ reconcile=\S+)`)

// phases returns how long an agent's start phases took, from its log.
func phases(out string) string {
	if m := phasesRe.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return "(not logged)"
}

// progress returns the last progress an output reports.
func progress(out string) int64 {
	ms := progressRe.FindAllStringSubmatch(out, -1)
	if len(ms) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(ms[len(ms)-1][1], 10, 64)
	return n
}

// waitProgress waits until h's stream has echoed more than after.
func waitProgress(ctx context.Context, t *testing.T, h *helper, after int64, what string) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for progress(h.out.String()) <= after {
		select {
		case <-h.done:
			t.Fatalf("the stream ended while waiting for %s: %v\n%s", what, h.err, h.out.String())
		case <-ctx.Done():
			t.Fatalf("the stream made no progress past %d bytes: %s", after, what)
		case <-tick.C:
		}
	}
}

// TestKernelAgentRestartZooKeeper: a TCP stream from vm2 (host-b) through
// its router's source NAT (203.0.113.10) and the tenant's stateful
// security group to ext, behind host-a's uplink, keeps going, every byte
// echoed and checked, while the agents are killed with SIGKILL and
// restarted with their local flow-state stores: first host-b's (which
// translates the stream's segments), then host-a's (which translates the
// answers back); then a second agent takes over from host-b's running one
// (a fast reboot, -takeover). Each restarted agent restores its ports' connections
// before handling upcalls and keeps the datapath's flows; the server sees
// one connection from one translated address and port throughout. The
// test logs, per restart, the time without new-flow handling (SIGKILL to
// the new agent ready), the new process's start-to-ready time, and when a
// new connection through the restarted host succeeds; the takeover's gap
// (the old agent's stop to the new one ready); and the stream's longest
// stall.
func TestKernelAgentRestartZooKeeper(t *testing.T) {
	vmtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	e := newE2E(ctx, t)
	dirs := map[string]string{}
	for _, h := range e.hosts {
		dirs[h.name] = t.TempDir()
	}
	stateFlags := func(h *e2eHost) []string {
		return []string{"-state-dir", dirs[h.name], "-pid-file", dirs[h.name] + "/agent.pid"}
	}
	e.startAgents(ctx, t, stateFlags)
	vm2, ext := e.vms["vm2"], e.vms["ext"]
	pingUntil(ctx, t, vm2.ns, ext.addr.Addr())

	// The stream to 8080; new connections during the test go to 8081.
	srv := startHelper(t, ext.ns, "tcp-echo in ext", "tcp-echo", "0.0.0.0:8080")
	probe := startHelper(t, ext.ns, "tcp-echo in ext (new connections)", "tcp-echo", "0.0.0.0:8081")
	for _, h := range []*helper{srv, probe} {
		if _, err := h.waitOutput(ctx, regexp.MustCompile(`(?m)^listening$`)); err != nil {
			t.Fatal(err)
		}
	}
	const seconds = 90
	stream := startHelper(t, vm2.ns, "tcp-stream in vm2", "tcp-stream", netip.AddrPortFrom(ext.addr.Addr(), 8080).String(), strconv.Itoa(seconds))
	m, err := stream.waitOutput(ctx, regexp.MustCompile(`peer (203\.0\.113\.10:\d+)`))
	if err != nil {
		t.Fatal(err)
	}
	nat := m[1]
	streamStart := time.Now()
	type event struct {
		at   time.Time
		what string
	}
	var events []event
	note := func(what string) { events = append(events, event{time.Now(), what}) }
	waitProgress(ctx, t, stream, 64<<10, "the stream to start")
	t.Logf("stream flowing from vm2 as %s (%v)", nat, e.since())

	for _, h := range []*e2eHost{e.hosts[1], e.hosts[0]} {
		old := h.agent
		before := progress(stream.out.String())
		killed := time.Now()
		note(h.name + ": SIGKILL")
		if err := old.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-old.done
		started := time.Now()
		nh := e.startAgent(t, h, stateFlags(h)...)
		if _, err := nh.waitOutput(ctx, agentReady); err != nil {
			t.Fatal(err)
		}
		ready := time.Now()
		note(h.name + ": new agent ready")
		restored := regexp.MustCompile(`msg="flow state of bound ports restored" ports=(\d+) messages=(\d+) took=(\S+)`).FindStringSubmatch(nh.out.String())
		if restored == nil || restored[2] == "0" {
			t.Fatalf("the new agent on %s restored no flow state: %v\n%s", h.name, restored, tail(nh.out.String(), 40))
		}
		// A new connection through the restarted host.
		cli := startHelper(t, vm2.ns, "tcp-client in vm2 (new connection)", "tcp-client", netip.AddrPortFrom(ext.addr.Addr(), 8081).String(), "1000")
		select {
		case <-cli.done:
		case <-ctx.Done():
			t.Fatalf("the new connection did not finish: %v", ctx.Err())
		}
		if cli.err != nil || !strings.Contains(cli.out.String(), "echoed 1000 bytes") {
			t.Fatalf("a new connection after %s's restart: %v\n%s", h.name, cli.err, cli.out.String())
		}
		served := time.Now()
		t.Logf("%s: SIGKILL -> new agent ready %v (no new-flow handling meanwhile; process start -> ready %v, %s connection messages restored in %s); a new connection completed %v after the SIGKILL",
			h.name, ready.Sub(killed).Round(time.Millisecond), ready.Sub(started).Round(time.Millisecond), restored[2], restored[3], served.Sub(killed).Round(time.Millisecond))
		t.Logf("%s: the new agent's start: %s", h.name, phases(nh.out.String()))
		waitProgress(ctx, t, stream, max(before, progress(stream.out.String())), "the stream to go on after "+h.name+"'s restart")
		t.Logf("%s: the stream goes on (%d bytes echoed) (%v)", h.name, progress(stream.out.String()), e.since())
	}

	// A fast reboot of host-b: a second agent loads the state while the
	// running one forwards, then stops it and takes the datapath over.
	{
		h := e.hosts[1]
		old := h.agent
		before := progress(stream.out.String())
		started := time.Now()
		note(h.name + ": agent taking over started")
		nh := e.startAgent(t, h, append(stateFlags(h), "-takeover")...)
		var stopped time.Time
		select {
		case <-old.done:
			stopped = time.Now()
			note(h.name + ": running agent stopped")
		case <-nh.done:
			t.Fatalf("the agent taking over exited: %v\n%s", nh.err, tail(nh.out.String(), 40))
		case <-ctx.Done():
			t.Fatal("the running agent was not stopped by the one taking over")
		}
		if _, err := nh.waitOutput(ctx, agentReady); err != nil {
			t.Fatal(err)
		}
		ready := time.Now()
		note(h.name + ": agent taking over ready")
		pre := regexp.MustCompile(`msg="flow state preloaded while the running agent still forwards" ports=\d+ messages=(\d+)`).FindStringSubmatch(nh.out.String())
		if pre == nil || pre[1] == "0" {
			t.Fatalf("the agent taking over preloaded no flow state: %v\n%s", pre, tail(nh.out.String(), 40))
		}
		t.Logf("%s takeover: the running agent stopped %v after the new one started (%s messages preloaded); from its stop to the new agent ready %v (no new-flow handling meanwhile)",
			h.name, stopped.Sub(started).Round(time.Millisecond), pre[1], ready.Sub(stopped).Round(time.Millisecond))
		t.Logf("%s takeover: the new agent's start after the handover: %s", h.name, phases(nh.out.String()))
		waitProgress(ctx, t, stream, max(before, progress(stream.out.String())), "the stream to go on after the takeover")
	}

	select {
	case <-stream.done:
	case <-ctx.Done():
		t.Fatalf("the stream did not finish: %v\n%s", ctx.Err(), stream.out.String())
	}
	out := stream.out.String()
	if stream.err != nil {
		t.Fatalf("the stream broke: %v\n%s\nserver:\n%s", stream.err, tail(out, 20), srv.out.String())
	}
	fin := regexp.MustCompile(`echoed (\d+) bytes, longest stall (\S+) ending at (\d+)`).FindStringSubmatch(out)
	if fin == nil {
		t.Fatalf("the stream did not report its end:\n%s", tail(out, 20))
	}
	end, _ := strconv.ParseInt(fin[3], 10, 64)
	t.Logf("the stream lasted %ds: %s bytes echoed and checked, longest stall %s, ended %v after the stream started",
		seconds, fin[1], fin[2], time.UnixMilli(end).Sub(streamStart).Round(time.Millisecond))
	for _, ev := range events {
		t.Logf("  %v: %s", ev.at.Sub(streamStart).Round(time.Millisecond), ev.what)
	}
	accepted := regexp.MustCompile(`(?m)^accepted (\S+)$`).FindAllStringSubmatch(srv.out.String(), -1)
	if len(accepted) != 1 || accepted[0][1] != nat {
		t.Errorf("the stream's server accepted %v, want the one connection from %s", accepted, nat)
	}
	if !bytes.Contains([]byte(srv.out.String()), []byte("echoed "+fin[1]+" bytes to "+nat+" (<nil>)")) {
		t.Errorf("the server did not end the stream cleanly:\n%s", srv.out.String())
	}
}
