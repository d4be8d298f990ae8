package gateway_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/internal/vteptest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw"
)

// The gateway manages Open vSwitch's VTEP emulator (ovs-vtep on a dummy
// datapath): binding a bridge makes the emulator build the logical
// switch; a frame injected on the emulator's port is learnt by the
// emulator and appears in the bridge's MAC table on its VxLAN port; a MAC
// of the bridge becomes a remote MAC the emulator tunnels to with the
// bridge's VNI.
func TestEmulatorLearnsIntoMACTable(t *testing.T) {
	em := vteptest.StartEmulator(t, "ps1", netip.MustParseAddr("192.0.2.210"), "p0")
	mem := memory.NewServer(memory.Config{})
	e := newEnvWith(t, func(t testing.TB) nsdb.Client {
		c := mem.NewClient()
		t.Cleanup(func() { c.Close() })
		return c
	}, em.Endpoint())
	ctx := context.Background()
	e.gateway("node-1", e.newClient(t))
	e.bind("p0", 0, "net1")
	net1 := swName("net1")
	until(t, "the emulator's switch for net1", func() (bool, string) {
		out, err := em.VSCtl(ctx, "list-br")
		return err == nil && strings.Contains(out, "ps1_vtep_ls"), out
	})

	// VTEP → NSDB: a frame from a host behind p0.
	mac := topology.MustParseMAC("02:00:00:aa:00:01")
	flow := "in_port(1),eth(src=" + mac.String() + ",dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806)," +
		"arp(sip=192.168.1.50,tip=192.168.1.1,op=1,sha=" + mac.String() + ",tha=00:00:00:00:00:00)"
	port := vxgw.PortID(id(topology.KindBridge, "net1"), e.vtep)
	macs := e.macTable("net1")
	until(t, "the emulator's MAC in net1's MAC table", func() (bool, string) {
		if err := em.Receive(ctx, "p0", flow); err != nil {
			return false, err.Error()
		}
		p, ok := macs.Lookup(mac)
		return ok && p == port, fmt.Sprint(macs.Entries())
	})

	// NSDB → VTEP: a VM's MAC on host-a; the emulator tunnels to host-a
	// with net1's VNI.
	agent := e.newClient(t)
	vmMACs, err := agent.Tables().MACTable(ctx, id(topology.KindBridge, "net1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	vm := topology.MustParseMAC("02:00:00:00:01:01")
	if err := vmMACs.Add(ctx, vm, id(topology.KindPort, "vm1")); err != nil {
		t.Fatal(err)
	}
	e.untilRemote(net1, map[string]remoteMAC{vm.String(): {loc: addrA}})
	until(t, "the emulator's tunnel to host-a with net1's VNI", func() (bool, string) {
		out, err := em.VSCtl(ctx, "--columns=type,options", "find", "Interface", "type=vxlan")
		return err == nil && strings.Contains(out, `key="10000"`) && strings.Contains(out, `remote_ip="`+addrA.String()+`"`), out
	})
}
