//go:build linux

package main

// The kernel tier's BGP gateways (runs in the VM harness with a ZooKeeper
// on the host):
//
//	bgp-compute (agent)        bgp-gw1 (agent)               bgp-gw2 (agent)
//	  tap-vm1 -> bgp-vm1         eth-up: uplink1 198.51.100.2   eth-up: uplink2 198.51.100.10
//	  10.0.0.11/24                 speaker in hbgp-… (veth)       speaker in hbgp-…
//	        \__ routed underlay: 192.168.100.21/.22/.23 on dummies __/
//	                                   |                              |
//	                        bgp-up: up1 198.51.100.1/30      up2 198.51.100.9/29, .12/29
//	                        BIRD (AS 65001), 203.0.113.100 on lo, ECMP kernel routes
//
// The provider router (AS 64512) has no static route: its default route
// is learned from BIRD through both uplinks (ECMP), and BIRD learns the
// VM subnet 10.0.0.0/24 (the router's BGP network) from both gateways.
// uplink2 has two more peers: one nobody answers for, one whose TCP MD5
// key BIRD does not share; both are reported in the status.

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/birdtest"
	"github.com/hivenet/hivenet/internal/vmtest"
	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

const bgpKernelYAML = `
hosts:
  - name: compute
  - name: gw1
  - name: gw2
tunnel-zones:
  - name: underlay
    type: vxlan
    members: {compute: 192.168.100.21, gw1: 192.168.100.22, gw2: 192.168.100.23}
bridges:
  - name: net
    ports:
      - {name: vm1, host: compute, interface: tap-vm1}
      - {name: net-gw, peer: provider-net}
routers:
  - name: provider
    as-number: 64512
    ports:
      - {name: uplink1, host: gw1, interface: eth-up, address: 198.51.100.2/30}
      - {name: uplink2, host: gw2, interface: eth-up, address: 198.51.100.10/29}
      - {name: provider-net, address: 10.0.0.1/24}
    bgp-peers:
      - {addr: 198.51.100.1, as-number: 65001, keep-alive: 1, hold-time: 3, connect-retry: 1}
      - {addr: 198.51.100.9, as-number: 65001, keep-alive: 1, hold-time: 3, connect-retry: 1}
      # Nobody holds this address: a peer that never answers.
      - {addr: 198.51.100.11, as-number: 65001, keep-alive: 1, hold-time: 3, connect-retry: 1}
      # BIRD signs this session with another TCP MD5 key.
      - {addr: 198.51.100.12, as-number: 65001, keep-alive: 1, hold-time: 3, connect-retry: 1, password: right}
    bgp-networks:
      - {subnet: 10.0.0.0/24}
`

// TestKernelBGPGatewaysZooKeeper: two gateway agents peer with a real
// BIRD through their uplinks' speakers (network namespaces behind veth
// datapath ports of the kernel datapath). The sessions establish, BIRD
// learns the VM subnet from both gateways (two paths), the VM reaches an
// address behind BIRD by ping and TCP; gw1's agent is killed: BIRD drops
// its path and the VM's traffic flows again through gw2. The convergence
// time is logged.
func TestKernelBGPGatewaysZooKeeper(t *testing.T) {
	vmtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	servers := zktest.Standalone(t)
	start := time.Now()
	root := zktest.UniquePath(t)
	admin, err := zookeeper.New(ctx, zookeeper.Config{Servers: strings.Split(servers, ","), Root: root})
	if err != nil {
		t.Fatalf("ZooKeeper %s: %v", servers, err)
	}
	t.Cleanup(func() { admin.Close() })
	topo, err := topofile.Load(strings.NewReader(bgpKernelYAML), "bgp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Store().Commit(ctx, nsdb.PutAll(topo)...); err != nil {
		t.Fatal(err)
	}
	fwd, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	forwardTCP(t, fwd, strings.Split(servers, ",")[0])
	fwdPort := fwd.Addr().(*net.TCPAddr).Port

	// Hosts: management link to the root namespace (ZooKeeper), underlay
	// address on a dummy, point-to-point underlay links compute-gw1 and
	// compute-gw2.
	type host struct {
		name  string
		ns    *vmtest.NetNS
		under string
		mgmt  [2]string
		agent *helper
	}
	hosts := []*host{
		{name: "compute", under: "192.168.100.21", mgmt: [2]string{"172.31.1.1/30", "172.31.1.2/30"}},
		{name: "gw1", under: "192.168.100.22", mgmt: [2]string{"172.31.2.1/30", "172.31.2.2/30"}},
		{name: "gw2", under: "192.168.100.23", mgmt: [2]string{"172.31.3.1/30", "172.31.3.2/30"}},
	}
	for i, h := range hosts {
		h.ns = vmtest.NewNetNS(t, "bgp-"+h.name)
		mg := fmt.Sprintf("mgb-%d", i)
		vmtest.Run(t, "ip", "link", "add", "name", mg, "type", "veth", "peer", "name", "mg0", "netns", h.ns.Name())
		vmtest.Run(t, "ip", "address", "add", h.mgmt[0], "dev", mg)
		vmtest.Run(t, "ip", "link", "set", mg, "up")
		h.ns.Run(t, "ip", "address", "add", h.mgmt[1], "dev", "mg0")
		h.ns.Run(t, "ip", "link", "set", "mg0", "up")
		h.ns.Run(t, "ip", "link", "add", "name", "under0", "type", "dummy")
		h.ns.Run(t, "ip", "address", "add", h.under+"/32", "dev", "under0")
		h.ns.Run(t, "ip", "link", "set", "under0", "up")
	}
	compute, gw1, gw2 := hosts[0], hosts[1], hosts[2]
	for i, gw := range []*host{gw1, gw2} {
		c, g := fmt.Sprintf("ulc%d", i+1), "ulc"
		vmtest.Run(t, "ip", "link", "add", "name", c, "netns", compute.ns.Name(), "type", "veth", "peer", "name", g, "netns", gw.ns.Name())
		compute.ns.Run(t, "ip", "link", "set", c, "up")
		gw.ns.Run(t, "ip", "link", "set", g, "up")
		compute.ns.Run(t, "ip", "route", "add", gw.under+"/32", "dev", c)
		gw.ns.Run(t, "ip", "route", "add", compute.under+"/32", "dev", g)
	}
	// The upstream router and the VM.
	up := vmtest.NewNetNS(t, "bgp-up")
	for i, gw := range []*host{gw1, gw2} {
		u := fmt.Sprintf("up%d", i+1)
		vmtest.Run(t, "ip", "link", "add", "name", "eth-up", "netns", gw.ns.Name(), "type", "veth", "peer", "name", u, "netns", up.Name())
		gw.ns.Run(t, "ip", "link", "set", "eth-up", "up")
		up.Run(t, "ip", "address", "add", []string{"198.51.100.1/30", "198.51.100.9/29"}[i], "dev", u)
		up.Run(t, "ip", "link", "set", u, "up")
	}
	up.Run(t, "ip", "address", "add", "198.51.100.12/29", "dev", "up2")
	up.Run(t, "ip", "link", "set", "lo", "up")
	up.Run(t, "ip", "address", "add", "203.0.113.100/32", "dev", "lo")
	vm := vmtest.NewNetNS(t, "bgp-vm1")
	vmtest.Run(t, "ip", "link", "add", "name", "tap-vm1", "netns", compute.ns.Name(), "type", "veth", "peer", "name", "eth0", "netns", vm.Name())
	compute.ns.Run(t, "ip", "link", "set", "tap-vm1", "up")
	// The tunnel MTU (1500-byte underlay less VXLAN), as DHCP would offer.
	vm.Run(t, "ip", "link", "set", "eth0", "mtu", "1450")
	vm.Run(t, "ip", "address", "add", "10.0.0.11/24", "dev", "eth0")
	vm.Run(t, "ip", "link", "set", "eth0", "up")
	vm.Run(t, "ip", "route", "add", "default", "via", "10.0.0.1")

	bird := birdtest.Start(t, birdtest.Config{
		RouterID: netip.MustParseAddr("198.51.100.1"), ASN: 65001, Local: netip.MustParseAddr("198.51.100.1"), Netns: up.Name(),
		Static: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")},
		Neighbors: []birdtest.Neighbor{
			{Name: "gw1", Addr: netip.MustParseAddr("198.51.100.2"), ASN: 64512},
			{Name: "gw2", Addr: netip.MustParseAddr("198.51.100.10"), ASN: 64512, Local: netip.MustParseAddr("198.51.100.9")},
			{Name: "gw2md5", Addr: netip.MustParseAddr("198.51.100.10"), ASN: 64512, Local: netip.MustParseAddr("198.51.100.12"), Password: "other"},
		},
		Extra: "protocol kernel {\n\tipv4 { export where source = RTS_BGP; };\n\tmerge paths on;\n}\n",
	})
	for _, h := range hosts {
		h.agent = startHelper(t, h.ns, "agent on "+h.name, "agent", "-host", h.name, "-datapath", "kernel", "-underlay", h.under,
			"-no-flow-state", "-bgp-grace", "1s", "-listen", "", "-nsdb", "zk",
			"-zk", fmt.Sprintf("%s:%d", strings.Split(h.mgmt[0], "/")[0], fwdPort), "-zk-root", root)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range hosts {
				t.Logf("=== agent on %s:\n%s", h.name, tail(h.agent.out.String(), 60))
				t.Logf("=== %s flows:\n%s", h.name, dpctl(h.ns, "dump-flows"))
			}
			t.Logf("=== BIRD:\n%s", tail(bird.Output(), 40))
			// The sessions' state machines and last errors, as BIRD
			// sees them.
			protos, err := bird.Birdc("show protocols all")
			t.Logf("=== birdc show protocols all (%v):\n%s", err, tail(protos, 80))
		}
	})
	for _, h := range hosts {
		if _, err := h.agent.waitOutput(ctx, regexp.MustCompile(`msg="agent ready"`)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("agents ready (%v)", time.Since(start).Round(time.Millisecond))

	// Sessions, routes both ways.
	t0 := time.Now()
	for _, n := range []string{"gw1", "gw2"} {
		bgpWait(ctx, t, "BIRD's session with "+n, func() (bool, string) {
			st, err := bird.State(n)
			return st == "Established", fmt.Sprint(st, err)
		})
	}
	t.Logf("both sessions established %v after the agents were ready", time.Since(t0).Round(time.Millisecond))
	vmNet := netip.MustParsePrefix("10.0.0.0/24")
	bgpWait(ctx, t, "BIRD learns the VM subnet from both gateways", func() (bool, string) {
		hops, err := bird.Paths(vmNet)
		return len(hops) == 2, fmt.Sprint(hops, err)
	})
	uplink1 := topology.NameID(topology.KindPort, "uplink1")
	bgpWait(ctx, t, "uplink1's status", func() (bool, string) {
		vs, err := admin.StateKeys().Get(ctx, nsdb.KeyPortBGPStatus(), uplink1)
		if err != nil || len(vs) == 0 {
			return false, fmt.Sprint(err)
		}
		st, err := nsdb.ParseBGPStatus(vs[0].Value)
		ok := err == nil && len(st.Peers) == 1 && st.Peers[0].State == "established" && st.Peers[0].Received == 1 && st.Peers[0].Sent == 1
		return ok, vs[0].Value
	})
	uplink2 := topology.NameID(topology.KindPort, "uplink2")
	bgpWait(ctx, t, "uplink2's status: one session up, a silent peer and a password mismatch reported", func() (bool, string) {
		vs, err := admin.StateKeys().Get(ctx, nsdb.KeyPortBGPStatus(), uplink2)
		if err != nil || len(vs) == 0 {
			return false, fmt.Sprint(err)
		}
		st, err := nsdb.ParseBGPStatus(vs[0].Value)
		if err != nil || !st.Running || len(st.Peers) != 3 {
			return false, vs[0].Value
		}
		want := map[string]bool{"198.51.100.9": true, "198.51.100.11": false, "198.51.100.12": false}
		for _, p := range st.Peers {
			if (p.State == "established") != want[p.Peer.String()] || (!want[p.Peer.String()] && p.Received != 0) {
				return false, vs[0].Value
			}
		}
		t.Logf("uplink2's status: %s", vs[0].Value)
		return true, ""
	})
	if st, _ := bird.State("gw2md5"); st == "Established" {
		t.Errorf("BIRD established the session signed with another key")
	}
	server := netip.MustParseAddr("203.0.113.100")
	pingUntil(ctx, t, vm, server)
	echo := startHelper(t, up, "tcp-echo behind BIRD", "tcp-echo", "203.0.113.100:7")
	if _, err := echo.waitOutput(ctx, regexp.MustCompile(`(?m)^listening$`)); err != nil {
		t.Fatal(err)
	}
	cli := startHelper(t, vm, "tcp-client in vm1", "tcp-client", "203.0.113.100:7", "65536")
	<-cli.done
	if cli.err != nil || !strings.Contains(cli.out.String(), "echoed 65536 bytes") {
		t.Fatalf("TCP vm1 -> 203.0.113.100:7: %v\n%s", cli.err, cli.out.String())
	}
	t.Logf("ping and TCP through the learned routes (%v)", time.Since(start).Round(time.Millisecond))

	// gw1's agent dies.
	kill := time.Now()
	_ = gw1.agent.cmd.Process.Kill()
	<-gw1.agent.done
	bgpWait(ctx, t, "BIRD drops gw1's path", func() (bool, string) {
		hops, err := bird.Paths(vmNet)
		return len(hops) == 1 && hops[0] == netip.MustParseAddr("198.51.100.10"), fmt.Sprint(hops, err)
	})
	t.Logf("BIRD dropped gw1's path %v after its agent was killed", time.Since(kill).Round(time.Millisecond))
	bgpWait(ctx, t, "gw1's learned routes vanish from the NSDB", func() (bool, string) {
		vs, err := admin.StateKeys().Get(ctx, nsdb.KeyPortRoutes(), uplink1)
		return err == nil && len(vs) == 0, fmt.Sprint(vs, err)
	})
	t.Logf("gw1's learned routes gone from the NSDB %v after its agent was killed", time.Since(kill).Round(time.Millisecond))
	// Five pings in a row (each its own ICMP identifier, so its own
	// ECMP hash) answered: traffic flows through gw2.
	ok := 0
	bgpWait(ctx, t, "traffic through gw2", func() (bool, string) {
		if vmtest.Ping(t, vm, server, 1) == nil {
			ok++
		} else {
			ok = 0
		}
		return ok >= 5, fmt.Sprint(ok, " pings in a row")
	})
	t.Logf("failover: traffic flowing again (5 pings in a row) %v after gw1's agent was killed", time.Since(kill).Round(time.Millisecond))
}

// bgpWait polls cond every 200 ms for at most two minutes.
func bgpWait(ctx context.Context, t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		ok, msg := cond()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %s", what, msg)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
