//go:build linux

package main

import (
	"context"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/internal/vmtest"
	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// The environment of the real-kernel tests (see the diagram at the top of
// kernel_e2e_linux_test.go): the topology in a real ZooKeeper, the host
// and VM namespaces and their links, and the agent processes.

// e2eHost is one simulated hypervisor.
type e2eHost struct {
	name     string // topology host name
	ns       *vmtest.NetNS
	underlay netip.Addr
	mgmt     [2]netip.Prefix // root side, host side
	agent    *helper
	// agents are every agent process run on the host, the current last.
	agents []*helper
}

// e2eVM is a VM namespace plugged into a host's tap interface.
type e2eVM struct {
	port string // topology port
	ns   *vmtest.NetNS
	mac  string
	addr netip.Prefix
	gw   netip.Addr
	mtu  int
}

// e2eTopology is two-tenant-cloud.yaml with provider-uplink on host-a.
func e2eTopology(t *testing.T) *topology.Topology {
	t.Helper()
	topo, err := topofile.LoadFile("../topologies/two-tenant-cloud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	moved := false
	for i := range topo.Ports {
		if p := &topo.Ports[i]; p.Name == "provider-uplink" {
			p.Host, p.Interface = topology.NameID(topology.KindHost, "host-a"), "tap-ext"
			moved = true
		}
	}
	if !moved {
		t.Fatal("two-tenant-cloud.yaml has no provider-uplink port")
	}
	return topo
}

// dpctl runs ovs-dpctl in a host namespace and returns its output (or the
// error text).
func dpctl(ns *vmtest.NetNS, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := ns.Exec(ctx, append([]string{"ovs-dpctl"}, args...)...)
	if err != nil {
		return err.Error()
	}
	return string(out)
}

// e2eEnv is a running environment: two hosts, five VMs.
type e2eEnv struct {
	start   time.Time
	root    string // the test's ZooKeeper root
	admin   nsdb.Client
	topo    *topology.Topology
	fwdPort int
	hosts   []*e2eHost // host-a, host-b
	vms     map[string]*e2eVM
	hostOf  map[string]*e2eHost // by port name
	// keys are the VM ports' tunnel keys once announced (startAgents).
	keys map[string]uint32
}

// newE2E builds the namespaces and links and creates the topology in
// ZooKeeper through a cluster node's API with hivectl apply
// (startCluster, applyTopology); no agent runs yet.
func newE2E(ctx context.Context, t *testing.T) *e2eEnv {
	servers := zktest.Standalone(t)
	e := &e2eEnv{start: time.Now(), vms: map[string]*e2eVM{}, hostOf: map[string]*e2eHost{}, keys: map[string]uint32{}}

	// NSDB: the topology, written by the test from the root namespace.
	e.root = zktest.UniquePath(t)
	admin, err := zookeeper.New(ctx, zookeeper.Config{Servers: strings.Split(servers, ","), Root: e.root})
	if err != nil {
		t.Fatalf("ZooKeeper %s (from the VM; is HIVENET_ZK_SERVERS reachable with VM_NET=user?): %v", servers, err)
	}
	t.Cleanup(func() { admin.Close() })
	e.admin = admin
	e.topo = e2eTopology(t)
	// As an operator would: a cluster node's API, and hivectl apply once
	// the namespaces are built (the node starts meanwhile).
	node := e.startCluster(t, servers)

	// ZooKeeper forwarder for the host namespaces.
	fwd, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	forwardTCP(t, fwd, strings.Split(servers, ",")[0])
	e.fwdPort = fwd.Addr().(*net.TCPAddr).Port

	// Hosts, underlay and management links.
	e.hosts = []*e2eHost{
		{name: "host-a", underlay: netip.MustParseAddr("192.168.100.11"),
			mgmt: [2]netip.Prefix{netip.MustParsePrefix("172.30.1.1/30"), netip.MustParsePrefix("172.30.1.2/30")}},
		{name: "host-b", underlay: netip.MustParseAddr("192.168.100.12"),
			mgmt: [2]netip.Prefix{netip.MustParsePrefix("172.30.2.1/30"), netip.MustParsePrefix("172.30.2.2/30")}},
	}
	for _, h := range e.hosts {
		if m, ok := e.topo.TunnelZones[0].MemberAddr(topology.NameID(topology.KindHost, h.name)); !ok || m != h.underlay {
			t.Fatalf("tunnel zone gives %s the address %v, want %v", h.name, m, h.underlay)
		}
		h.ns = vmtest.NewNetNS(t, "e2e-"+h.name)
		side := h.name[len(h.name)-1:]
		vmtest.Run(t, "ip", "link", "add", "name", "mg-"+side, "type", "veth", "peer", "name", "mg0", "netns", h.ns.Name())
		vmtest.Run(t, "ip", "address", "add", h.mgmt[0].String(), "dev", "mg-"+side)
		vmtest.Run(t, "ip", "link", "set", "mg-"+side, "up")
		h.ns.Run(t, "ip", "address", "add", h.mgmt[1].String(), "dev", "mg0")
		h.ns.Run(t, "ip", "link", "set", "mg0", "up")
	}
	a, b := e.hosts[0], e.hosts[1]
	vmtest.Run(t, "ip", "link", "add", "name", "ul-a", "netns", a.ns.Name(), "type", "veth", "peer", "name", "ul-b", "netns", b.ns.Name())
	for _, h := range e.hosts {
		ifc := "ul-" + h.name[len(h.name)-1:]
		h.ns.Run(t, "ip", "address", "add", netip.PrefixFrom(h.underlay, 24).String(), "dev", ifc)
		h.ns.Run(t, "ip", "link", "set", ifc, "up")
	}

	// VMs: a veth per exterior port, the host end named after the port's
	// interface, with the sandbox's VMs of this topology (the file's DHCP
	// hosts) and the MTU of its DHCP option (room for the VXLAN header on
	// a 1500-byte underlay). "ext", behind provider-uplink, is the outside
	// world: it routes only 203.0.113.0/24 (the tenants' public blocks)
	// back to the provider router, so only translated sources get replies.
	for port, cfg := range sandbox.TwoTenantVMs {
		vm := &e2eVM{port: port, mac: cfg.MAC.String(), addr: cfg.Addr, gw: cfg.Gateway, mtu: 1450}
		if cfg.Internet {
			vm.gw, vm.mtu = netip.Addr{}, 1500
		}
		e.vms[cfg.Name] = vm
	}
	for _, p := range e.topo.Ports {
		for _, h := range e.hosts {
			if p.Host == topology.NameID(topology.KindHost, h.name) {
				e.hostOf[p.Name] = h
			}
		}
	}
	for _, name := range []string{"vm1", "vm2", "vm3", "vm4", "ext"} {
		vm := e.vms[name]
		if vm == nil {
			t.Fatalf("sandbox.TwoTenantVMs has no %s", name)
		}
		h := e.hostOf[vm.port]
		var ifc string
		for _, p := range e.topo.Ports {
			if p.Name == vm.port {
				ifc = p.Interface
			}
		}
		if h == nil || ifc == "" {
			t.Fatalf("port %s is not bound to host-a or host-b", vm.port)
		}
		vm.ns = vmtest.NewNetNS(t, "e2e-"+name)
		vmtest.Run(t, "ip", "link", "add", "name", ifc, "netns", h.ns.Name(), "type", "veth", "peer", "name", "eth0", "netns", vm.ns.Name())
		h.ns.Run(t, "ip", "link", "set", ifc, "up")
		vm.ns.Run(t, "ip", "link", "set", "eth0", "address", vm.mac, "mtu", strconv.Itoa(vm.mtu))
		vm.ns.Run(t, "ip", "address", "add", vm.addr.String(), "dev", "eth0")
		vm.ns.Run(t, "ip", "link", "set", "eth0", "up")
		if vm.gw.IsValid() {
			vm.ns.Run(t, "ip", "route", "add", "default", "via", vm.gw.String())
		}
	}
	e.vms["ext"].ns.Run(t, "ip", "route", "add", "203.0.113.0/24", "via", "198.51.100.2")
	t.Logf("namespaces and links ready (%v)", e.since())
	e.applyTopology(ctx, t, node)

	// On failure, what every agent said and what each datapath holds.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, h := range e.hosts {
			if h.agent != nil && os.Getenv("HIVENET_E2E_STACKS") != "" {
				// SIGQUIT: the Go runtime prints every goroutine and exits.
				_ = h.agent.cmd.Process.Signal(syscall.SIGQUIT)
				select {
				case <-h.agent.done:
				case <-time.After(20 * time.Second):
				}
			}
			for i, ag := range h.agents {
				t.Logf("=== agent %d of %d on %s: log\n%s", i+1, len(h.agents), h.name, tail(ag.out.String(), 80))
			}
			t.Logf("=== %s: ovs-dpctl show\n%s", h.name, dpctl(h.ns, "show"))
			t.Logf("=== %s: ovs-dpctl dump-flows\n%s", h.name, dpctl(h.ns, "dump-flows"))
		}
	})
	return e
}

// startE2E builds the environment (newE2E), starts one agent process per
// host and waits until every VM port is announced active.
func startE2E(ctx context.Context, t *testing.T) *e2eEnv {
	t.Helper()
	e := newE2E(ctx, t)
	e.startAgents(ctx, t)
	return e
}

func (e *e2eEnv) since() time.Duration { return time.Since(e.start).Round(time.Millisecond) }

// agentReady is what an agent logs once it handles packets.
var agentReady = regexp.MustCompile(`msg="agent ready"`)

// startAgent starts an agent process on h: kernel datapath, ZooKeeper
// NSDB through the forwarder, extra flags after those (and
// HIVENET_E2E_AGENT_FLAGS, e.g. "-v", when debugging).
func (e *e2eEnv) startAgent(t *testing.T, h *e2eHost, extra ...string) *helper {
	args := append([]string{
		"-host", h.name, "-datapath", "kernel", "-underlay", h.underlay.String(),
		"-nsdb", "zk", "-zk", netip.AddrPortFrom(h.mgmt[0].Addr(), uint16(e.fwdPort)).String(), "-zk-root", e.root}, extra...)
	args = append(args, strings.Fields(os.Getenv("HIVENET_E2E_AGENT_FLAGS"))...)
	h.agent = startHelper(t, h.ns, "agent on "+h.name, "agent", args...)
	h.agents = append(h.agents, h.agent)
	return h.agent
}

// startAgents starts an agent on each host (with extra flags per host,
// if given), waits until they are ready and every VM port is announced
// active by its host, and records the ports' tunnel keys.
func (e *e2eEnv) startAgents(ctx context.Context, t *testing.T, extra ...func(h *e2eHost) []string) {
	for _, h := range e.hosts {
		var x []string
		for _, f := range extra {
			x = append(x, f(h)...)
		}
		e.startAgent(t, h, x...)
	}
	for _, h := range e.hosts {
		if _, err := h.agent.waitOutput(ctx, agentReady); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("agents ready (%v)", e.since())
	// Converged: every VM port is announced active by the agent of its
	// host, with its tunnel key (each agent learns the others' from these).
	for name, vm := range e.vms {
		e.keys[name] = waitActive(ctx, t, e.admin, topology.NameID(topology.KindPort, vm.port), topology.NameID(topology.KindHost, e.hostOf[vm.port].name), name)
	}
	t.Logf("ports active (%v)", e.since())
}
