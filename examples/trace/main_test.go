package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/simulation"
)

const (
	twoBridges = "../topologies/two-bridges-router.yaml"
	cloud      = "../topologies/two-tenant-cloud.yaml"
)

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errs bytes.Buffer
	if code := run(args, &out, &errs); code != 0 {
		t.Fatalf("trace %v: exit %d: %s", args, code, errs.String())
	}
	return out.String()
}

func wantLines(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Errorf("output lacks %q:\n%s", l, out)
		}
	}
}

func TestTraceRouted(t *testing.T) {
	out := runOK(t, "-from", "vm1", "-icmp-echo", "10.0.2.11", "-f", twoBridges)
	wantLines(t, out,
		"ingress port vm1: exterior port of bridge left",
		"route router r1: 10.0.1.11 -> 10.0.2.11: 10.0.2.0/24 port via port r1-right",
		"verdict: forward, flow normal",
		"output: vm2 after eth_src=",
		"ip_ttl=63")
}

func TestTraceJSON(t *testing.T) {
	out := runOK(t, "-json", "-from", "vm1", "-udp", ":5353->10.0.2.11:53", "-f", twoBridges)
	var tr simulation.Trace
	if err := json.Unmarshal([]byte(out), &tr); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if tr.Verdict != "forward" || len(tr.Outputs) != 1 || tr.Outputs[0].Port != "vm2" || len(tr.Steps) == 0 {
		t.Errorf("trace %+v", tr)
	}
}

func TestTraceARPAnsweredByBridge(t *testing.T) {
	out := runOK(t, "-from", "vm1", "-arp-request", "10.0.1.1", "-f", twoBridges)
	wantLines(t, out, "verdict: consumed", "generated: out of vm1:", "arp reply 10.0.1.1 is-at")
}

func TestTraceUnlearnedFloods(t *testing.T) {
	out := runOK(t, "-from", "vm1", "-learned", "none", "-tcp", "10.1.0.11:1000->10.1.0.12:80", "-f", cloud)
	wantLines(t, out, "flood bridge tenant-a-net", "verdict: forward", "output: vm2")
	out = runOK(t, "-from", "vm1", "-learned", "vm2", "-tcp", "10.1.0.11:1000->10.1.0.12:80", "-f", cloud)
	wantLines(t, out, "destination fa:16:3e:0a:00:12 is on port vm2", "output: vm2")
}

func TestTraceNAT(t *testing.T) {
	// vm1 has a floating IP: static SNAT to 203.0.113.11, ports untouched,
	// and connection tracking records the reply's key at the uplink.
	out := runOK(t, "-from", "vm1", "-tcp", ":34567->8.8.8.8:443",
		"-arp", "provider/198.51.100.1=02:00:00:00:00:99", "-f", cloud)
	wantLines(t, out, "static NAT applied", "conntrack: packet is a forward flow",
		"record return key conntrack(", "output: provider-uplink", "eth_dst=02:00:00:00:00:99", "ip_src=203.0.113.11")
	if strings.Contains(out, "tp_src=") {
		t.Errorf("static NAT rewrote the source port:\n%s", out)
	}
	// vm2 goes through the tenant's dynamic SNAT: address and port change,
	// the port coming from a NAT block claimed on the first attempt.
	out = runOK(t, "-from", "vm2", "-tcp", ":34567->8.8.8.8:443",
		"-arp", "provider/198.51.100.1=02:00:00:00:00:99", "-f", cloud)
	wantLines(t, out, "dynamic NAT applied", "output: provider-uplink", "ip_src=203.0.113.10", "tp_src=")
	// Without the upstream ARP entry the provider router asks and waits.
	out = runOK(t, "-from", "vm1", "-tcp", ":34567->8.8.8.8:443", "-f", cloud)
	wantLines(t, out, "verdict: not-yet (arp-pending)", "waiting: router provider ARP for 198.51.100.1",
		"arp who-has 198.51.100.1")
}

func TestTraceFromUplink(t *testing.T) {
	out := runOK(t, "-from", "provider-uplink", "-src-ip", "198.51.100.1", "-icmp-echo", "198.51.100.2", "-f", cloud)
	wantLines(t, out, "verdict: consumed", "icmp echo reply")
}

func TestTraceUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-from", "vm1"},
		{"-from", "vm1", "-icmp-echo", "10.0.2.11", "-udp", "a", "-f", twoBridges},
		{"-from", "nope", "-icmp-echo", "10.0.2.11", "-f", twoBridges},
		{"-from", "left-r1", "-icmp-echo", "10.0.2.11", "-f", twoBridges},
		{"-from", "vm1", "-tcp", "10.0.0.1:1-10.0.0.2:2", "-f", twoBridges},
		{"-from", "vm1", "-icmp-echo", "10.0.2.11", "-learned", "nope", "-f", twoBridges},
		{"-from", "vm1", "-icmp-echo", "10.0.2.11", "-arp", "bad", "-f", twoBridges},
		{"-from", "vm1", "-icmp-echo", "10.0.2.11", "a.yaml", "b.yaml"},
	} {
		var out, errs bytes.Buffer
		if code := run(args, &out, &errs); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, errs.String())
		}
	}
	var out, errs bytes.Buffer
	if code := run([]string{"-from", "vm1", "-icmp-echo", "10.0.2.11", "-f", "missing.yaml"}, &out, &errs); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}
	// An unquoted -> is a shell redirect: the flow arrives cut, the rest
	// as arguments, and the error says to quote it.
	errs.Reset()
	if code := run([]string{"-from", "vm1", "-tcp", ":34567-", "8.8.8.8:443"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "quote") {
		t.Errorf("unquoted flow: exit %d, stderr %q", code, errs.String())
	}
	out.Reset()
	if code := run([]string{"-h"}, &out, &errs); code != 0 {
		t.Errorf("-h: exit %d, want 0", code)
	}
}

// Traces read like the topology file: rules by their text, a legend for
// the flow classes, tags only with -tags, a hint when a next hop outside
// the topology has no ARP entry.
func TestTraceReadable(t *testing.T) {
	out := runOK(t, "-from", "vm1", "-tcp", ":34567->10.1.0.12:22", "-f", cloud)
	wantLines(t, out, "rule 3 [accept if nw-proto tcp and tp-dst 22]: match, accept", "(flow classes: normal = ")
	if strings.Contains(out, "tag: ") {
		t.Errorf("tags without -tags:\n%s", out)
	}
	out = runOK(t, "-tags", "-from", "vm1", "-tcp", ":34567->10.1.0.12:22", "-f", cloud)
	wantLines(t, out, "tag: ")
	out = runOK(t, "-from", "vm1", "-tcp", ":34567->8.8.8.8:443", "-f", cloud)
	wantLines(t, out, "verdict: not-yet (arp-pending)", "hint: ", "-arp ROUTER/IP=MAC")
}
