//go:build linux

package main

// Kernel-tier tests of what a VM expects from its network: DHCP answered by
// the agent and the MTU of a routed path. Each runs one agent in this test
// process (root namespace of the test VM) on its own openvswitch kernel
// datapath with the embedded NSDB, and real clients in VM namespaces:
//
//	root namespace: the agent, datapath hvn-<test>   vm namespaces
//	  tap-* (veth host ends, datapath ports)  <-->   eth0
//
// The clients are busybox's udhcpc and iputils' ping (the image's
// /usr/bin/iputils-ping; busybox ping has no -M) and the TCP helpers of
// kernel_e2e_linux_test.go.

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/internal/vmtest"
	"github.com/hivenet/hivenet/topology"
)

// localAgent runs the agent command in this process on the kernel
// datapath dp with the topology yaml, until the test ends; it returns the
// agent once ready and the ports named are bound.
func localAgent(t *testing.T, dp, yaml string, ports ...string) *agent.Agent {
	t.Helper()
	file := filepath.Join(t.TempDir(), "topology.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var log syncBuffer
	ready := make(chan *agent.Agent, 1)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-host", "h1", "-datapath", "kernel", "-dp-name", dp, "-nsdb", "memory", "-f", file, "-listen", "", "-v"},
			&log, func(a *agent.Agent, _ string) { ready <- a })
	}()
	t.Cleanup(func() {
		cancel()
		if rc := <-done; rc != 0 {
			t.Errorf("agent exited with %d", rc)
		}
		if t.Failed() {
			t.Logf("=== agent log\n%s", tail(log.String(), 60))
			t.Logf("=== ovs-dpctl dump-flows\n%s", dpctl(nil, "dump-flows", dp))
		}
		dpctl(nil, "del-dp", dp)
	})
	var a *agent.Agent
	select {
	case a = <-ready:
	case rc := <-done:
		t.Fatalf("agent exited with %d:\n%s", rc, log.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("agent not ready:\n%s", log.String())
	}
	for _, p := range ports {
		id := topology.NameID(topology.KindPort, p)
		deadline := time.Now().Add(time.Minute)
		for {
			if _, ok := a.LocalPort(id); ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("port %s never bound:\n%s", p, log.String())
			}
			time.Sleep(50 * time.Millisecond) // polling a condition, not ordering events
		}
	}
	return a
}

// vmNS makes a VM namespace plugged into the datapath through the veth
// tap (root side) / eth0 (VM side), with mac and, if valid, addr and gw.
func vmNS(t *testing.T, name, tap, mac string, addr netip.Prefix, gw netip.Addr) *vmtest.NetNS {
	t.Helper()
	ns := vmtest.NewNetNS(t, name)
	vmtest.VethPair(t, tap, "eth0", ns, addr)
	ns.Run(t, "ip", "link", "set", "eth0", "address", mac)
	if gw.IsValid() {
		ns.Run(t, "ip", "route", "add", "default", "via", gw.String())
	}
	return ns
}

const dhcpYAML = `
hosts: [{name: h1}]
tunnel-zones:
  - {name: tz, type: vxlan, members: {h1: 192.168.77.1}}
bridges:
  - name: net1
    ports:
      - {name: vm1, host: h1, interface: tap-d1}
      - {name: vm2, host: h1, interface: tap-d2}
    dhcp:
      - subnet: 10.9.0.0/24
        server-addr: 10.9.0.2
        gateway: 10.9.0.1
        dns-servers: [10.9.0.2, 10.9.0.3]
        routes: [{dst: 172.16.0.0/12, gateway: 10.9.0.254}]
        hosts:
          - {mac: "02:00:00:00:09:01", addr: 10.9.0.11, name: vm-dhcp, options: [{code: 15, value: vmnet.test}]}
`

// udhcpcScript prints, at each event, what udhcpc got: the values are
// checked from the client's own output.
const udhcpcScript = `#!/bin/sh
echo "event=$1"
for v in ip subnet broadcast router dns mtu staticroutes hostname domain lease serverid; do
	eval "x=\$$v"
	[ -n "$x" ] && echo "$v=$x"
done
exit 0
`

// TestKernelAgentDHCP: busybox udhcpc in a VM namespace, attached to the
// kernel datapath, gets its address, mask, router, DNS servers, MTU (the
// tunnel MTU: a 1400-byte underlay interface less 50), classless routes
// (with the default route), host name, domain (an extra option) and lease
// from the agent; a VM without a host entry gets no lease.
func TestKernelAgentDHCP(t *testing.T) {
	vmtest.Require(t)
	// The underlay interface holding the host's tunnel-zone address.
	vmtest.Run(t, "ip", "link", "add", "name", "ul-dhcp", "type", "dummy")
	t.Cleanup(func() {
		dpctl(nil, "show")
		_, _ = vmtest.Exec(context.Background(), "ip", "link", "delete", "ul-dhcp")
	})
	vmtest.Run(t, "ip", "address", "add", "192.168.77.1/24", "dev", "ul-dhcp")
	vmtest.Run(t, "ip", "link", "set", "ul-dhcp", "mtu", "1400", "up")
	vm1 := vmNS(t, "dhcp-vm1", "tap-d1", "02:00:00:00:09:01", netip.Prefix{}, netip.Addr{})
	vm2 := vmNS(t, "dhcp-vm2", "tap-d2", "02:00:00:00:09:02", netip.Prefix{}, netip.Addr{})
	a := localAgent(t, "hvn-dhcp", dhcpYAML, "vm1", "vm2")
	if got := a.TunnelMTU(); got != 1350 {
		t.Errorf("TunnelMTU %d, want 1400 - 50", got)
	}
	script := filepath.Join(t.TempDir(), "udhcpc.sh")
	if err := os.WriteFile(script, []byte(udhcpcScript), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// -f foreground, -q quit once bound, -n fail without a lease, three
	// DISCOVERs a second apart.
	out, err := vm1.Exec(ctx, "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "3", "-T", "1", "-s", script, "-O", "mtu", "-O", "staticroutes")
	t.Logf("udhcpc in vm1:\n%s", out)
	if err != nil {
		t.Fatalf("udhcpc in vm1: %v", err)
	}
	got := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(\w+)=(.*)$`).FindAllStringSubmatch(string(out), -1) {
		got[m[1]] = strings.TrimSpace(m[2])
	}
	want := map[string]string{
		"event": "bound", "ip": "10.9.0.11", "subnet": "255.255.255.0", "broadcast": "10.9.0.255",
		"router": "10.9.0.1", "dns": "10.9.0.2 10.9.0.3", "mtu": "1350",
		"staticroutes": "172.16.0.0/12 10.9.0.254 0.0.0.0/0 10.9.0.1",
		"hostname":     "vm-dhcp", "domain": "vmnet.test", "lease": "86400", "serverid": "10.9.0.2",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("udhcpc's %s = %q, want %q", k, got[k], v)
		}
	}

	// vm2's MAC has no host entry: no offer, udhcpc gives up.
	out, err = vm2.Exec(ctx, "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "2", "-T", "1", "-s", script)
	if err == nil || strings.Contains(string(out), "event=bound") {
		t.Errorf("udhcpc in vm2 (no host entry) got a lease: %v\n%s", err, out)
	}
	flows := dpctl(nil, "dump-flows", "hvn-dhcp")
	if strings.Contains(flows, "dst=67") {
		t.Errorf("a kernel flow matches DHCP requests:\n%s", flows)
	}
}

const mtuYAML = `
hosts: [{name: h1}]
bridges:
  - name: net1
    ports:
      - {name: vm1, host: h1, interface: tap-m1}
      - {name: net1-r1, peer: r1-net1}
  - name: net2
    ports:
      - {name: vm2, host: h1, interface: tap-m2}
      - {name: net2-r1, peer: r1-net2}
routers:
  - name: r1
    ports:
      - {name: r1-net1, address: 10.8.1.1/24}
      - {name: r1-net2, address: 10.8.2.1/24, mtu: 1400}
`

// TestKernelAgentMTU: across a router port with a 1400-byte MTU, on the
// kernel datapath, iputils ping with DF and 1472 bytes of data (a 1500-byte
// datagram) gets "frag needed" with MTU 1400 from the router, 1372 bytes
// get through, and a 1 MiB TCP transfer completes (path-MTU discovery on
// the sender's ICMP errors); the megaflow carries check_pkt_len(size=1414).
func TestKernelAgentMTU(t *testing.T) {
	vmtest.Require(t)
	vm1 := vmNS(t, "mtu-vm1", "tap-m1", "02:00:00:00:08:01", netip.MustParsePrefix("10.8.1.11/24"), netip.MustParseAddr("10.8.1.1"))
	vm2 := vmNS(t, "mtu-vm2", "tap-m2", "02:00:00:00:08:02", netip.MustParsePrefix("10.8.2.12/24"), netip.MustParseAddr("10.8.2.1"))
	localAgent(t, "hvn-mtu", mtuYAML, "vm1", "vm2")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dst := netip.MustParseAddr("10.8.2.12")
	pingUntil(ctx, t, vm1, dst)

	out, _ := vm1.Exec(ctx, "iputils-ping", "-M", "do", "-s", "1472", "-c", "2", "-i", "0.5", "-W", "3", dst.String())
	t.Logf("ping -M do -s 1472:\n%s", out)
	if !regexp.MustCompile(`(?i)frag needed and DF set \(mtu = 1400\)`).Match(out) {
		t.Errorf("ping -M do -s 1472 did not get fragmentation needed with MTU 1400 from the router:\n%s", out)
	}
	if !strings.Contains(string(out), "From 10.8.1.1") {
		t.Errorf("the error did not come from the router's port 10.8.1.1:\n%s", out)
	}
	out, err := vm1.Exec(ctx, "iputils-ping", "-M", "do", "-s", "1372", "-c", "1", "-W", "5", dst.String())
	if err != nil || !strings.Contains(string(out), " 0% packet loss") {
		t.Errorf("ping -M do -s 1372 (a 1400-byte datagram): %v\n%s", err, out)
	}
	if flows := dpctl(nil, "dump-flows", "hvn-mtu"); !strings.Contains(flows, "check_pkt_len(size=1414,gt(userspace(pid=") {
		t.Errorf("no flow sends packets over 1414 bytes to userspace:\n%s", flows)
	}

	srv := startHelper(t, vm2, "tcp-echo in vm2", "tcp-echo", "0.0.0.0:7000")
	if _, err := srv.waitOutput(ctx, regexp.MustCompile(`(?m)^listening$`)); err != nil {
		t.Fatal(err)
	}
	const size = 1 << 20
	start := time.Now()
	cli := startHelper(t, vm1, "tcp-client in vm1", "tcp-client", netip.AddrPortFrom(dst, 7000).String(), strconv.Itoa(size))
	select {
	case <-cli.done:
	case <-ctx.Done():
		t.Fatalf("the TCP client did not finish: %v\n%s", ctx.Err(), cli.out.String())
	}
	if cli.err != nil || !strings.Contains(cli.out.String(), fmt.Sprintf("echoed %d bytes", size)) {
		t.Fatalf("1 MiB over TCP across the 1400-byte MTU: %v\nclient:\n%s\nserver:\n%s", cli.err, cli.out.String(), srv.out.String())
	}
	t.Logf("1 MiB echoed across the 1400-byte MTU in %v", time.Since(start).Round(time.Millisecond))
	// The sender learned the path MTU from the router's errors.
	if out := vm1.Run(t, "ip", "route", "get", dst.String()); !strings.Contains(out, "mtu 1400") {
		t.Errorf("vm1's route cache has no path MTU 1400:\n%s", out)
	}
}
