//go:build linux

package main

// The real-kernel end-to-end tier of the agent (runs in the VM harness,
// scripts/test-kernel.sh, with a ZooKeeper on the host):
//
//	root namespace (the test)            e2e-host-a                    e2e-host-b
//	  cluster node (API), hivectl apply
//	  ZooKeeper forwarder :P  <-- mg-a/mg0 172.30.1.0/30     mg-b/mg0 172.30.2.0/30
//	  (to 10.0.2.2:PORT, the host)        agent process (kernel dp)     agent process (kernel dp)
//	                                      ul-a 192.168.100.11 <-veth-> ul-b 192.168.100.12
//	                                      tap-vm1 -> e2e-vm1            tap-vm2 -> e2e-vm2
//	                                      tap-vm3 -> e2e-vm3            tap-vm4 -> e2e-vm4
//	                                      tap-ext -> e2e-ext
//
// The topology is examples/topologies/two-tenant-cloud.yaml with the
// provider uplink (host-c's eth1 there) bound to host-a's tap-ext, so that
// two hosts carry everything; it is created through a cluster node's REST
// API with "hivectl apply -f" (kernel_apply_linux_test.go), as an operator
// would. Every "host" and "VM" is a network namespace
// of the VM; each host runs its own agent process (this test binary
// re-executed with HIVENET_E2E_ROLE=agent under ip netns exec) on its own
// openvswitch datapath, with the ZooKeeper NSDB. Host namespaces cannot
// reach qemu's 10.0.2.2 themselves (it is reachable from the root
// namespace's eth0 only), so the test forwards TCP from a management veth
// address per host to the ZooKeeper server.

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
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/vmtest"
	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// roleEnv makes the test binary act as a helper process instead of
// running tests: the agent itself, or a traffic endpoint inside a VM
// namespace (see runRole).
const roleEnv = "HIVENET_E2E_ROLE"

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role, os.Args[1:]))
	}
	os.Exit(zktest.Run(m))
}

// runRole runs one helper role:
//
//	agent ARGS...       the agent (run) until SIGTERM
//	tcp-echo ADDR       accept TCP on ADDR; to each connection write
//	                    "peer IP:PORT\n" (its source as seen here), then
//	                    echo everything back until the peer closes
//	tcp-client ADDR N   connect to ADDR, read the peer line, send N bytes,
//	                    half-close, check the echo; print the peer line
//	icmp-watch          print "echo-request from IP" for every ICMP echo
//	                    request this namespace receives
//	tcp-stream ADDR S   connect to ADDR, read the peer line, then for S
//	                    seconds send 4 KiB every 20 ms while checking the
//	                    echo; print "progress N" (bytes echoed) four times
//	                    a second, and at the end "echoed N bytes, longest
//	                    stall D" (the longest wait between two reads)
func runRole(role string, args []string) int {
	switch role {
	case "agent":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return run(ctx, args, os.Stderr, nil)
	case "tcp-echo":
		if len(args) != 1 {
			break
		}
		return roleErr(tcpEcho(args[0]))
	case "tcp-client":
		if len(args) != 2 {
			break
		}
		n, err := strconv.Atoi(args[1])
		if err != nil {
			break
		}
		return roleErr(tcpClient(args[0], n))
	case "icmp-watch":
		return roleErr(icmpWatch())
	case "tcp-stream":
		if len(args) != 2 {
			break
		}
		n, err := strconv.Atoi(args[1])
		if err != nil {
			break
		}
		return roleErr(tcpStream(args[0], time.Duration(n)*time.Second))
	}
	if code, ok := spoofRole(role, args); ok {
		return code
	}
	fmt.Fprintf(os.Stderr, "%s=%s: bad role or arguments %q\n", roleEnv, role, args)
	return 2
}

func roleErr(err error) int {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func tcpEcho(addr string) error {
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		return err
	}
	fmt.Println("listening")
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			fmt.Printf("accepted %s\n", c.RemoteAddr())
			fmt.Fprintf(c, "peer %s\n", c.RemoteAddr())
			n, err := io.Copy(c, c)
			fmt.Printf("echoed %d bytes to %s (%v)\n", n, c.RemoteAddr(), err)
		}()
	}
}

func tcpClient(addr string, n int) error {
	c, err := net.DialTimeout("tcp4", addr, 20*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReader(c)
	peer, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the peer line: %w", err)
	}
	fmt.Print(peer)
	sent := make([]byte, n)
	for i := range sent {
		sent[i] = byte(i*7 + i>>8)
	}
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(sent)
		if err == nil {
			err = c.(*net.TCPConn).CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("reading the echo: %w (%d bytes)", err, len(got))
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("sending: %w", err)
	}
	if !bytes.Equal(got, sent) {
		return fmt.Errorf("echo of %d bytes differs from the %d sent", len(got), len(sent))
	}
	fmt.Printf("echoed %d bytes\n", len(got))
	return nil
}

func icmpWatch() error {
	c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		return err
	}
	fmt.Println("listening")
	buf := make([]byte, 2048)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return err
		}
		if n > 0 && buf[0] == 8 {
			fmt.Printf("echo-request from %s\n", from)
		}
	}
}

// syncBuffer is an io.Writer safe for concurrent writes and reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// helper is a process of this test binary in a namespace.
type helper struct {
	name string
	cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{}
	err  error
}

// startHelper runs this binary with role in the namespace ns; it is
// stopped (SIGTERM, then SIGKILL) when the test ends.
func startHelper(t *testing.T, ns *vmtest.NetNS, name, role string, args ...string) *helper {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return startProcess(t, name, ns.Command(append([]string{self}, args...)...), []string{roleEnv + "=" + role})
}

// startProcess runs argv with env added to the test's environment; it is
// stopped (SIGTERM, then SIGKILL) when the test ends.
func startProcess(t *testing.T, name string, argv, env []string) *helper {
	t.Helper()
	h := &helper{name: name, done: make(chan struct{})}
	h.cmd = exec.Command(argv[0], argv[1:]...)
	h.cmd.Env = append(os.Environ(), env...)
	h.cmd.Stdout, h.cmd.Stderr = &h.out, &h.out
	// ip netns exec execs the binary: the signal reaches it, and it dies
	// with the test.
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { h.err = h.cmd.Wait(); close(h.done) }()
	t.Cleanup(func() { h.stop(t) })
	return h
}

func (h *helper) stop(t *testing.T) {
	select {
	case <-h.done:
		return
	default:
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not stop within 30 s of SIGTERM; killing it", h.name)
		_ = h.cmd.Process.Kill()
		<-h.done
	}
}

// waitOutput polls h's output until it matches re, h exits or ctx ends.
func (h *helper) waitOutput(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := re.FindStringSubmatch(h.out.String()); m != nil {
			return m, nil
		}
		select {
		case <-h.done:
			if m := re.FindStringSubmatch(h.out.String()); m != nil {
				return m, nil
			}
			return nil, fmt.Errorf("%s exited (%v) before printing %q", h.name, h.err, re)
		case <-ctx.Done():
			return nil, fmt.Errorf("%s did not print %q: %w", h.name, re, ctx.Err())
		case <-tick.C:
		}
	}
}

// forwardTCP accepts connections on ln and forwards each to dst until the
// test ends.
func forwardTCP(t *testing.T, ln net.Listener, dst string) {
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			c.Close()
		}
	})
	track := func(c net.Conn, on bool) {
		mu.Lock()
		defer mu.Unlock()
		if on {
			conns[c] = true
		} else {
			delete(conns, c)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := net.DialTimeout("tcp", dst, 10*time.Second)
				if err != nil {
					in.Close()
					return
				}
				track(in, true)
				track(out, true)
				done := make(chan struct{}, 2)
				cp := func(w, r net.Conn) {
					_, _ = io.Copy(w, r)
					w.Close()
					r.Close()
					done <- struct{}{}
				}
				go cp(out, in)
				go cp(in, out)
				<-done
				<-done
				track(in, false)
				track(out, false)
			}()
		}
	}()
}

// TestKernelAgentsZooKeeper runs two agent processes, each in its own
// "host" network namespace with its own openvswitch kernel datapath,
// sharing a real ZooKeeper on the machine running the VM, and sends real
// traffic between VM namespaces: L2 across the VXLAN tunnel, L3 through
// three routers, SNAT to an external namespace behind the uplink, and a
// TCP connection over the SNAT path.
func TestKernelAgentsZooKeeper(t *testing.T) {
	vmtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	e := startE2E(ctx, t)
	a, b, vms, keys, start := e.hosts[0], e.hosts[1], e.vms, e.keys, e.start
	ext := vms["ext"]

	t.Run("L2", func(t *testing.T) {
		vm1, vm2 := vms["vm1"], vms["vm2"]
		pingUntil(ctx, t, vm1.ns, vm2.addr.Addr())
		if err := vmtest.Ping(t, vm1.ns, vm2.addr.Addr(), 3); err != nil {
			t.Fatalf("vm1 (host-a) -> vm2 (host-b) on tenant-a-net: %v", err)
		}
		// Host-a tunnels to host-b, host-b receives from host-a: in the
		// kernel datapaths, not around them.
		wantFlow(t, a, "host-a tunnels vm1's frames to vm2 on host-b",
			fmt.Sprintf("set(tunnel(tun_id=%#x,src=192.168.100.11,dst=192.168.100.12,", keys["vm2"]))
		wantFlow(t, b, "host-b delivers frames tunnelled to vm2", fmt.Sprintf("tunnel(tun_id=%#x,", keys["vm2"]), "in_port(1)")

		// A TCP connection across the bridge goes through megaflows in
		// both kernels, both ways.
		srv := startHelper(t, vm2.ns, "tcp-echo in vm2", "tcp-echo", "0.0.0.0:22")
		if _, err := srv.waitOutput(ctx, regexp.MustCompile(`(?m)^listening$`)); err != nil {
			t.Fatal(err)
		}
		const size = 100 << 10
		cli := startHelper(t, vm1.ns, "tcp-client in vm1", "tcp-client", netip.AddrPortFrom(vm2.addr.Addr(), 22).String(), strconv.Itoa(size))
		select {
		case <-cli.done:
		case <-ctx.Done():
			t.Fatalf("the TCP client did not finish: %v\n%s", ctx.Err(), cli.out.String())
		}
		if cli.err != nil || !strings.Contains(cli.out.String(), fmt.Sprintf("echoed %d bytes", size)) {
			t.Fatalf("TCP vm1 -> vm2:22 across L2: %v\nclient:\n%s\nserver:\n%s", cli.err, cli.out.String(), srv.out.String())
		}
		if m := regexp.MustCompile(`peer (\S+)`).FindStringSubmatch(cli.out.String()); m == nil || !strings.HasPrefix(m[1], vm1.addr.Addr().String()+":") {
			t.Errorf("vm2 saw the connection from %v, want vm1's own address %s:\n%s", m, vm1.addr.Addr(), cli.out.String())
		}
		flowPackets(t, a, "host-a tunnels vm1's segments to vm2", 10, "tcp(", fmt.Sprintf("set(tunnel(tun_id=%#x,", keys["vm2"]))
		flowPackets(t, b, "host-b delivers the segments tunnelled to vm2", 10, fmt.Sprintf("tunnel(tun_id=%#x,", keys["vm2"]), "in_port(1)")
		flowPackets(t, b, "host-b tunnels vm2's segments back to vm1", 10, "tcp(", fmt.Sprintf("set(tunnel(tun_id=%#x,", keys["vm1"]))
		flowPackets(t, a, "host-a delivers the segments tunnelled to vm1", 10, fmt.Sprintf("tunnel(tun_id=%#x,", keys["vm1"]), "in_port(1)")
	})

	t.Run("L3", func(t *testing.T) {
		vm1, vm4 := vms["vm1"], vms["vm4"]
		pingUntil(ctx, t, vm1.ns, vm4.addr.Addr())
		if err := vmtest.Ping(t, vm1.ns, vm4.addr.Addr(), 3); err != nil {
			t.Fatalf("vm1 (tenant A, host-a) -> vm4 (tenant B, host-b): %v", err)
		}
		// The reply crossed tenant-b, provider and tenant-a: TTL 64-3.
		out := vm1.ns.Run(t, "ping", "-c", "1", "-W", "5", vm4.addr.Addr().String())
		if !strings.Contains(out, "ttl=61") {
			t.Errorf("vm4's reply did not cross three routers (want ttl=61):\n%s", out)
		}
		// Echo requests through the stateful security groups depend on the
		// ICMP identifier, which megaflows cannot match: host-a executes
		// them from userspace, and each ping (a new identifier, a new
		// connection) pushes flow state first, so host-b takes it from
		// userspace too. A TCP connection to vm4's port 22 (open in its
		// security group) goes through kernel flows: vm1 leaves with its
		// floating IP, and host-b's kernel delivers the segments tunnelled
		// to vm4 with a flow of its own.
		vm4srv := startHelper(t, vm4.ns, "tcp-echo in vm4", "tcp-echo", "0.0.0.0:22")
		if _, err := vm4srv.waitOutput(ctx, regexp.MustCompile(`(?m)^listening$`)); err != nil {
			t.Fatal(err)
		}
		const size = 100 << 10
		cli := startHelper(t, vm1.ns, "tcp-client in vm1", "tcp-client", netip.AddrPortFrom(vm4.addr.Addr(), 22).String(), strconv.Itoa(size))
		select {
		case <-cli.done:
		case <-ctx.Done():
			t.Fatalf("the TCP client did not finish: %v\n%s", ctx.Err(), cli.out.String())
		}
		if cli.err != nil || !strings.Contains(cli.out.String(), fmt.Sprintf("echoed %d bytes", size)) {
			t.Fatalf("TCP vm1 -> vm4:22 through three routers: %v\nclient:\n%s\nserver:\n%s", cli.err, cli.out.String(), vm4srv.out.String())
		}
		if m := regexp.MustCompile(`peer (\S+)`).FindStringSubmatch(cli.out.String()); m == nil || !strings.HasPrefix(m[1], "203.0.113.11:") {
			t.Errorf("vm4 saw the connection from %v, want vm1's floating IP 203.0.113.11:\n%s", m, cli.out.String())
		}
		// Each direction went through megaflows in each kernel: host-a
		// routes vm1's segments (source-NATed to the floating IP) and
		// tunnels them, host-b delivers them; host-b routes vm4's replies
		// back and tunnels them, host-a delivers them to vm1.
		flowPackets(t, a, "host-a translates and tunnels vm1's segments to vm4", 10, "tcp(", "src=10.1.0.11", fmt.Sprintf("set(tunnel(tun_id=%#x,", keys["vm4"]))
		flowPackets(t, b, "host-b delivers packets tunnelled to vm4", 10, fmt.Sprintf("tunnel(tun_id=%#x,", keys["vm4"]), "in_port(1)")
		flowPackets(t, b, "host-b routes and tunnels vm4's replies to vm1", 10, "tcp(", "src=10.2.0.14", fmt.Sprintf("set(tunnel(tun_id=%#x,", keys["vm1"]))
		flowPackets(t, a, "host-a delivers the replies tunnelled to vm1", 10, fmt.Sprintf("tunnel(tun_id=%#x,", keys["vm1"]), "in_port(1)")
	})

	t.Run("SNAT", func(t *testing.T) {
		vm2 := vms["vm2"]
		watch := startHelper(t, ext.ns, "icmp-watch in ext", "icmp-watch")
		if _, err := watch.waitOutput(ctx, regexp.MustCompile(`(?m)^listening$`)); err != nil {
			t.Fatal(err)
		}
		dst := ext.addr.Addr()
		pingUntil(ctx, t, vm2.ns, dst)
		if err := vmtest.Ping(t, vm2.ns, dst, 3); err != nil {
			t.Fatalf("vm2 (host-b) -> ext behind provider-uplink (host-a): %v", err)
		}
		if m, err := watch.waitOutput(ctx, regexp.MustCompile(`echo-request from (\S+)`)); err != nil {
			t.Fatal(err)
		} else if m[1] != "203.0.113.10" {
			t.Errorf("ext saw vm2's echo requests from %s, want the SNAT address 203.0.113.10", m[1])
		}
		if strings.Contains(watch.out.String(), "from 10.1.0.12") {
			t.Errorf("ext saw vm2's untranslated address:\n%s", watch.out.String())
		}
	})

	t.Run("TCP-SNAT", func(t *testing.T) {
		vm2 := vms["vm2"]
		srv := startHelper(t, ext.ns, "tcp-echo in ext", "tcp-echo", "0.0.0.0:8080")
		if _, err := srv.waitOutput(ctx, regexp.MustCompile(`(?m)^listening$`)); err != nil {
			t.Fatal(err)
		}
		const size = 200 << 10
		cli := startHelper(t, vm2.ns, "tcp-client in vm2", "tcp-client", netip.AddrPortFrom(ext.addr.Addr(), 8080).String(), strconv.Itoa(size))
		select {
		case <-cli.done:
		case <-ctx.Done():
			t.Fatalf("the TCP client did not finish: %v\n%s", ctx.Err(), cli.out.String())
		}
		out := cli.out.String()
		if cli.err != nil {
			t.Fatalf("TCP vm2 -> ext:8080 over SNAT: %v\nclient:\n%s\nserver:\n%s", cli.err, out, srv.out.String())
		}
		m := regexp.MustCompile(`peer (\S+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no peer line from the server:\n%s", out)
		}
		peer, err := netip.ParseAddrPort(m[1])
		if err != nil || peer.Addr() != netip.MustParseAddr("203.0.113.10") || peer.Port() < 1024 {
			t.Errorf("ext saw the connection from %s, want 203.0.113.10:1024-65535", m[1])
		}
		if !strings.Contains(out, fmt.Sprintf("echoed %d bytes", size)) {
			t.Errorf("client output:\n%s", out)
		}
		if _, err := srv.waitOutput(ctx, regexp.MustCompile(fmt.Sprintf(`echoed %d bytes to 203\.0\.113\.10:\d+ \(<nil>\)`, size))); err != nil {
			t.Errorf("%v\nserver:\n%s", err, srv.out.String())
		}
		// The connection's packets went through megaflows in both
		// kernels: host-b translates vm2's segments and tunnels them,
		// host-a translates the replies back.
		flowPackets(t, b, "host-b source-NATs vm2's TCP segments", 10, "src=10.1.0.12", "tcp(", "203.0.113.10")
		flowPackets(t, a, "host-a reverse-translates ext's TCP segments", 10, "src=198.51.100.1", "tcp(", "10.1.0.12")
	})
	t.Logf("done (%v)", time.Since(start).Round(time.Millisecond))
}

// waitActive waits (at most two minutes) until port is announced active
// by host in the NSDB and returns its tunnel key.
func waitActive(ctx context.Context, t *testing.T, c nsdb.Client, port, host topology.ID, name string) uint32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var last []nsdb.KeyValue
	for {
		vals, err := c.StateKeys().Get(ctx, nsdb.KeyPortActive(), port)
		if err == nil {
			last = vals
			for _, v := range vals {
				if s, err := nsdb.ParsePortState(v.Value); err == nil && s.Host == host {
					return s.TunnelKey
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("port of %s never announced active by its host (last %v, err %v)", name, last, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// pingUntil pings dst from ns, one echo request at a time, until one is
// answered (at most two minutes): the first packets of a path wait for ARP
// resolutions and the remote agent's tunnel keys.
func pingUntil(ctx context.Context, t *testing.T, ns *vmtest.NetNS, dst netip.Addr) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var err error
	for i := 0; ; i++ {
		if err = vmtest.Ping(t, ns, dst, 1); err == nil {
			if i > 0 {
				t.Logf("%s reached %s after %d lost pings", ns.Name(), dst, i)
			}
			return
		}
		if !errors.Is(err, vmtest.ErrPing) || ctx.Err() != nil {
			t.Fatalf("%s cannot reach %s: %v", ns.Name(), dst, err)
		}
	}
}

// wantFlow returns the first flow of h's kernel datapath (ovs-dpctl
// dump-flows) that contains every one of parts, failing the test if none
// does.
func wantFlow(t *testing.T, h *e2eHost, what string, parts ...string) string {
	t.Helper()
	out := dpctl(h.ns, "dump-flows")
next:
	for _, l := range strings.Split(out, "\n") {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		return l
	}
	t.Errorf("%s: no kernel flow on %s contains %q; ovs-dpctl dump-flows:\n%s", what, h.name, parts, out)
	return ""
}

// flowPackets sums the packet counts of h's kernel flows whose line
// contains every part, and fails the test if they carried fewer than min:
// the traffic went through that kernel's megaflows, not around them.
func flowPackets(t *testing.T, h *e2eHost, what string, min int, parts ...string) int {
	t.Helper()
	out := dpctl(h.ns, "dump-flows")
	n, lines := 0, 0
next:
	for _, l := range strings.Split(out, "\n") {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		n += packets(l)
		lines++
	}
	if n < min {
		t.Errorf("%s: the kernel flows on %s containing %q carried %d packets in %d flows, want at least %d; ovs-dpctl dump-flows:\n%s", what, h.name, parts, n, lines, min, out)
	}
	return n
}

var packetsRe = regexp.MustCompile(`packets:(\d+)`)

// packets returns the packet count of an ovs-dpctl flow line.
func packets(line string) int {
	m := packetsRe.FindStringSubmatch(line)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
