package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// The README's cloud on real agents: a node on ZooKeeper takes the
// openstack command's requests, three agents of the in-process harness
// (host-a, host-b, host-c, VXLAN over loopback) on the same ZooKeeper bind
// the ports the command created, and emulated VMs behind them ping and
// connect as the security groups allow, through SNAT and the floating IP.
// Drops are proven by the drop flows the sender's agent installs. The
// teardown leaves the NSDB as it was once the agents are gone.
func TestOpenStackCLIZooKeeper(t *testing.T) {
	openstackCommand(t)
	cmds := readmeOpenStack(t)
	servers, root := zktest.Standalone(t), zktest.UniquePath(t)
	open := func(ctx context.Context) (nsdb.Client, error) {
		return zookeeper.New(ctx, zookeeper.Config{Servers: strings.Split(servers, ","), Root: root})
	}
	_, addr := runNode(t, "-nsdb", "zk", "-zk", servers, "-zk-root", root, "-node", "openstack-zk")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	obs, err := open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close()
	cl, err := sandbox.Start(ctx, sandbox.Config{Topology: base(), NewClient: open, Stateful: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// host-c's agent keeps the uplink's tunnel key in the port object:
	// wait for it, so that the NSDB is settled before the cloud is built.
	uplink := topology.NameID(topology.KindPort, "provider-uplink")
	if err := sandbox.Eventually(ctx, "the uplink's tunnel key in the NSDB", func() bool {
		v, err := obs.Store().Get(ctx, topology.KindPort, uplink)
		return err == nil && v.Object.(*topology.Port).TunnelKey != 0
	}); err != nil {
		t.Fatal(err)
	}
	before := dumpNSDB(t, obs)

	openstack(t, addr, cmds[0])
	p1, p2 := cloudPort(t, obs, "vm1"), cloudPort(t, obs, "vm2")
	vmOf := func(name string, mac topology.MAC, ip netip.Addr) sandbox.VMConfig {
		return sandbox.VMConfig{Name: name, MAC: mac, Addr: netip.PrefixFrom(ip, 24), Gateway: vmGateway, TCPListen: []uint16{22, 25, 80}}
	}
	vm1, err := cl.StartVM(ctx, p1.NativeName(), vmOf("vm1", p1.MAC, vm1Addr))
	if err != nil {
		t.Fatal(err)
	}
	vm2, err := cl.StartVM(ctx, p2.NativeName(), vmOf("vm2", p2.MAC, vm2Addr))
	if err != nil {
		t.Fatal(err)
	}
	ext, err := cl.StartVM(ctx, "provider-uplink", sandbox.VMConfig{Name: "ext", MAC: topology.MustParseMAC("02:00:c6:33:64:01"),
		Addr: netip.PrefixFrom(upstream, 24), Gateway: netip.MustParseAddr("198.51.100.2"), Internet: true, TCPListen: []uint16{80, 443}})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := cl.Host("host-a"), cl.Host("host-b"), cl.Host("host-c")

	// vm2 pings vm1 (web admits ICMP from anywhere) and connects to its
	// SSH and HTTP (HTTP: vm2 is in the default group); the SYN-ACKs come
	// back as return flows.
	if _, err := vm2.Ping(ctx, vm1Addr); err != nil {
		t.Fatalf("vm2 -> vm1 ping: %v", err)
	}
	for _, port := range []uint16{22, 80} {
		if r, err := handshake(ctx, vm2, vm1Addr, 40000+port, port); err != nil {
			t.Fatalf("vm2 -> vm1:%d: %v", port, err)
		} else if r.View().IPSrc() != vm1Addr {
			t.Fatalf("vm2's SYN-ACK from %s", r.View().IPSrc())
		}
	}
	// web drops vm2's SYN to 25 (on host-b, where vm2's packets are
	// simulated); vm2's default group drops vm1's SYN to 80 (on host-a).
	dropped(t, ctx, vm2, b, vm1, vm1Addr, 25)
	dropped(t, ctx, vm1, a, vm2, vm2Addr, 80)

	// vm2 reaches the outside with r1's gateway address, and the answer
	// comes back.
	if _, err := handshake(ctx, vm2, netip.MustParseAddr("8.8.8.8"), 41443, 443); err != nil {
		t.Fatalf("vm2 -> 8.8.8.8:443: %v", err)
	}
	syn, err := ext.WaitFor(ctx, func(p *sandbox.Packet) bool { return isSYN(p, 443) })
	if err != nil {
		t.Fatal(err)
	}
	if src := syn.View().IPSrc(); src != snatAddr {
		t.Fatalf("vm2's connection leaves from %s, want r1's gateway address %s", src, snatAddr)
	}
	// The outside reaches vm1's SSH through the floating IP, and vm1
	// answers from it; its HTTP is dropped on host-c.
	r, err := handshake(ctx, ext, floatingIP, 42022, 22)
	if err != nil {
		t.Fatalf("outside -> %s:22: %v", floatingIP, err)
	}
	if src := r.View().IPSrc(); src != floatingIP {
		t.Fatalf("vm1 answers the outside from %s, want its floating IP %s", src, floatingIP)
	}
	dropped(t, ctx, ext, c, vm1, floatingIP, 80)

	openstack(t, addr, cmds[1])
	cl.Close() // the agents' learned table entries go with their sessions
	if after := dumpNSDB(t, obs); after != before {
		t.Fatalf("the NSDB after the teardown differs:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func isSYN(p *sandbox.Packet, dport uint16) bool {
	v := p.View()
	return v.EtherType() == packet.EtherTypeIPv4 && v.IPProto() == packet.ProtoTCP && v.TCPFlags() == packet.TCPSyn && v.DstPort() == dport
}

// handshake sends SYNs from vm to dst:dport, again every 250 ms as a TCP
// stack would, until the SYN-ACK comes back, and returns it.
func handshake(ctx context.Context, vm *sandbox.VM, dst netip.Addr, sport, dport uint16) (*sandbox.Packet, error) {
	for {
		tctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		p, err := vm.SendTCP(tctx, dst, sport, dport, packet.TCPSyn, true)
		cancel()
		if err == nil && p.View().TCPFlags() == packet.TCPSyn|packet.TCPAck {
			return p, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no SYN-ACK from %s:%d: %w", dst, dport, ctx.Err())
		}
	}
}

// dropped sends a SYN from vm to dst:dport and checks it was dropped:
// the sender's host installs a drop flow for it and the target VM got no
// SYN to that port.
func dropped(t *testing.T, ctx context.Context, vm *sandbox.VM, sender *sandbox.Host, target *sandbox.VM, dst netip.Addr, dport uint16) {
	t.Helper()
	sport := 43000 + dport
	if _, err := vm.SendTCP(ctx, dst, sport, dport, packet.TCPSyn, false); err != nil {
		t.Fatal(err)
	}
	if err := sandbox.Eventually(ctx, fmt.Sprintf("a drop flow for %s's SYN to %s:%d on %s", vm.Name(), dst, dport, sender.Name), func() bool {
		for _, f := range sender.Agent().Flows(ctx) {
			if len(f.Actions) == 0 && f.Key.Fields&datapath.KeyTCP != 0 && f.Key.TCP.Dst == dport {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatal(err)
	}
	if n := target.Count(func(p *sandbox.Packet) bool { return isSYN(p, dport) && p.View().SrcPort() == sport }); n != 0 {
		t.Fatalf("%s got %d SYNs from port %d to port %d", target.Name(), n, sport, dport)
	}
}
