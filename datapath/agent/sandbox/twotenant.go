package sandbox

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/topology"
)

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
	// Out receives narration (Printf) and traces (Trace); nil discards it.
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

// Printf writes to e.Out, if set.
func (e *Env) Printf(format string, args ...any) {
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, err := h.Agent().Trace(ctx, tp.ID, p.Frame)
	if err != nil || tr == nil {
		return
	}
	fmt.Fprintf(e.Out, "    trace on %s:\n", h.Name)
	for _, line := range strings.Split(strings.TrimRight(tr.String(), "\n"), "\n") {
		fmt.Fprintf(e.Out, "      %s\n", line)
	}
}

// PrintFlows prints the flows every agent of c installed, each as
// `ovs-dpctl dump-flows` prints it, under a header naming the host.
func PrintFlows(w io.Writer, c *Cluster) {
	now := datapath.MonotonicClock()()
	for _, h := range c.Hosts() {
		fs := h.Agent().Flows(context.Background())
		fmt.Fprintf(w, "== flows on %s (%d)\n", h.Name, len(fs))
		for _, f := range fs {
			fmt.Fprintln(w, f.Format(now))
		}
	}
}
