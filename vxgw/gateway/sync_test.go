package gateway_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw"
	"github.com/hivenet/hivenet/vxgw/ovsdb/vtep"
)

// One gateway instance against a real ovsdb-server: binding, both
// directions of MAC sync, the flooding proxy, the published state and
// unbinding.
func TestSyncBothWays(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.gateway("node-1", e.newClient(t))
	e.bind("eth0", 100, "net1")
	net1 := swName("net1")

	// The switch with the bridge's VNI (the first of the sequence) and
	// the VLAN binding.
	until(t, "the switch and its binding", func() (bool, string) {
		v := e.view()
		return v.switches[net1] == vxgw.MinVNI && v.bindings["eth0/100"] == net1, fmt.Sprint(v.switches, v.bindings)
	})
	br, err := e.admin.Store().Get(ctx, topology.KindBridge, id(topology.KindBridge, "net1"))
	if err != nil || br.Object.(*topology.Bridge).VNI != vxgw.MinVNI {
		t.Fatalf("bridge net1 after bind: %v, %v; want VNI %d", br.Object, err, vxgw.MinVNI)
	}
	until(t, "the published state", func() (bool, string) {
		st := e.status()
		return st.Connection == vxgw.ConnConnected && len(st.TunnelIPs) == 1 && st.TunnelIPs[0] == vtepAddr &&
			st.OwnerName == "node-1", fmt.Sprintf("%+v", st)
	})

	// NSDB → VTEP: a MAC an agent learnt, with its address; then moved,
	// then removed.
	agent := e.newClient(t)
	macs, err := agent.Tables().MACTable(ctx, id(topology.KindBridge, "net1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	ips, err := agent.Tables().IP4MACTable(ctx, id(topology.KindBridge, "net1"))
	if err != nil {
		t.Fatal(err)
	}
	m1 := topology.MustParseMAC("02:00:00:00:01:01")
	ip1 := netip.MustParseAddr("192.168.1.11")
	if err := macs.Add(ctx, m1, id(topology.KindPort, "vm1")); err != nil {
		t.Fatal(err)
	}
	e.untilRemote(net1, map[string]remoteMAC{m1.String(): {loc: addrA}})
	if err := ips.Add(ctx, ip1, m1); err != nil {
		t.Fatal(err)
	}
	e.untilRemote(net1, map[string]remoteMAC{m1.String(): {loc: addrA, ip: ip1}})
	if err := macs.Add(ctx, m1, id(topology.KindPort, "vm2")); err != nil {
		t.Fatal(err)
	}
	e.untilRemote(net1, map[string]remoteMAC{m1.String(): {loc: addrB, ip: ip1}})
	if err := macs.Remove(ctx, m1, id(topology.KindPort, "vm2")); err != nil {
		t.Fatal(err)
	}
	e.untilRemote(net1, nil)

	// VTEP → NSDB: a MAC the VTEP learnt becomes a MAC table entry on the
	// bridge's VxLAN port and an IPv4-MAC entry; its removal removes both.
	m2 := topology.MustParseMAC("02:00:00:00:02:02")
	ip2 := netip.MustParseAddr("192.168.1.50")
	row := e.addLocal(net1, m2.String(), ip2)
	port := vxgw.PortID(id(topology.KindBridge, "net1"), e.vtep)
	nsdbMACs, nsdbIPs := e.macTable("net1"), e.ip4Table("net1")
	until(t, "the VTEP's MAC in the NSDB", func() (bool, string) {
		p, _ := nsdbMACs.Lookup(m2)
		m, _ := nsdbIPs.Lookup(ip2)
		return p == port && m == m2, fmt.Sprint(nsdbMACs.Entries(), nsdbIPs.Entries())
	})
	// The VTEP's own MAC is not written back as a remote MAC.
	if got := e.view().remote[net1]; len(got) != 0 {
		t.Fatalf("remote MACs after a local one: %v", got)
	}
	e.deleteRow(vtep.TableUcastMacsLocal, row)
	until(t, "the VTEP's MAC gone from the NSDB", func() (bool, string) {
		_, ok1 := nsdbMACs.Lookup(m2)
		_, ok2 := nsdbIPs.Lookup(ip2)
		return !ok1 && !ok2, fmt.Sprint(nsdbMACs.Entries(), nsdbIPs.Entries())
	})

	// The flooding proxy: published for the zone, it becomes the
	// switch's unknown-dst locator, and follows changes.
	fpc := e.newClient(t)
	zone := id(topology.KindTunnelZone, "vtz")
	for _, fp := range []nsdb.FloodingProxy{{Host: id(topology.KindHost, "host-c"), Addr: addrC}, {Host: id(topology.KindHost, "host-a"), Addr: addrA}} {
		if err := fpc.StateKeys().Set(ctx, nsdb.KeyFloodingProxy(), zone, fp.String()); err != nil {
			t.Fatal(err)
		}
		until(t, "the unknown-dst row toward "+fp.Addr.String(), func() (bool, string) {
			got := e.view().flood[net1]
			return len(got) == 1 && got[0] == fp.Addr, fmt.Sprint(got)
		})
	}
	if st := e.status(); st.FloodingProxy == nil || st.FloodingProxy.HostName != "host-a" {
		t.Fatalf("status flooding proxy: %+v", st.FloodingProxy)
	}

	// A second binding of another bridge, then unbinding the first:
	// its switch, rows and VLAN binding go, the other's stay.
	e.bind("eth1", 0, "net2")
	net2 := swName("net2")
	m3 := topology.MustParseMAC("02:00:00:00:03:03")
	macs2, err := agent.Tables().MACTable(ctx, id(topology.KindBridge, "net2"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := macs2.Add(ctx, m3, id(topology.KindPort, "vm3")); err != nil {
		t.Fatal(err)
	}
	e.untilRemote(net2, map[string]remoteMAC{m3.String(): {loc: addrC}})
	if err := macs.Add(ctx, m1, id(topology.KindPort, "vm1")); err != nil {
		t.Fatal(err)
	}
	e.untilRemote(net1, map[string]remoteMAC{m1.String(): {loc: addrA, ip: ip1}})
	e.addLocal(net1, m2.String(), ip2)
	until(t, "the VTEP's MAC in the NSDB again", func() (bool, string) {
		p, _ := nsdbMACs.Lookup(m2)
		return p == port, fmt.Sprint(nsdbMACs.Entries())
	})
	if err := vxgw.Unbind(ctx, e.admin, e.vtep, "eth0", 100); err != nil {
		t.Fatal(err)
	}
	until(t, "net1's switch gone", func() (bool, string) {
		v := e.view()
		_, has1 := v.switches[net1]
		_, has2 := v.switches[net2]
		_, bound := v.bindings["eth0/100"]
		return !has1 && has2 && !bound && v.bindings["eth1/0"] == net2 && len(v.remote[net1]) == 0 && len(v.flood[net1]) == 0 &&
			len(v.remote[net2]) == 1, fmt.Sprintf("%+v", v)
	})
	until(t, "net1's VTEP entries gone from the NSDB", func() (bool, string) {
		_, ok1 := nsdbMACs.Lookup(m2)
		_, ok2 := nsdbIPs.Lookup(ip2)
		return !ok1 && !ok2, fmt.Sprint(nsdbMACs.Entries(), nsdbIPs.Entries())
	})
	if _, err := e.admin.Store().Get(ctx, topology.KindPort, port); err == nil {
		t.Fatal("net1's VxLAN port survived the unbinding")
	}
}

// The gateway follows its connection: when the VTEP's server goes away it
// publishes the loss, and when it comes back it resynchronises everything
// that changed on either side meanwhile.
func TestResyncAfterReconnect(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.gateway("node-1", e.newClient(t))
	e.bind("eth0", 0, "net1")
	net1 := swName("net1")
	agent := e.newClient(t)
	macs, err := agent.Tables().MACTable(ctx, id(topology.KindBridge, "net1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	m1, m2, m3 := topology.MustParseMAC("02:00:00:00:01:01"), topology.MustParseMAC("02:00:00:00:01:02"), topology.MustParseMAC("02:00:00:00:01:03")
	for _, m := range []topology.MAC{m1, m2} {
		if err := macs.Add(ctx, m, id(topology.KindPort, "vm1")); err != nil {
			t.Fatal(err)
		}
	}
	e.untilRemote(net1, map[string]remoteMAC{m1.String(): {loc: addrA}, m2.String(): {loc: addrA}})

	// The server stops; meanwhile the NSDB changes, and so does the
	// database (restarted with only its admin socket, so the gateway
	// stays out): a remote row deleted behind the gateway's back, a
	// stray one added.
	if err := e.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	until(t, "the disconnection published", func() (bool, string) {
		st := e.status()
		return st.Connection == vxgw.ConnDisconnected && st.Error != "", fmt.Sprintf("%+v", st)
	})
	if err := macs.Remove(ctx, m2, id(topology.KindPort, "vm1")); err != nil {
		t.Fatal(err)
	}
	if err := macs.Add(ctx, m3, id(topology.KindPort, "vm2")); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.StartIsolated(); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.WaitServing(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.VtepCtl(ctx, "del-ucast-remote", net1, m1.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.VtepCtl(ctx, "add-ucast-remote", net1, "02:00:00:00:09:09", "10.9.9.9"); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Start(); err != nil {
		t.Fatal(err)
	}
	e.untilRemote(net1, map[string]remoteMAC{m1.String(): {loc: addrA}, m3.String(): {loc: addrB}})
	until(t, "the reconnection published", func() (bool, string) {
		st := e.status()
		return st.Connection == vxgw.ConnConnected && st.Error == "", fmt.Sprintf("%+v", st)
	})
}
