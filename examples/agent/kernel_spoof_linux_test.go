//go:build linux

package main

// Underlay admission in the kernel tier: raw VXLAN datagrams sent to
// host-b's overlay port from host-a's namespace, from an address that is
// in no tunnel zone and from host-a's own underlay address (see
// kernel_e2e_linux_test.go for the namespaces).

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/internal/vmtest"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// spoofRole runs the helper roles of the admission test:
//
//	vxlan-send SRC DST VNI HEX N   send N VXLAN datagrams with key VNI
//	                               carrying the frame HEX from SRC (an
//	                               address, any port) to DST (IP:PORT)
//	udp-watch ADDR                 print "datagram from IP:PORT: PAYLOAD"
//	                               for every datagram received on ADDR
//	http-get URL                   print the body of URL
func spoofRole(role string, args []string) (int, bool) {
	switch {
	case role == "vxlan-send" && len(args) == 5:
		return roleErr(vxlanSend(args)), true
	case role == "udp-watch" && len(args) == 1:
		return roleErr(udpWatch(args[0])), true
	case role == "http-get" && len(args) == 1:
		return roleErr(httpGetBody(args[0])), true
	}
	return 0, false
}

func vxlanSend(args []string) error {
	src, err := netip.ParseAddr(args[0])
	if err != nil {
		return err
	}
	dst, err := netip.ParseAddrPort(args[1])
	if err != nil {
		return err
	}
	vni, err := strconv.ParseUint(args[2], 0, 24)
	if err != nil {
		return err
	}
	frame, err := hex.DecodeString(args[3])
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(args[4])
	if err != nil {
		return err
	}
	c, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return err
	}
	defer c.Close()
	for range n {
		if _, err := c.Write(inproc.AppendVXLAN(nil, uint32(vni), frame)); err != nil {
			return err
		}
	}
	return nil
}

func udpWatch(addr string) error {
	c, err := net.ListenPacket("udp4", addr)
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
		fmt.Printf("datagram from %s: %s\n", from, buf[:n])
	}
}

func httpGetBody(url string) error {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(os.Stdout, resp.Body)
	return err
}

// runHelper runs role in ns to completion and returns its output.
func runHelper(ctx context.Context, t *testing.T, ns *vmtest.NetNS, name, role string, args ...string) string {
	t.Helper()
	h := startHelper(t, ns, name, role, args...)
	select {
	case <-h.done:
	case <-ctx.Done():
		t.Fatalf("%s did not finish: %v", name, ctx.Err())
	}
	if h.err != nil {
		t.Fatalf("%s: %v\n%s", name, h.err, h.out.String())
	}
	return h.out.String()
}

// agentCounter reads hivenet_agent_<name>{reason="<reason>"} (no label
// when reason is empty) from the metrics of h's agent (its default
// -listen, 127.0.0.1:9464, in h's namespace).
func agentCounter(ctx context.Context, t *testing.T, h *e2eHost, name, reason string) float64 {
	t.Helper()
	body := runHelper(ctx, t, h.ns, "metrics of "+h.name, "http-get", "http://127.0.0.1:9464/metrics")
	series := "hivenet_agent_" + name
	if reason != "" {
		series += `{reason="` + reason + `"}`
	}
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", l, err)
			}
			return f
		}
	}
	return 0
}

// waitCounter polls agentCounter until it reaches min (at most a minute).
func waitCounter(ctx context.Context, t *testing.T, h *e2eHost, name, reason string, min float64) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		v := agentCounter(ctx, t, h, name, reason)
		if v >= min {
			return v
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: hivenet_agent_%s{reason=%q} is %v, want at least %v", h.name, name, reason, v, min)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestKernelAgentsZooKeeperSpoof sends raw VXLAN datagrams to host-b's
// kernel VXLAN port: from 192.168.100.99, an address of host-a's
// namespace that is in no tunnel zone (with vm2's key, and a flow-state
// message from 192.168.100.98), and from host-a's underlay address with
// host-a's own port's key and with a key nobody announced. Each is
// dropped and counted by its reason on host-b; the non-member's later
// datagrams are dropped by a kernel flow matching the outer source,
// without coming up to the agent; nothing reaches vm2, to which the same
// frame from host-a's address with vm2's key is delivered.
func TestKernelAgentsZooKeeperSpoof(t *testing.T) {
	vmtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	e := startE2E(ctx, t)
	a, b := e.hosts[0], e.hosts[1]
	vm1, vm2 := e.vms["vm1"], e.vms["vm2"]
	intruder, intruder2 := "192.168.100.99", "192.168.100.98"
	for _, ip := range []string{intruder, intruder2} {
		a.ns.Run(t, "ip", "address", "add", ip+"/24", "dev", "ul-a")
	}
	overlay := netip.AddrPortFrom(b.underlay, agent.DefaultVXLANPort).String()
	watch := startHelper(t, vm2.ns, "udp-watch in vm2", "udp-watch", "0.0.0.0:9")
	if _, err := watch.waitOutput(ctx, regexp.MustCompile(`(?m)^listening$`)); err != nil {
		t.Fatal(err)
	}
	frame := func(payload string) string {
		var m packet.Match
		m.SetEthSrc(topology.MustParseMAC(vm1.mac))
		m.SetEthDst(topology.MustParseMAC(vm2.mac))
		m.SetEtherType(packet.EtherTypeIPv4)
		m.SetIPSrc(vm1.addr.Addr())
		m.SetIPDst(vm2.addr.Addr())
		m.SetIPProto(packet.ProtoUDP)
		m.SetIPTTL(64)
		m.SetSrcPort(40000)
		m.SetDstPort(9)
		f, err := packet.AppendFrame(nil, &m, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(f)
	}
	send := func(src string, key uint32, hexFrame string, n int) {
		runHelper(ctx, t, a.ns, "vxlan-send from "+src, "vxlan-send", src, overlay, strconv.Itoa(int(key)), hexFrame, strconv.Itoa(n))
	}
	const notMember, notLocal, unknown = "tunnel-source-not-member", "tunnel-key-not-local", "unknown-tunnel-key"

	// The non-member, with vm2's key: the first datagram comes up and is
	// counted, the agent installs a kernel flow dropping the source, and
	// the kernel drops the next ones itself.
	send(intruder, e.keys["vm2"], frame("spoof-1"), 1)
	waitCounter(ctx, t, b, "drops_total", notMember, 1)
	wantFlow(t, b, "host-b drops what the non-member tunnels in", "tunnel(", "src="+intruder, "actions:drop")
	send(intruder, e.keys["vm2"], frame("spoof-2"), 5)
	flowPacketsEventually(ctx, t, b, "the kernel drops the non-member's next datagrams", 5, "src="+intruder, "actions:drop")
	if n := agentCounter(ctx, t, b, "drops_total", notMember); n != 1 {
		t.Errorf("%v datagrams of the non-member came up to host-b's agent; want 1 (the others dropped in the kernel)", n)
	}

	// A flow-state message from another non-member is not imported.
	before := agentCounter(ctx, t, b, "flow_state_received_total", "")
	forged, err := translate.AppendFlowStateFrame(nil, []byte("not a message"))
	if err != nil {
		t.Fatal(err)
	}
	send(intruder2, translate.FlowStateTunnelKey, hex.EncodeToString(forged), 1)
	waitCounter(ctx, t, b, "drops_total", notMember, 2)
	if n := agentCounter(ctx, t, b, "flow_state_received_total", ""); n != before {
		t.Errorf("host-b took a flow-state message from a non-member (%v received, %v before)", n, before)
	}

	// The member, with a key of its own port and with an unknown key.
	send(a.underlay.String(), e.keys["vm1"], frame("foreign-key"), 1)
	waitCounter(ctx, t, b, "drops_total", notLocal, 1)
	send(a.underlay.String(), 0x0abcde, frame("unknown-key"), 1)
	waitCounter(ctx, t, b, "drops_total", unknown, 1)

	// The member, with vm2's key: delivered.
	send(a.underlay.String(), e.keys["vm2"], frame("legit"), 1)
	if _, err := watch.waitOutput(ctx, regexp.MustCompile(`datagram from 10\.1\.0\.11:40000: legit`)); err != nil {
		t.Fatalf("%v\nvm2:\n%s", err, watch.out.String())
	}
	wantFlow(t, b, "host-b delivers vm2's key from host-a's address", fmt.Sprintf("tunnel(tun_id=%#x,src=%s", e.keys["vm2"], a.underlay))
	for _, p := range []string{"spoof-1", "spoof-2", "foreign-key", "unknown-key"} {
		if strings.Contains(watch.out.String(), ": "+p) {
			t.Errorf("vm2 received the %q datagram:\n%s", p, watch.out.String())
		}
	}
	t.Logf("done (%v)", time.Since(e.start).Round(time.Millisecond))
}

// flowPacketsEventually waits (at most a minute) until h's kernel flows
// containing every part carried min packets (the kernel updates its
// statistics as packets arrive; the sender has returned before).
func flowPacketsEventually(ctx context.Context, t *testing.T, h *e2eHost, what string, min int, parts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		n, lines := 0, 0
		out := dpctl(h.ns, "dump-flows")
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
		if n >= min {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: the kernel flows on %s containing %q carried %d packets in %d flows, want at least %d; ovs-dpctl dump-flows:\n%s",
				what, h.name, parts, n, lines, min, out)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
