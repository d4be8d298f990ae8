package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/simulation/packet"
)

// errExpectation reports a scenario whose expectation did not hold.
var errExpectation = errors.New("sandbox: expectation failed")

// scenario is one traffic experiment with its expectations.
type scenario struct {
	Name        string
	Description string
	// (agent.Config.FlowState).
	Run func(ctx context.Context, e *sandbox.Env) error
}

func fail(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errExpectation}, args...)...)
}

func isEchoRequest(p *sandbox.Packet) bool {
	v := p.View()
	return v.IPProto() == packet.ProtoICMP && v.ICMPType() == packet.ICMPEchoRequest
}

func isTCPFrom(sport uint16) func(*sandbox.Packet) bool {
	return func(p *sandbox.Packet) bool {
		v := p.View()
		return v.EtherType() == packet.EtherTypeIPv4 && v.IPProto() == packet.ProtoTCP && v.SrcPort() == sport
	}
}

func isTCP(dport uint16) func(*sandbox.Packet) bool {
	return func(p *sandbox.Packet) bool {
		v := p.View()
		return v.EtherType() == packet.EtherTypeIPv4 && v.IPProto() == packet.ProtoTCP && v.DstPort() == dport
	}
}

// tunnelFlow reports whether host installed a flow sending to the tunnel
// key of port over the tunnel to dst.
func tunnelFlow(h *sandbox.Host, key uint32, dst netip.Addr) bool {
	for _, f := range h.Agent().Flows(context.Background()) {
		for _, a := range f.Actions {
			if s, ok := a.(datapath.Set[datapath.TunnelKey]); ok && uint32(s.Value.ID) == key && s.Value.Dst == dst {
				return true
			}
		}
	}
	return false
}

// twoTenantScenarios are the sandbox's scenarios on the two-tenant
// topology.
func twoTenantScenarios() []scenario {
	return []scenario{
		{
			Name:        "l2-across-hosts",
			Description: "vm1 (host-a) pings vm2 (host-b) on tenant-a-net: bridged, VXLAN between the hosts",
			Run: func(ctx context.Context, e *sandbox.Env) error {
				vm1, vm2 := e.VMs["vm1"], e.VMs["vm2"]
				r, err := vm1.Ping(ctx, vm2.Addr())
				if err != nil {
					return err
				}
				e.Printf("    vm1 got the echo reply from %s\n", r.View().IPSrc())
				if r.View().IPSrc() != vm2.Addr() {
					return fail("the reply came from %s, want %s", r.View().IPSrc(), vm2.Addr())
				}
				if req, ok := vm1.LastSent(isEchoRequest); !ok || !bytes.Equal(payload(req), payload(r)) || len(payload(r)) == 0 {
					return fail("the echo reply's payload %x is not the request's", payload(r))
				}
				e.Trace(vm1, "vm1", isEchoRequest)
				a, b := e.Cluster.Host("host-a"), e.Cluster.Host("host-b")
				p2, _ := e.Cluster.Port("vm2")
				key, ok := b.Agent().TunnelKey(p2.ID)
				if !ok {
					return fail("host-b announced no tunnel key for vm2")
				}
				// With connection tracking, pings are executed from
				// userspace (the ICMP identifier) and their ARP flows
				// are invalidated as MACs are learned: a UDP datagram
				// gets a lasting kernel flow. While host-a has not yet
				// learned vm2's MAC (the table replicates through the
				// NSDB), the datagram is flooded, and that flow goes
				// when the MAC arrives: send again until the unicast
				// flow is there.
				var sent time.Time
				var sendErr error
				if err := sandbox.Eventually(ctx, "a flow on host-a tunnelling to vm2", func() bool {
					if tunnelFlow(a, key, b.Underlay) {
						return true
					}
					if time.Since(sent) > 100*time.Millisecond {
						sent = time.Now()
						_, sendErr = vm1.SendUDP(ctx, vm2.Addr(), 40009, 9, false)
					}
					return sendErr != nil // stop on a failed send
				}); err != nil || sendErr != nil {
					if sendErr != nil {
						return sendErr
					}
					return fail("host-a has no flow tunnelling to vm2 (key %#x) at %s: %v", key, b.Underlay, err)
				}
				e.Printf("    host-a tunnels to vm2 with key %#x to %s\n", key, b.Underlay)
				return nil
			},
		},
		{
			Name:        "routed",
			Description: "vm1 (tenant A, host-a) pings vm4 (tenant B, host-b) through tenant-a, provider and tenant-b routers",
			Run: func(ctx context.Context, e *sandbox.Env) error {
				vm1, vm4 := e.VMs["vm1"], e.VMs["vm4"]
				r, err := vm1.Ping(ctx, vm4.Addr())
				if err != nil {
					return err
				}
				req, err := vm4.WaitFor(ctx, isEchoRequest)
				if err != nil {
					return err
				}
				e.Printf("    vm4 got the echo request from %s, TTL %d (three routers); vm1 got the reply from %s\n",
					req.View().IPSrc(), req.View().IPTTL(), r.View().IPSrc())
				if ttl := req.View().IPTTL(); ttl != 61 {
					return fail("vm4 got the request with TTL %d, want 61", ttl)
				}
				// With NAT, tenant-a's floating-IP rule rewrites vm1's
				// source; the reply is a return flow, which tenant-b's
				// dynamic SNAT must leave alone.
				src := vm1.Addr()
				if e.Cluster.Stateful() {
					src = netip.MustParseAddr("203.0.113.11")
				}
				if req.View().IPSrc() != src {
					return fail("vm4 got the request from %s, want %s", req.View().IPSrc(), src)
				}
				if r.View().IPSrc() != vm4.Addr() {
					return fail("vm1 got the reply from %s, want %s", r.View().IPSrc(), vm4.Addr())
				}
				e.Trace(vm1, "vm1", isEchoRequest)
				return nil
			},
		},
		{
			Name:        "uplink",
			Description: "vm3 pings the upstream gateway behind provider-uplink (host-c); the provider router resolves it with ARP",
			Run: func(ctx context.Context, e *sandbox.Env) error {
				vm3, ext := e.VMs["vm3"], e.VMs["ext"]
				r, err := vm3.Ping(ctx, ext.Addr())
				if err != nil {
					return err
				}
				req, err := ext.WaitFor(ctx, func(p *sandbox.Packet) bool { return isEchoRequest(p) && p.View().IPDst() == ext.Addr() })
				if err != nil {
					return err
				}
				e.Printf("    ext got the echo request from %s; vm3 got the reply from %s\n", req.View().IPSrc(), r.View().IPSrc())
				src := vm3.Addr()
				if e.Cluster.Stateful() {
					src = netip.MustParseAddr("203.0.113.17")
				}
				if req.View().IPSrc() != src {
					return fail("ext got the request from %s, want %s", req.View().IPSrc(), src)
				}
				if r.View().IPSrc() != ext.Addr() {
					return fail("vm3 got the reply from %s, want %s", r.View().IPSrc(), ext.Addr())
				}
				e.Trace(vm3, "vm3", isEchoRequest)
				return nil
			},
		},
		{
			Name: "security-group-drop",
			Description: "vm3 (tenant B, host-a) sends TCP SYNs to vm2 (tenant A, host-b): port 80 is dropped by tenant-a-sg; " +
				"port 22 is allowed and, with connection tracking, the handshake completes through tenant-b's source NAT to 203.0.113.17",
			Run: securityGroupScenario,
		},
		{
			Name: "snat-uplink",
			Description: "vm2 pings an internet address: tenant-a source-NATs it to 203.0.113.10 on the way out and translates the reply back " +
				"(without connection tracking and NAT, the request leaves with vm2's own address and the reply is routed back untranslated)",
			Run: func(ctx context.Context, e *sandbox.Env) error {
				vm2, ext := e.VMs["vm2"], e.VMs["ext"]
				dst := netip.MustParseAddr("192.0.2.80")
				if !e.Cluster.Stateful() {
					return untranslatedWithoutNAT(ctx, e, vm2, ext, dst, vm2.Addr())
				}
				r, err := vm2.Ping(ctx, dst)
				if err != nil {
					return err
				}
				req, err := ext.WaitFor(ctx, func(p *sandbox.Packet) bool { return isEchoRequest(p) && p.View().IPDst() == dst })
				if err != nil {
					return err
				}
				src := req.View().IPSrc()
				e.Printf("    ext saw the echo request from %s; vm2 got the reply from %s\n", src, r.View().IPSrc())
				if src != netip.MustParseAddr("203.0.113.10") {
					return fail("the request left with source %s, want 203.0.113.10", src)
				}
				if r.View().IPSrc() != dst {
					return fail("the reply came from %s, want %s", r.View().IPSrc(), dst)
				}
				e.Trace(vm2, "vm2", isEchoRequest)
				return nil
			},
		},
		{
			Name: "floating-ip",
			Description: "ext pings vm1's floating IP 203.0.113.11: DNAT to 10.1.0.11 in, SNAT back out " +
				"(without connection tracking and NAT, nothing answers the floating IP and vm1 sees nothing)",
			Run: func(ctx context.Context, e *sandbox.Env) error {
				vm1, ext := e.VMs["vm1"], e.VMs["ext"]
				fip := netip.MustParseAddr("203.0.113.11")
				if !e.Cluster.Stateful() {
					return floatingIPWithoutNAT(ctx, e, ext, vm1, fip)
				}
				r, err := ext.Ping(ctx, fip)
				if err != nil {
					return err
				}
				req, err := vm1.WaitFor(ctx, isEchoRequest)
				if err != nil {
					return err
				}
				e.Printf("    vm1 got the request for %s; ext got the reply from %s\n", req.View().IPDst(), r.View().IPSrc())
				if req.View().IPDst() != vm1.Addr() {
					return fail("vm1 got the request for %s", req.View().IPDst())
				}
				if r.View().IPSrc() != fip {
					return fail("the reply came from %s, want %s", r.View().IPSrc(), fip)
				}
				return nil
			},
		},
	}
}

// hasDropFlow reports whether h installed a drop flow for TCP port dport.
func hasDropFlow(h *sandbox.Host, dport uint16) bool {
	for _, f := range h.Agent().Flows(context.Background()) {
		if len(f.Actions) == 0 && f.Key.Fields&datapath.KeyTCP != 0 && f.Key.TCP.Dst == dport {
			return true
		}
	}
	return false
}

// tcpSegment matches a TCP segment from src:sport to dst:dport with
// exactly flags.
func tcpSegment(src netip.Addr, sport uint16, dst netip.Addr, dport uint16, flags uint16) func(*sandbox.Packet) bool {
	return func(p *sandbox.Packet) bool {
		v := p.View()
		return v.EtherType() == packet.EtherTypeIPv4 && v.IPProto() == packet.ProtoTCP && v.TCPFlags() == flags &&
			v.IPSrc() == src && v.SrcPort() == sport && v.IPDst() == dst && v.DstPort() == dport
	}
}

// securityGroupScenario: vm3 connects to vm2 on ports 80 and 22. vm2's
// security group (tenant-a-sg) drops the SYN to 80 and admits the SYN to
// 22, which tenant-b source-NATs to 203.0.113.17 (host-a simulates it and
// pushes the connection's flow state to host-b). vm2's SYN-ACK, simulated
// on host-b, is a return flow: tenant-a must not source-NAT it, tenant-b
// reverse-NATs it to vm3's address and port, and vm3's security group
// admits it. The ACK and a data segment then follow the installed flows.
// Without connection tracking (Stateful off) nothing is NATed and vm3's
// security group cannot tell the SYN-ACK from a new connection: it must
// drop it.
func securityGroupScenario(ctx context.Context, e *sandbox.Env) error {
	vm3, vm2 := e.VMs["vm3"], e.VMs["vm2"]
	a, b := e.Cluster.Host("host-a"), e.Cluster.Host("host-b")
	const sport, dport = 40022, 22
	// Whatever vm2 answers, to vm3's source port.
	answer := func(p *sandbox.Packet) bool { return isTCPFrom(dport)(p) && p.View().DstPort() == sport }
	if _, err := vm3.SendTCP(ctx, vm2.Addr(), 40080, 80, packet.TCPSyn, false); err != nil {
		return err
	}
	if _, err := vm3.SendTCP(ctx, vm2.Addr(), sport, dport, packet.TCPSyn, false); err != nil {
		return err
	}
	syn, err := vm2.WaitFor(ctx, isTCP(dport))
	if err != nil {
		return fail("the SYN to port 22 did not arrive: %v", err)
	}
	if err := sandbox.Eventually(ctx, "a drop flow for the SYN to port 80 on host-a", func() bool { return hasDropFlow(a, 80) }); err != nil {
		return fail("%v", err)
	}
	if n := vm2.Count(isTCP(80)); n != 0 {
		return fail("vm2 received %d SYNs to port 80", n)
	}
	src, nport := syn.View().IPSrc(), syn.View().SrcPort()
	e.Printf("    vm2 got the SYN to port 22 from %s:%d and none to port 80; host-a installed a drop flow\n", src, nport)
	e.Trace(vm3, "vm3", isTCP(80))
	if !e.Cluster.Stateful() {
		if src != vm3.Addr() || nport != sport {
			return fail("without NAT vm2 got the SYN from %s:%d, want %s:%d", src, nport, vm3.Addr(), sport)
		}
		if err := sandbox.Eventually(ctx, "a drop flow for vm2's SYN-ACK on host-b", func() bool { return hasDropFlow(b, sport) }); err != nil {
			return fail("%v", err)
		}
		if n := vm3.Count(answer); n != 0 {
			return fail("without connection tracking vm3 received %d segments from port 22", n)
		}
		e.Printf("    without connection tracking vm3's security group drops vm2's SYN-ACK (drop flow on host-b)\n")
		return nil
	}
	snat := netip.MustParseAddr("203.0.113.17")
	if src != snat {
		return fail("vm2 got the SYN from %s, want tenant-b's SNAT address %s", src, snat)
	}
	synAck, err := vm3.WaitFor(ctx, answer)
	if err != nil {
		e.Trace(vm2, "vm2", isTCPFrom(dport))
		return fail("vm2's SYN-ACK did not reach vm3: %v", err)
	}
	if !tcpSegment(vm2.Addr(), dport, vm3.Addr(), sport, packet.TCPSyn|packet.TCPAck)(synAck) {
		return fail("vm3 got the SYN-ACK as %v, want %s:%d -> %s:%d SYN|ACK", synAck, vm2.Addr(), dport, vm3.Addr(), sport)
	}
	e.Printf("    vm3 got the SYN-ACK from %s:%d (reverse-NATed on host-b)\n", synAck.View().IPSrc(), synAck.View().SrcPort())
	e.Trace(vm2, "vm2", isTCPFrom(dport))
	if _, err := vm3.SendTCP(ctx, vm2.Addr(), sport, dport, packet.TCPAck, false); err != nil {
		return err
	}
	if _, err := vm2.WaitFor(ctx, tcpSegment(snat, nport, vm2.Addr(), dport, packet.TCPAck)); err != nil {
		return fail("vm3's ACK did not reach vm2 from %s:%d: %v", snat, nport, err)
	}
	data := []byte("SSH-2.0-hivenet-sandbox\r\n")
	if err := vm2.SendTCPData(ctx, snat, dport, nport, packet.TCPPsh|packet.TCPAck, data); err != nil {
		return err
	}
	got, err := vm3.WaitFor(ctx, tcpSegment(vm2.Addr(), dport, vm3.Addr(), sport, packet.TCPPsh|packet.TCPAck))
	if err != nil {
		return fail("vm2's data segment did not reach vm3: %v", err)
	}
	if !bytes.HasSuffix(got.Frame, data) {
		return fail("vm3 got vm2's data segment without its payload")
	}
	e.Printf("    the ACK reached vm2 from %s:%d and vm2's data segment reached vm3\n", snat, nport)
	// The next data segment follows the flows the first one installed: no
	// upcall on either host.
	missA, missB := a.Datapath.Stats().Missed, b.Datapath.Stats().Missed
	more := []byte("more data\r\n")
	if err := vm2.SendTCPData(ctx, snat, dport, nport, packet.TCPPsh|packet.TCPAck, more); err != nil {
		return err
	}
	if _, err := vm3.WaitFor(ctx, func(p *sandbox.Packet) bool {
		return tcpSegment(vm2.Addr(), dport, vm3.Addr(), sport, packet.TCPPsh|packet.TCPAck)(p) && bytes.HasSuffix(p.Frame, more)
	}); err != nil {
		return fail("vm2's second data segment did not reach vm3: %v", err)
	}
	if da, db := a.Datapath.Stats().Missed-missA, b.Datapath.Stats().Missed-missB; da != 0 || db != 0 {
		return fail("vm2's second data segment caused %d upcalls on host-a and %d on host-b, want none (kernel flows)", da, db)
	}
	e.Printf("    vm2's second data segment went through the installed flows: no upcall on either host\n")
	return nil
}

// runScenarios runs scenarios on e, each with its own timeout, printing
// what happened, and returns the names of the failed ones. Every scenario
// runs with and without flow state, checking what each mode must do.
func runScenarios(ctx context.Context, e *sandbox.Env, scenarios []scenario, timeout time.Duration) (failed []string) {
	for _, s := range scenarios {
		e.Printf("== %s: %s\n", s.Name, s.Description)
		sctx, cancel := context.WithTimeout(ctx, timeout)
		err := s.Run(sctx, e)
		cancel()
		if err != nil {
			e.Printf("   FAIL: %v\n", err)
			failed = append(failed, s.Name)
			continue
		}
		e.Printf("   ok\n")
	}
	return failed
}

// notWithin is how long a scenario waits for a packet that must not come.
// Every hop of the sandbox is in-process (a simulation and a loopback UDP
// datagram per host): an answer that came would come within milliseconds,
// so a second is ample, and the positive checks before each such wait show
// the path itself works.
const notWithin = time.Second

// untranslatedWithoutNAT: without NAT, vm's ping to dst leaves with its own
// address src (ext sees it), and the reply is routed back to it (the
// provider router routes the tenant subnets), untranslated.
func untranslatedWithoutNAT(ctx context.Context, e *sandbox.Env, vm, ext *sandbox.VM, dst, src netip.Addr) error {
	r, err := vm.Ping(ctx, dst)
	if err != nil {
		return err
	}
	req, err := ext.WaitFor(ctx, func(p *sandbox.Packet) bool { return isEchoRequest(p) && p.View().IPDst() == dst })
	if err != nil {
		return fail("the echo request never reached ext: %v", err)
	}
	if req.View().IPSrc() != src {
		return fail("ext saw the request from %s, want the untranslated %s", req.View().IPSrc(), src)
	}
	if r.View().IPSrc() != dst {
		return fail("the reply came from %s, want %s", r.View().IPSrc(), dst)
	}
	e.Printf("    without NAT ext saw the request from %s itself, and the reply was routed back\n", src)
	return nil
}

// floatingIPWithoutNAT: without DNAT, ext's ping to the floating IP gets no
// answer and vm sees no echo request.
func floatingIPWithoutNAT(ctx context.Context, e *sandbox.Env, ext, vm *sandbox.VM, fip netip.Addr) error {
	pctx, cancel := context.WithTimeout(ctx, notWithin)
	defer cancel()
	if r, err := ext.Ping(pctx, fip); err == nil {
		return fail("ext got a reply from %s for the floating IP without NAT", r.View().IPSrc())
	}
	if vm.Count(func(p *sandbox.Packet) bool { return isEchoRequest(p) && p.View().IPSrc() == ext.Addr() }) > 0 {
		return fail("%s got an echo request without DNAT", vm.Name())
	}
	e.Printf("    without NAT the floating IP %s does not answer and %s saw nothing\n", fip, vm.Name())
	return nil
}

// payload returns what follows p's transport header (an ICMP echo's data).
func payload(p *sandbox.Packet) []byte {
	l := p.Match.Layout()
	if int(l.Payload) > len(p.Frame) || l.Payload > l.End {
		return nil
	}
	return p.Frame[l.Payload:l.End]
}
