//go:build linux

package vmtest_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/vmtest"
)

// flowStat is one line of ovs-dpctl dump-flows.
type flowStat struct {
	inPort  string // "1"
	ethType string // "0x0800"
	packets int
	actions string
}

var (
	reInPort  = regexp.MustCompile(`(?:^|,)in_port\(([^)]*)\)`)
	reEthType = regexp.MustCompile(`(?:^|,)eth_type\(([^)/]*)`)
	rePackets = regexp.MustCompile(` packets:(\d+),`)
	reActions = regexp.MustCompile(` actions:(.*)$`)
	reMissed  = regexp.MustCompile(`missed:(\d+)`)
)

func dumpFlows(t *testing.T, dp string) []flowStat {
	t.Helper()
	var flows []flowStat
	for _, line := range strings.Split(strings.TrimSpace(vmtest.Run(t, "ovs-dpctl", "dump-flows", dp)), "\n") {
		if line == "" {
			continue
		}
		var f flowStat
		if m := reInPort.FindStringSubmatch(line); m != nil {
			f.inPort = m[1]
		}
		if m := reEthType.FindStringSubmatch(line); m != nil {
			f.ethType = m[1]
		}
		m := rePackets.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("dump-flows line without packet count: %q", line)
		}
		f.packets, _ = strconv.Atoi(m[1])
		if m := reActions.FindStringSubmatch(line); m != nil {
			f.actions = m[1]
		}
		flows = append(flows, f)
	}
	return flows
}

func missed(t *testing.T, dp string) int {
	t.Helper()
	m := reMissed.FindStringSubmatch(vmtest.Run(t, "ovs-dpctl", "show", dp))
	if m == nil {
		t.Fatalf("ovs-dpctl show %s: no lookup statistics", dp)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestKernelHarness proves the VM harness end to end: the openvswitch module
// is loaded, and two network namespaces joined to a kernel datapath by veth
// pairs reach each other only through the flows installed with ovs-dpctl.
func TestKernelHarness(t *testing.T) {
	vmtest.Require(t)
	if _, err := os.Stat("/sys/module/openvswitch"); err != nil {
		t.Fatalf("openvswitch module not loaded: %v", err)
	}

	vm1 := vmtest.NewNetNS(t, "hvt-vm1")
	vm2 := vmtest.NewNetNS(t, "hvt-vm2")
	a1 := netip.MustParsePrefix("10.0.0.1/24")
	a2 := netip.MustParsePrefix("10.0.0.2/24")
	vmtest.VethPair(t, "hvt-h1", "eth0", vm1, a1)
	vmtest.VethPair(t, "hvt-h2", "eth0", vm2, a2)

	const dp = "hvt-dp"
	vmtest.Run(t, "ovs-dpctl", "add-dp", dp)
	t.Cleanup(func() { vmtest.Run(t, "ovs-dpctl", "del-dp", dp) })
	vmtest.Run(t, "ovs-dpctl", "add-if", dp, "hvt-h1,port_no=1")
	vmtest.Run(t, "ovs-dpctl", "add-if", dp, "hvt-h2,port_no=2")

	// No ovs-vswitchd handles upcalls: ARP and IPv4 need flows both ways.
	const (
		arp12 = "in_port(1),eth(),eth_type(0x0806),arp()"
		ip12  = "in_port(1),eth(),eth_type(0x0800),ipv4()"
		arp21 = "in_port(2),eth(),eth_type(0x0806),arp()"
		ip21  = "in_port(2),eth(),eth_type(0x0800),ipv4()"
	)
	vmtest.Run(t, "ovs-dpctl", "add-flow", dp, arp12, "2")
	vmtest.Run(t, "ovs-dpctl", "add-flow", dp, ip12, "2")
	vmtest.Run(t, "ovs-dpctl", "add-flow", dp, arp21, "1")
	vmtest.Run(t, "ovs-dpctl", "add-flow", dp, ip21, "1")

	flows := dumpFlows(t, dp)
	if len(flows) != 4 {
		t.Fatalf("dump-flows: got %d flows, want 4: %+v", len(flows), flows)
	}
	for _, f := range flows {
		if f.packets != 0 {
			t.Errorf("flow %+v: packets before any traffic", f)
		}
	}

	const count = 3
	if err := vmtest.Ping(t, vm1, a2.Addr(), count); err != nil {
		t.Fatalf("ping through the datapath: %v", err)
	}

	seen := map[string]int{}
	for _, f := range dumpFlows(t, dp) {
		seen[f.inPort+"/"+f.ethType] = f.packets
		want := map[string]string{"1": "2", "2": "1"}[f.inPort]
		if f.actions != want {
			t.Errorf("flow in_port(%s) eth_type(%s): actions %q, want %q", f.inPort, f.ethType, f.actions, want)
		}
	}
	t.Logf("flow packet counts after ping: %v", seen)
	for _, k := range []string{"1/0x0800", "2/0x0800"} {
		if seen[k] < count {
			t.Errorf("IPv4 flow %s counted %d packets, want >= %d (echo requests/replies)", k, seen[k], count)
		}
	}
	if seen["1/0x0806"]+seen["2/0x0806"] < 2 {
		t.Errorf("ARP flows counted %d+%d packets, want a request and a reply",
			seen["1/0x0806"], seen["2/0x0806"])
	}

	// Without the IPv4 flow from port 1 the datapath misses (and, with no
	// upcall listener, drops): traffic really goes through the datapath.
	before := missed(t, dp)
	vmtest.Run(t, "ovs-dpctl", "del-flow", dp, ip12)
	// One request with one second to answer (Ping would wait three).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := vm1.Exec(ctx, "ping", "-c", "1", "-W", "1", a2.Addr().String())
	var ce *vmtest.CommandError
	if !errors.As(err, &ce) || !strings.Contains(string(out), "0 packets received") {
		t.Fatalf("ping without the IPv4 flow: got %v (%q), want no reply", err, out)
	}
	if after := missed(t, dp); after <= before {
		t.Errorf("datapath misses: %d before, %d after pinging without a flow", before, after)
	}
}

// TestKernelHelpers checks the helpers' own contract: namespaces and veth
// pairs exist while the test runs and are gone after its cleanup.
func TestKernelHelpers(t *testing.T) {
	vmtest.Require(t)
	t.Run("build", func(t *testing.T) {
		a := vmtest.NewNetNS(t, "hvt-a")
		b := vmtest.NewNetNS(t, "hvt-b")
		if _, err := os.Stat("/run/netns/hvt-a"); err != nil {
			t.Fatalf("namespace file: %v", err)
		}
		vmtest.VethPair(t, "hvt-ab", "eth0", a, netip.MustParsePrefix("10.2.0.1/24"))
		// Move the host end into b: a two-namespace link.
		vmtest.Run(t, "ip", "link", "set", "hvt-ab", "netns", b.Name())
		b.Run(t, "ip", "address", "add", "10.2.0.2/24", "dev", "hvt-ab")
		b.Run(t, "ip", "link", "set", "hvt-ab", "up")
		if out := a.Run(t, "ip", "-brief", "address", "show", "dev", "eth0"); !strings.Contains(out, "10.2.0.1/24") {
			t.Fatalf("eth0 in %s: %q, want 10.2.0.1/24", a.Name(), out)
		}
		if err := vmtest.Ping(t, a, netip.MustParseAddr("10.2.0.2"), 2); err != nil {
			t.Fatalf("ping across the veth pair: %v", err)
		}
		// Nothing answers in the root namespace: the address is elsewhere.
		err := vmtest.Ping(t, nil, netip.MustParseAddr("10.2.0.2"), 1)
		var ce *vmtest.CommandError
		if !errors.Is(err, vmtest.ErrPing) && !errors.As(err, &ce) {
			t.Fatalf("ping from the root namespace: got %v, want a failure", err)
		}
	})
	for _, p := range []string{"/run/netns/hvt-a", "/run/netns/hvt-b", "/sys/class/net/hvt-ab"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after cleanup: %v, want it gone", p, err)
		}
	}
}
