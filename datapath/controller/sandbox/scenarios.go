package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// ErrExpectation reports a scenario whose expectation did not hold.
var ErrExpectation = errors.New("sandbox: expectation failed")

// TwoTenantVMs are the VMs of examples/topologies/two-tenant-cloud.yaml, by
// port name: the four tenant VMs (addresses from the file's DHCP hosts) and
// "ext", the upstream gateway behind provider-uplink on host-c, which
// stands for the internet (it answers pings to any address, accepts TCP on
// 80 and 443 and echoes UDP on 53).
var TwoTenantVMs = map[string]VMConfig{
	"vm1":             {Name: "vm1", MAC: topology.MustParseMAC("fa:16:3e:0a:00:11"), Addr: netip.MustParsePrefix("10.1.0.11/24"), Gateway: netip.MustParseAddr("10.1.0.1"), TCPListen: []uint16{22, 80}},
	"vm2":             {Name: "vm2", MAC: topology.MustParseMAC("fa:16:3e:0a:00:12"), Addr: netip.MustParsePrefix("10.1.0.12/24"), Gateway: netip.MustParseAddr("10.1.0.1"), TCPListen: []uint16{22, 80}},
	"vm3":             {Name: "vm3", MAC: topology.MustParseMAC("fa:16:3e:0b:00:13"), Addr: netip.MustParsePrefix("10.2.0.13/24"), Gateway: netip.MustParseAddr("10.2.0.1"), TCPListen: []uint16{22}},
	"vm4":             {Name: "vm4", MAC: topology.MustParseMAC("fa:16:3e:0b:00:14"), Addr: netip.MustParsePrefix("10.2.0.14/24"), Gateway: netip.MustParseAddr("10.2.0.1"), TCPListen: []uint16{22}},
	"provider-uplink": {Name: "ext", MAC: topology.MustParseMAC("02:00:c6:33:64:01"), Addr: netip.MustParsePrefix("198.51.100.1/24"), Gateway: netip.MustParseAddr("198.51.100.2"), Internet: true, TCPListen: []uint16{80, 443}, UDPEcho: []uint16{53}},
}

// Env is a running cluster of the two-tenant topology with its VMs.
type Env struct {
	Cluster *Cluster
	// VMs by name: vm1..vm4 and ext.
	VMs map[string]*VM
	// Out receives the scenarios' narration and traces; nil discards it.
	Out io.Writer
}

// StartTwoTenantVMs plugs the TwoTenantVMs into c's ports.
func StartTwoTenantVMs(ctx context.Context, c *Cluster) (*Env, error) {
	e := &Env{Cluster: c, VMs: make(map[string]*VM)}
	for port, cfg := range TwoTenantVMs {
		vm, err := c.StartVM(ctx, port, cfg)
		if err != nil {
			return nil, err
		}
		e.VMs[cfg.Name] = vm
	}
	return e, nil
}

func (e *Env) printf(format string, args ...any) {
	if e.Out != nil {
		fmt.Fprintf(e.Out, format, args...)
	}
}

// Trace prints the trace of the last frame vm sent that satisfies match, as
// simulated now by the agent of the host vm's port is bound to.
func (e *Env) Trace(vm *VM, port string, match func(*Packet) bool) {
	if e.Out == nil {
		return
	}
	p, ok := vm.LastSent(match)
	if !ok {
		return
	}
	tp, ok := e.Cluster.Port(port)
	if !ok {
		return
	}
	h, ok := e.Cluster.HostOf(tp)
	if !ok {
		return
	}
	tr, err := h.Agent().Trace(tp.ID, p.Frame)
	if err != nil || tr == nil {
		return
	}
	fmt.Fprintf(e.Out, "    trace on %s:\n", h.Name)
	for _, line := range strings.Split(strings.TrimRight(tr.String(), "\n"), "\n") {
		fmt.Fprintf(e.Out, "      %s\n", line)
	}
}

// Scenario is one traffic experiment with its expectations.
type Scenario struct {
	Name        string
	Description string
	// NeedsFlowState marks scenarios that need connection tracking and NAT
	// (controller.Config.FlowState).
	NeedsFlowState bool
	Run            func(ctx context.Context, e *Env) error
}

func fail(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrExpectation}, args...)...)
}

func isEchoRequest(p *Packet) bool {
	v := p.View()
	return v.IPProto() == packet.ProtoICMP && v.ICMPType() == packet.ICMPEchoRequest
}

func isTCP(dport uint16) func(*Packet) bool {
	return func(p *Packet) bool {
		v := p.View()
		return v.EtherType() == packet.EtherTypeIPv4 && v.IPProto() == packet.ProtoTCP && v.DstPort() == dport
	}
}

// tunnelFlow reports whether host installed a flow sending to the tunnel
// key of port over the tunnel to dst.
func tunnelFlow(h *Host, key uint32, dst netip.Addr) bool {
	for _, f := range h.Agent().Flows(context.Background()) {
		for _, a := range f.Actions {
			if s, ok := a.(datapath.Set[datapath.TunnelKey]); ok && uint32(s.Value.ID) == key && s.Value.Dst == dst {
				return true
			}
		}
	}
	return false
}

// TwoTenantScenarios are the sandbox's scenarios on the two-tenant
// topology.
func TwoTenantScenarios() []Scenario {
	return []Scenario{
		{
			Name:        "l2-across-hosts",
			Description: "vm1 (host-a) pings vm2 (host-b) on tenant-a-net: bridged, VXLAN between the hosts",
			Run: func(ctx context.Context, e *Env) error {
				vm1, vm2 := e.VMs["vm1"], e.VMs["vm2"]
				r, err := vm1.Ping(ctx, vm2.Addr())
				if err != nil {
					return err
				}
				e.printf("    vm1 got the echo reply from %s\n", r.View().IPSrc())
				e.Trace(vm1, "vm1", isEchoRequest)
				a, b := e.Cluster.Host("host-a"), e.Cluster.Host("host-b")
				p2, _ := e.Cluster.Port("vm2")
				key, ok := b.Agent().TunnelKey(p2.ID)
				if !ok {
					return fail("host-b announced no tunnel key for vm2")
				}
				if !tunnelFlow(a, key, b.Underlay) {
					return fail("host-a has no flow tunnelling to vm2 (key %#x) at %s", key, b.Underlay)
				}
				e.printf("    host-a tunnels to vm2 with key %#x to %s\n", key, b.Underlay)
				return nil
			},
		},
		{
			Name:        "routed",
			Description: "vm1 (tenant A, host-a) pings vm4 (tenant B, host-b) through tenant-a, provider and tenant-b routers",
			Run: func(ctx context.Context, e *Env) error {
				vm1, vm4 := e.VMs["vm1"], e.VMs["vm4"]
				if _, err := vm1.Ping(ctx, vm4.Addr()); err != nil {
					return err
				}
				req, err := vm4.WaitFor(ctx, isEchoRequest)
				if err != nil {
					return err
				}
				e.printf("    vm4 got the echo request from %s, TTL %d (three routers)\n", req.View().IPSrc(), req.View().IPTTL())
				if ttl := req.View().IPTTL(); ttl != 61 {
					return fail("vm4 got the request with TTL %d, want 61", ttl)
				}
				e.Trace(vm1, "vm1", isEchoRequest)
				return nil
			},
		},
		{
			Name:        "uplink",
			Description: "vm3 pings the upstream gateway behind provider-uplink (host-c); the provider router resolves it with ARP",
			Run: func(ctx context.Context, e *Env) error {
				vm3, ext := e.VMs["vm3"], e.VMs["ext"]
				if _, err := vm3.Ping(ctx, ext.Addr()); err != nil {
					return err
				}
				req, err := ext.WaitFor(ctx, isEchoRequest)
				if err != nil {
					return err
				}
				e.printf("    ext got the echo request from %s\n", req.View().IPSrc())
				e.Trace(vm3, "vm3", isEchoRequest)
				return nil
			},
		},
		{
			Name:        "security-group-drop",
			Description: "vm1 (tenant A) sends TCP SYNs to vm3 (tenant B) port 80, dropped by tenant-b-sg, then port 22, allowed",
			Run: func(ctx context.Context, e *Env) error {
				vm1, vm3 := e.VMs["vm1"], e.VMs["vm3"]
				if _, err := vm1.SendTCP(ctx, vm3.Addr(), 40080, 80, 0x02, false); err != nil {
					return err
				}
				if _, err := vm1.SendTCP(ctx, vm3.Addr(), 40022, 22, 0x02, false); err != nil {
					return err
				}
				if _, err := vm3.WaitFor(ctx, isTCP(22)); err != nil {
					return fail("the SYN to port 22 did not arrive: %v", err)
				}
				a := e.Cluster.Host("host-a")
				if err := Eventually(ctx, "a drop flow for the SYN to port 80 on host-a", func() bool { return hasDropFlow(a, 80) }); err != nil {
					return fail("%v", err)
				}
				if n := vm3.Count(isTCP(80)); n != 0 {
					return fail("vm3 received %d SYNs to port 80", n)
				}
				e.printf("    vm3 got the SYN to port 22 and none to port 80; host-a installed a drop flow\n")
				e.Trace(vm1, "vm1", isTCP(80))
				return nil
			},
		},
		{
			Name:           "snat-uplink",
			Description:    "vm2 pings an internet address: tenant-a source-NATs it to 203.0.113.10 on the way out and translates the reply back",
			NeedsFlowState: true,
			Run: func(ctx context.Context, e *Env) error {
				vm2, ext := e.VMs["vm2"], e.VMs["ext"]
				dst := netip.MustParseAddr("192.0.2.80")
				r, err := vm2.Ping(ctx, dst)
				if err != nil {
					return err
				}
				req, err := ext.WaitFor(ctx, func(p *Packet) bool { return isEchoRequest(p) && p.View().IPDst() == dst })
				if err != nil {
					return err
				}
				src := req.View().IPSrc()
				e.printf("    ext saw the echo request from %s; vm2 got the reply from %s\n", src, r.View().IPSrc())
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
			Name:           "floating-ip",
			Description:    "ext pings vm1's floating IP 203.0.113.11: DNAT to 10.1.0.11 in, SNAT back out",
			NeedsFlowState: true,
			Run: func(ctx context.Context, e *Env) error {
				vm1, ext := e.VMs["vm1"], e.VMs["ext"]
				fip := netip.MustParseAddr("203.0.113.11")
				r, err := ext.Ping(ctx, fip)
				if err != nil {
					return err
				}
				req, err := vm1.WaitFor(ctx, isEchoRequest)
				if err != nil {
					return err
				}
				e.printf("    vm1 got the request for %s; ext got the reply from %s\n", req.View().IPDst(), r.View().IPSrc())
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
func hasDropFlow(h *Host, dport uint16) bool {
	for _, f := range h.Agent().Flows(context.Background()) {
		if len(f.Actions) == 0 && f.Key.Fields&datapath.KeyTCP != 0 && f.Key.TCP.Dst == dport {
			return true
		}
	}
	return false
}

// RunScenarios runs scenarios on e, each with its own timeout, printing
// what happened; scenarios needing flow state are skipped (and reported)
// when withFlowState is false. It returns the names of the failed and the
// skipped scenarios.
func RunScenarios(ctx context.Context, e *Env, scenarios []Scenario, withFlowState bool, timeout time.Duration) (failed, skipped []string) {
	for _, s := range scenarios {
		e.printf("== %s: %s\n", s.Name, s.Description)
		if s.NeedsFlowState && !withFlowState {
			e.printf("   SKIPPED: needs connection tracking and NAT (no flow-state implementation wired)\n")
			skipped = append(skipped, s.Name)
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, timeout)
		err := s.Run(sctx, e)
		cancel()
		if err != nil {
			e.printf("   FAIL: %v\n", err)
			failed = append(failed, s.Name)
			continue
		}
		e.printf("   ok\n")
	}
	return failed, skipped
}

// PrintFlows prints the flows every agent of c installed.
func PrintFlows(w io.Writer, c *Cluster) {
	for _, h := range c.Hosts() {
		fs := h.Agent().Flows(context.Background())
		fmt.Fprintf(w, "== flows on %s (%d)\n", h.Name, len(fs))
		for _, f := range fs {
			m := datapath.Match{Key: f.Key, Mask: f.Mask}
			fmt.Fprintf(w, "  [%s] %v\n      actions:%v\n", f.Class, m, f.Actions)
		}
	}
}
