package gateway_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/internal/ovsdbtest"
	"github.com/hivenet/hivenet/internal/vteptest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw"
	"github.com/hivenet/hivenet/vxgw/floodproxy"
	"github.com/hivenet/hivenet/vxgw/gateway"
)

// End to end, in one process: two agents (datapath/agent/sandbox, VXLAN
// over loopback) with a VM each on bridge net1, a cluster node running
// the gateway and the flooding-proxy manager, and a software VTEP
// (internal/vteptest: a VXLAN endpoint whose database is a real
// ovsdb-server) with a host behind its port eth0, bound to net1. The host
// and the VMs resolve each other with ARP and ping each other; every
// datagram between the agents and the VTEP carries net1's VNI, and once
// the MACs are synced the VTEP sends unicast straight to the VM's host.
func TestEndToEndThroughVTEP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := ovsdbtest.StartServer(t)
	vtepIP := netip.MustParseAddr("127.0.0.23")
	for _, args := range [][]string{{"add-ps", "ps1"}, {"set", "Physical_Switch", "ps1", "tunnel_ips=" + vtepIP.String()}, {"add-port", "ps1", "eth0"}} {
		if _, err := srv.VtepCtl(ctx, args...); err != nil {
			t.Fatal(err)
		}
	}
	hostA, hostB := id(topology.KindHost, "host-a"), id(topology.KindHost, "host-b")
	members := []topology.TunnelZoneMember{{Host: hostA, Addr: netip.MustParseAddr("10.0.0.21")}, {Host: hostB, Addr: netip.MustParseAddr("10.0.0.22")}}
	topo := &topology.Topology{}
	topo.Add(&topology.Host{ID: hostA, Name: "host-a"})
	topo.Add(&topology.Host{ID: hostB, Name: "host-b"})
	topo.Add(&topology.TunnelZone{ID: id(topology.KindTunnelZone, "overlay"), Name: "overlay", Type: topology.TunnelZoneVXLAN, Members: members})
	topo.Add(&topology.TunnelZone{ID: id(topology.KindTunnelZone, "vtz"), Name: "vtz", Type: topology.TunnelZoneVTEP, Members: members})
	net1 := id(topology.KindBridge, "net1")
	topo.Add(&topology.Bridge{ID: net1, Name: "net1"})
	topo.Add(&topology.Port{ID: id(topology.KindPort, "vm1"), Name: "vm1", Bridge: net1, Host: hostA, Interface: "tap-vm1"})
	topo.Add(&topology.Port{ID: id(topology.KindPort, "vm2"), Name: "vm2", Bridge: net1, Host: hostB, Interface: "tap-vm2"})
	vtepID := id(topology.KindVTEP, "vtep1")
	topo.Add(&topology.VTEP{ID: vtepID, Name: "vtep1", ManagementIP: netip.MustParseAddr("127.0.0.1"), TunnelZone: id(topology.KindTunnelZone, "vtz")})

	mem := memory.NewServer(memory.Config{})
	c, err := sandbox.Start(ctx, sandbox.Config{Topology: topo, Logger: testLogger(t),
		NewClient: func(context.Context) (nsdb.Client, error) { return mem.NewClient(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// The cluster node: the gateway for the VTEP, the flooding proxy.
	nc := mem.NewClient()
	defer nc.Close()
	node, err := cluster.New(cluster.Config{Name: "cn1", NSDB: nc, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{NSDB: nc, Node: node.ID(), NodeName: "cn1", Logger: testLogger(t),
		Endpoint: func(*topology.VTEP) (string, error) { return srv.Endpoint(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	fp, err := floodproxy.New(floodproxy.Config{NSDB: nc})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.AddPerEntity(gw, nsdb.KeyVTEPManager()); err != nil {
		t.Fatal(err)
	}
	if err := node.Add(fp, cluster.Leader); err != nil {
		t.Fatal(err)
	}
	nctx, ncancel := context.WithCancel(ctx)
	ndone := make(chan struct{})
	go func() { defer close(ndone); node.Run(nctx) }()
	defer func() { ncancel(); <-ndone }()

	if _, err := vxgw.Bind(ctx, c.Client(), vtepID, topology.VTEPBinding{PortName: "eth0", Bridge: net1}); err != nil {
		t.Fatal(err)
	}
	ep, err := vteptest.Start(ctx, vteptest.Config{OVSDB: srv.Endpoint(), Switch: "ps1", Port: "eth0",
		Addr: netip.AddrPortFrom(vtepIP, c.VTEPPort()), PeerPort: c.VTEPPort()})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	e := &env{t: t, admin: c.Client(), vtep: vtepID}
	until(t, "the VTEP managed, with its flooding proxy", func() (bool, string) {
		st := e.status()
		return st.Connection == vxgw.ConnConnected && len(st.TunnelIPs) == 1 && st.FloodingProxy != nil && len(st.Bindings) == 1 &&
			st.Bindings[0].VNI == vxgw.MinVNI, fmt.Sprintf("%+v", st)
	})

	addr := func(s string) netip.Prefix { return netip.MustParsePrefix(s) }
	vm1, err := c.StartVM(ctx, "vm1", sandbox.VMConfig{MAC: topology.MustParseMAC("02:00:00:00:00:11"), Addr: addr("192.168.1.11/24")})
	if err != nil {
		t.Fatal(err)
	}
	vm2, err := c.StartVM(ctx, "vm2", sandbox.VMConfig{MAC: topology.MustParseMAC("02:00:00:00:00:12"), Addr: addr("192.168.1.12/24")})
	if err != nil {
		t.Fatal(err)
	}
	bm := sandbox.NewVM(sandbox.VMConfig{Name: "bm1", MAC: topology.MustParseMAC("02:00:00:00:00:50"), Addr: addr("192.168.1.50/24")}, ep.HostPort())
	go bm.Run(ctx)

	// Both ways, ARP first: the host behind the VTEP and the VMs.
	for _, p := range []struct {
		from, to *sandbox.VM
	}{{bm, vm1}, {vm2, bm}, {vm1, bm}, {bm, vm2}} {
		if _, err := p.from.Ping(ctx, p.to.Addr()); err != nil {
			t.Fatalf("%s → %s: %v", p.from.Name(), p.to.Name(), err)
		}
	}
	// The host's broadcasts went to the flooding proxy only, whose
	// simulation flooded them to both VMs: one of them on another host.
	proxy := e.status().FloodingProxy
	for _, d := range ep.Sent() {
		if d.Dst.IsBroadcast() && d.Peer != c.Host(proxy.HostName).Underlay {
			t.Errorf("a broadcast sent to %s, not to the flooding proxy %s", d.Peer, proxy.HostName)
		}
	}
	for _, vm := range []*sandbox.VM{vm1, vm2} {
		if vm.Count(func(p *sandbox.Packet) bool { return p.View().EthSrc() == bm.MAC() && p.View().EthDst().IsBroadcast() }) == 0 {
			t.Errorf("%s got no broadcast of the host (flooding proxy %s)", vm.Name(), proxy.HostName)
		}
	}
	for _, d := range append(ep.Received(), ep.Sent()...) {
		if d.VNI != vxgw.MinVNI {
			t.Fatalf("a datagram with VNI %d, want net1's %d: %+v", d.VNI, vxgw.MinVNI, d)
		}
	}
	if ep.Dropped() != 0 {
		t.Errorf("the VTEP dropped %d datagrams of other VNIs", ep.Dropped())
	}
	// The host's MAC and address are in net1's tables, on the VxLAN port;
	// the VMs' MACs are in the VTEP's remote MACs, at their hosts.
	port := vxgw.PortID(net1, vtepID)
	macs, ips := e.macTable("net1"), e.ip4Table("net1")
	until(t, "the host's MAC and address in the NSDB", func() (bool, string) {
		p, _ := macs.Lookup(bm.MAC())
		m, _ := ips.Lookup(bm.Addr())
		return p == port && m == bm.MAC(), fmt.Sprint(macs.Entries(), ips.Entries())
	})
	ucast := map[topology.MAC]netip.Addr{vm1.MAC(): c.Host("host-a").Underlay, vm2.MAC(): c.Host("host-b").Underlay}
	until(t, "unicast from the VTEP straight to each VM's host", func() (bool, string) {
		for mac, want := range ucast {
			n := len(ep.Sent())
			var vm *sandbox.VM
			if mac == vm1.MAC() {
				vm = vm1
			} else {
				vm = vm2
			}
			if _, err := bm.Ping(ctx, vm.Addr()); err != nil {
				return false, err.Error()
			}
			for _, d := range ep.Sent()[n:] {
				if d.Dst == mac && d.Peer != want {
					return false, fmt.Sprintf("to %s via %s, want %s", mac, d.Peer, want)
				}
			}
		}
		return true, ""
	})
	t.Logf("VTEP sent %d datagrams and received %d, all with VNI %d", len(ep.Sent()), len(ep.Received()), vxgw.MinVNI)
}
