package topofile_test

import (
	"strings"
	"testing"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

func TestFormatRule(t *testing.T) {
	top := loadString(t, `
bridges: [{name: net, ports: [{name: p1}, {name: p2}]}]
routers: [{name: r}]
chains:
  - name: c
    rules:
      - {action: accept, match-return-flow: true}
      - {action: accept, nw-proto: tcp, tp-dst: 22}
      - action: drop
      - {jump: c, not-nw-src: 10.0.0.0/8}
      - {snat: "203.0.113.10:1024-65535", out-ports: [p1, p2]}
      - {rev-snat: true, action: continue, in-ports: [p1]}
      - {dnat: 10.0.0.5, nw-dst: 203.0.113.5}
      - {action: return, conjunction-invert: true, nw-src: 10.0.0.0/8, nw-proto: udp}
      - {action: reject, traversed-device: r, fragment-policy: header}
      - {action: accept, conjunction-invert: true}
      - {masquerade: true, out-ports: [p1]}
      - {masquerade: 20000-29999}
`)
	f := topofile.NewFormatter(top)
	want := []string{
		"accept if match-return-flow",
		"accept if nw-proto tcp and tp-dst 22",
		"drop",
		"jump c if not nw-src 10.0.0.0/8",
		"snat to 203.0.113.10:1024-65535 (dynamic) if out-ports [p1 p2]",
		"rev-snat (reverse), then continue if in-ports [p1]",
		"dnat to 10.0.0.5 (static) if nw-dst 203.0.113.5/32",
		"return unless nw-proto udp and nw-src 10.0.0.0/8",
		"reject if traversed-device r [fragment-policy header]",
		"accept never",
		"masquerade to the egress port's address:1024-65535 (dynamic) if out-ports [p1]",
		"masquerade to the egress port's address:20000-29999 (dynamic)",
	}
	rules := top.Chains[0].Rules
	if len(rules) != len(want) {
		t.Fatalf("%d rules", len(rules))
	}
	for i, w := range want {
		if got := f.Rule(&rules[i]); got != w {
			t.Errorf("rule %d = %q, want %q", i, got, w)
		}
	}
	if got := f.Condition(&rules[8].Condition); got != "traversed-device r [fragment-policy header]" {
		t.Errorf("Condition = %q", got)
	}
	if got := f.Name(topology.KindPort, topology.NameID(topology.KindPort, "p2")); got != "p2" {
		t.Errorf("Name = %q", got)
	}
	unknown := topology.MustParseID("00000000-0000-4000-8000-000000000009")
	if got := f.Name(topology.KindPort, unknown); got != unknown.String() {
		t.Errorf("Name of an unknown port = %q", got)
	}
}

func TestFormatRoute(t *testing.T) {
	top := loadString(t, `
routers:
  - name: r
    ports: [{name: up, address: 10.0.0.2/24}]
    routes:
      - {dst: 0.0.0.0/0, port: up, gateway: 10.0.0.1}
      - {dst: 10.9.0.0/16, src: 10.1.0.0/16, next-hop: blackhole, weight: 7}
      - {dst: 10.8.0.0/16, next-hop: reject}
`)
	f := topofile.NewFormatter(top)
	for i, want := range []string{"0.0.0.0/0 via up gw 10.0.0.1", "10.9.0.0/16 from 10.1.0.0/16 blackhole weight 7", "10.8.0.0/16 reject"} {
		if got := f.Route(&top.Routes[i]); got != want {
			t.Errorf("route %d = %q, want %q", i, got, want)
		}
	}
	if got := topofile.PortAddress(&top.Ports[0]); got != "10.0.0.2/24" {
		t.Errorf("PortAddress = %q", got)
	}
}

func TestSummarize(t *testing.T) {
	top, err := topofile.LoadFile("../../examples/topologies/two-bridges-router.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := topofile.Summarize(&b, top); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	squeezed := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"Topology: 1 host, 0 tunnel zones, 2 bridges, 1 router, 6 ports, 0 chains (0 rules)",
		"host-a  vm1=tap-vm1 vm2=tap-vm2",
		"vm1       exterior host-a/tap-vm1",
		"left-r1   interior peer r1-left (router r1)",
		"r1-left   10.0.1.1/24  " + topofile.DefaultMAC(topology.NameID(topology.KindPort, "r1-left")).String() + "  interior peer left-r1 (bridge left)",
		"10.0.1.1/32  implicit  local (r1-left)",
		"10.0.2.0/24  implicit  via r1-right",
		"dhcp 10.0.2.0/24 server 10.0.2.2 gateway 10.0.2.1",
	} {
		if !strings.Contains(squeezed, strings.Join(strings.Fields(want), " ")) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	for i, line := range strings.Split(out, "\n") {
		if strings.HasSuffix(line, " ") {
			t.Errorf("line %d has trailing spaces: %q", i+1, line)
		}
	}
}
