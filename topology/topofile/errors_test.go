package topofile_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// A small valid base most cases extend.
const base = `
hosts: [{name: host-a}]
bridges:
  - name: net
    ports:
      - {name: vm1, host: host-a, interface: tap1}
      - {name: net-r, peer: r-net}
routers:
  - name: r
    ports:
      - {name: r-net, address: 10.0.0.1/24}
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		// class is checked with errors.Is; line and path locate the first
		// error; msg is a substring of its message.
		class error
		line  int
		path  string
		msg   string
	}{
		{"syntax", "hosts: [a,\nbridges: x\n", topofile.ErrSyntax, 2, "", "YAML syntax error"},
		{"two documents", "hosts: []\n---\nhosts: []\n", topofile.ErrSyntax, 0, "", "one YAML document"},
		{"unknown top-level key", "hostz: []\n", topofile.ErrUnknownKey, 1, "hostz", `unknown key "hostz"`},
		{"unknown nested key", base + "      - {name: r-x, adress: 10.1.0.1/24}\n",
			topofile.ErrUnknownKey, 12, "routers[0].ports[1].adress", `unknown key "adress"`},
		{"router key on bridge port", "bridges: [{name: b, ports: [{name: p, address: 10.0.0.1/24}]}]\n",
			topofile.ErrUnknownKey, 1, "bridges[0].ports[0].address", `unknown key "address"`},
		{"duplicate key", "hosts:\n  - name: a\n    name: b\n", topofile.ErrDuplicateKey, 3, "hosts[0].name", `duplicate key "name"`},
		{"unknown port", strings.Replace(base, "peer: r-net", "peer: vm9", 1), topofile.ErrNotFound, 7, "bridges[0].ports[1].peer", `port "vm9" not found`},
		{"unknown host", strings.Replace(base, "host: host-a", "host: host-z", 1), topofile.ErrNotFound, 6, "bridges[0].ports[0].host", `host "host-z" not found`},
		{"unknown jump target", "chains: [{name: c, rules: [{jump: nope}]}]\n", topofile.ErrNotFound, 1, "chains[0].rules[0].jump", `chain "nope" not found`},
		{"unknown port in condition", "chains:\n  - name: c\n    rules:\n      - {action: drop, in-ports: [vm1, vm2]}\n" + base[1:],
			topofile.ErrNotFound, 4, "chains[0].rules[0].in-ports[1]", `port "vm2" not found`},
		{"unknown tunnel zone member", "tunnel-zones:\n  - name: z\n    type: vxlan\n    members:\n      host-q: 10.0.0.1\n",
			topofile.ErrNotFound, 5, "tunnel-zones[0].members.host-q", `host "host-q" not found`},
		{"unknown traversed device", "chains: [{name: c, rules: [{action: drop, traversed-device: x}]}]\n", topofile.ErrNotFound, 1, "chains[0].rules[0].traversed-device", `bridge or router "x" not found`},
		{"ambiguous traversed device", "bridges: [{name: x}]\nrouters: [{name: x}]\nchains: [{name: c, rules: [{action: drop, not-traversed-device: x}]}]\n",
			topofile.ErrAmbiguous, 3, "chains[0].rules[0].not-traversed-device", "both a bridge and a router"},
		{"bad address", strings.Replace(base, "10.0.0.1/24", "10.0.0.300/24", 1), topofile.ErrBadValue, 11, "routers[0].ports[0].address", "10.0.0.300/24"},
		{"bad number", "bridges: [{name: b, vni: lots}]\n", topofile.ErrBadValue, 1, "bridges[0].vni", `"lots" is not a decimal number`},
		{"number too large", "bridges: [{name: b, ports: [{name: p, vlan: 65536}]}]\n", topofile.ErrBadValue, 1, "bridges[0].ports[0].vlan", "0-65535"},
		{"bad bool", "port-groups: [{name: g, stateful: yes}]\n", topofile.ErrBadValue, 1, "port-groups[0].stateful", "true or false"},
		{"bad enum", "tunnel-zones: [{name: z, type: ipip}]\n", topofile.ErrBadValue, 1, "tunnel-zones[0].type", "vxlan, gre, vtep"},
		{"bad id", "hosts: [{name: a, id: 1234}]\n", topofile.ErrBadValue, 1, "hosts[0].id", "not a UUID"},
		{"bad NAT target", "chains: [{name: c, rules: [{snat: '10.0.0.1:http'}]}]\n", topofile.ErrBadValue, 1, "chains[0].rules[0].snat", "not a NAT target"},
		{"bad port range", "chains: [{name: c, rules: [{action: drop, tp-dst: 1-x}]}]\n", topofile.ErrBadValue, 1, "chains[0].rules[0].tp-dst", "port range"},
		{"bad protocol", "chains: [{name: c, rules: [{action: drop, nw-proto: tcpp}]}]\n", topofile.ErrBadValue, 1, "chains[0].rules[0].nw-proto", "tcp, udp, icmp"},
		{"list expected", "hosts: host-a\n", topofile.ErrBadValue, 1, "hosts", "expected a list"},
		{"mapping expected", "hosts: [host-a]\n", topofile.ErrBadValue, 1, "hosts[0]", "expected a mapping"},
		{"alias", "hosts:\n  - &h {name: a}\n  - *h\n", topofile.ErrBadValue, 3, "hosts[1]", "aliases"},
		{"no name or id", "hosts: [{flooding-proxy-weight: 1}]\n", topofile.ErrMissing, 1, "hosts[0]", "needs a name or an id"},
		{"route without next hop", "routers: [{name: r, routes: [{dst: 0.0.0.0/0}]}]\n", topofile.ErrMissing, 1, "routers[0].routes[0]", "a port or a next-hop"},
		{"rule without action", "chains: [{name: c, rules: [{nw-proto: tcp}]}]\n", topofile.ErrMissing, 1, "chains[0].rules[0]", "needs one of the keys action"},
		{"two rule kinds", "chains: [{name: c, rules: [{jump: c, snat: 10.0.0.1}]}]\n", topofile.ErrBadValue, 1, "chains[0].rules[0].snat", "only one of"},
		{"inverted and not", "chains: [{name: c, rules: [{action: drop, nw-src: 10.0.0.0/8, not-nw-src: 10.0.0.0/8}]}]\n", topofile.ErrBadValue, 1, "chains[0].rules[0].not-nw-src", "exclude each other"},
		{"rev-snat false", "chains: [{name: c, rules: [{rev-snat: false}]}]\n", topofile.ErrBadValue, 1, "chains[0].rules[0].rev-snat", "remove the rule"},
		{"masquerade false", "chains: [{name: c, rules: [{masquerade: false}]}]\n", topofile.ErrBadValue, 1, "chains[0].rules[0].masquerade", "remove the rule"},
		{"masquerade to an address", "chains: [{name: c, rules: [{masquerade: 10.0.0.1}]}]\n", topofile.ErrBadValue, 1, "chains[0].rules[0].masquerade", "true or a port range"},
		{"masquerade and snat", "chains: [{name: c, rules: [{snat: 10.0.0.1, masquerade: true}]}]\n", topofile.ErrBadValue, 1, "chains[0].rules[0].masquerade", "only one of"},
		{"peer conflict", base + "      - {name: r-x, address: 10.1.0.1/24, peer: net-r}\n",
			topofile.ErrPeerConflict, 12, "routers[0].ports[1].peer", `port "net-r" names "r-net" as its peer`},
		{"peer claimed twice", "bridges:\n  - name: b\n    ports:\n      - {name: p1, peer: p3}\n      - {name: p2, peer: p3}\n      - {name: p3}\n",
			topofile.ErrPeerConflict, 5, "bridges[0].ports[1].peer", `port "p3" is already the peer of "p1"`},

		// Problems found by validation, placed in the file.
		{"address outside subnet", "routers: [{name: r, ports: [{name: p, address: 10.0.5.1, subnets: [10.0.0.0/24]}]}]\n",
			topology.ErrAddrOutsideSubnet, 1, "routers[0].ports[0].address", `port "p"`},
		{"overlapping subnets", base + "      - {name: r-x, address: 10.0.0.129/25}\n",
			topology.ErrOverlappingSubnets, 12, "routers[0].ports[1].address", "overlaps 10.0.0.0/24"},
		{"host bits in extra subnet", "routers: [{name: r, ports: [{name: p, address: 10.0.0.1/24, subnets: [10.1.0.1/24]}]}]\n",
			topology.ErrInvalidField, 1, "routers[0].ports[0].subnets[0]", "host bits"},
		{"self peer", "bridges: [{name: b, ports: [{name: p, peer: p}]}]\n", topology.ErrSelfPeer, 1, "bridges[0].ports[0].peer", "peered with itself"},
		{"bound and peered", strings.Replace(base, "{name: net-r, peer: r-net}", "{name: net-r, peer: r-net, host: host-a, interface: tap2}", 1),
			topology.ErrBoundAndPeered, 7, "bridges[0].ports[1].peer", "both bound and peered"},
		{"bound and peered, other side", strings.Replace(base, "{name: r-net, address: 10.0.0.1/24}", "{name: r-net, address: 10.0.0.1/24, host: host-a, interface: tap2}", 1),
			topology.ErrBoundAndPeered, 7, "bridges[0].ports[1].peer", `port "r-net"`},
		{"duplicate binding", strings.Replace(base, "{name: net-r, peer: r-net}", "{name: net-r, host: host-a, interface: tap1}", 1),
			topology.ErrDuplicateBinding, 7, "bridges[0].ports[1].interface", `"tap1"`},
		{"duplicate name", "hosts:\n  - name: a\n  - {name: a, id: 00000000-0000-4000-8000-000000000001}\n",
			topology.ErrDuplicateName, 3, "hosts[1].name", "another host"},
		{"duplicate ID", "hosts:\n  - {name: a, id: 00000000-0000-4000-8000-000000000001}\n  - {name: b, id: 00000000-0000-4000-8000-000000000001}\n",
			topology.ErrDuplicateID, 3, "hosts[1].id", `host "a"`},
		{"duplicate rule ID", "chains:\n  - name: c\n    rules:\n      - {id: 00000000-0000-4000-8000-000000000001, action: drop}\n      - {id: 00000000-0000-4000-8000-000000000001, action: drop}\n",
			topology.ErrDuplicateID, 5, "chains[0].rules[1].id", "two rules"},
		{"VLAN out of range", "bridges: [{name: b, ports: [{name: p, vlan: 4095}]}]\n", topology.ErrInvalidField, 1, "bridges[0].ports[0].vlan", "4094"},
		{"VNI out of range", "bridges: [{name: b, vni: 42}]\n", topology.ErrInvalidField, 1, "bridges[0].vni", "10000"},
		{"route via another router's port", base + "    routes: [{dst: 0.0.0.0/0, port: vm1}]\n",
			topology.ErrForeignPort, 12, "routers[0].routes[0].port", `port "vm1" belongs to a bridge`},
		{"static NAT to two addresses", "chains: [{name: c, rules: [{dnat: 10.0.0.1-10.0.0.2}]}]\n",
			topology.ErrInvalidNAT, 1, "chains[0].rules[0].dnat", "one address"},
		{"static NAT with two targets", "chains: [{name: c, rules: [{snat: [10.0.0.1, 10.0.0.2]}]}]\n",
			topology.ErrInvalidNAT, 1, "chains[0].rules[0].snat", "exactly one target"},
		{"reverse NAT with a target", "chains: [{name: c, rules: [{rev-dnat: '10.0.0.1:80'}]}]\n",
			topology.ErrInvalidNAT, 1, "chains[0].rules[0].rev-dnat", "no targets"},
		{"dynamic NAT with a fragment policy", "chains:\n  - name: c\n    rules:\n      - snat: '10.0.0.1:1-100'\n        fragment-policy: header\n",
			topology.ErrInvalidRule, 5, "chains[0].rules[0].fragment-policy", "unfragmented"},
		{"NAT rule with drop", "chains: [{name: c, rules: [{snat: 10.0.0.1, action: drop}]}]\n",
			topology.ErrInvalidRule, 1, "chains[0].rules[0].action", "accept, continue or return"},
		{"jump rule with accept", "chains: [{name: c, rules: [{jump: c, action: accept}]}]\n",
			topology.ErrInvalidRule, 1, "chains[0].rules[0].action", "jump rule"},
		{"condition host bits", "chains:\n  - name: c\n    rules:\n      - {action: drop, not-nw-src: 10.0.0.1/24}\n",
			topology.ErrInvalidField, 4, "chains[0].rules[0].not-nw-src", "host bits"},
		{"condition empty range", "chains: [{name: c, rules: [{action: drop, tp-src: 9-1}]}]\n",
			topology.ErrInvalidField, 1, "chains[0].rules[0].tp-src", "empty"},
		{"forward and return flow", "chains: [{name: c, rules: [{action: drop, match-forward-flow: true, match-return-flow: true}]}]\n",
			topology.ErrInvalidField, 1, "chains[0].rules[0].match-return-flow", "never match"},
		{"tunnel zone member twice", "hosts: [{name: h}]\ntunnel-zones:\n  - name: z\n    type: vxlan\n    members:\n      h: 10.0.0.1\n      h: 10.0.0.2\n",
			topology.ErrDuplicateID, 7, "tunnel-zones[0].members.h", "member twice"},
		{"tunnel zone without type", "tunnel-zones: [{name: z}]\n", topology.ErrInvalidField, 1, "tunnel-zones[0]", "gre, vxlan or vtep"},
		{"dhcp multicast MAC", "bridges:\n  - name: b\n    dhcp:\n      - subnet: 10.0.0.0/24\n        hosts: [{mac: 'ff:ff:ff:ff:ff:ff', addr: 10.0.0.5}]\n",
			topology.ErrInvalidField, 5, "bridges[0].dhcp[0].hosts[0].mac", "unicast"},
		{"dhcp option value and hex", "bridges:\n  - name: b\n    dhcp:\n      - subnet: 10.0.0.0/24\n        hosts: [{mac: '02:00:00:00:00:05', addr: 10.0.0.5, options: [{code: 15, value: a, hex: '61'}]}]\n",
			topofile.ErrBadValue, 5, "bridges[0].dhcp[0].hosts[0].options[0].hex", "exclude each other"},
		{"dhcp option bad hex", "bridges:\n  - name: b\n    dhcp:\n      - subnet: 10.0.0.0/24\n        hosts: [{mac: '02:00:00:00:00:05', addr: 10.0.0.5, options: [{code: 15, hex: 'zz'}]}]\n",
			topofile.ErrBadValue, 5, "bridges[0].dhcp[0].hosts[0].options[0].hex", "not hexadecimal"},
		{"mtu on a bridge port", "bridges: [{name: b, ports: [{name: p, mtu: 1400}]}]\n",
			topofile.ErrUnknownKey, 1, "bridges[0].ports[0].mtu", `unknown key "mtu"`},
		{"router port mtu too small", "routers: [{name: r, ports: [{name: p, address: 10.0.0.1/24, mtu: 60}]}]\n",
			topology.ErrInvalidField, 1, "routers[0].ports[0].mtu", "at least 68"},
		{"dhcp server outside subnet", "bridges: [{name: b, dhcp: [{subnet: 10.0.0.0/24, server-addr: 10.0.1.2}]}]\n",
			topology.ErrAddrOutsideSubnet, 1, "bridges[0].dhcp[0].server-addr", "outside 10.0.0.0/24"},
		{"health monitor timeout", "health-monitors: [{name: m, delay: 2, timeout: 5}]\n", topology.ErrInvalidField, 1, "health-monitors[0].timeout", "exceeds"},
		{"pool member without port", "load-balancers: [{name: lb, pools: [{name: p, members: [{addr: 10.0.0.1}]}]}]\n",
			topology.ErrInvalidField, 1, "load-balancers[0].pools[0].members[0]", "pool-member"},
		{"shared load balancer", "load-balancers: [{name: lb}]\nrouters:\n  - {name: r1, load-balancer: lb}\n  - {name: r2, load-balancer: lb}\n",
			topology.ErrSharedReference, 4, "routers[1].load-balancer", `router "r1"`},
		{"vtep binding VLAN", "bridges: [{name: b}]\nvteps: [{name: v, management-ip: 10.0.0.9, bindings: [{port-name: eth1, vlan: 4095, bridge: b}]}]\n",
			topology.ErrInvalidField, 2, "vteps[0].bindings[0].vlan", "4094"},
		{"bgp peer without AS", "routers: [{name: r, bgp-peers: [{addr: 10.0.0.1}]}]\n", topology.ErrInvalidField, 1, "routers[0].bgp-peers[0]", "as-number"},
		{"bgp network host bits", "routers: [{name: r, bgp-networks: [10.0.0.1/8]}]\n", topology.ErrInvalidField, 1, "routers[0].bgp-networks[0].subnet", "host bits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			top, err := topofile.Load(strings.NewReader(tc.yaml), "test.yaml")
			if err == nil {
				t.Fatalf("Load succeeded: %+v", top)
			}
			if top != nil {
				t.Error("Load returned a topology with an error")
			}
			if !errors.Is(err, tc.class) {
				t.Errorf("errors.Is(err, %v) = false; err:\n%v", tc.class, err)
			}
			var e *topofile.Error
			if !errors.As(err, &e) {
				t.Fatalf("err %T is not a *topofile.Error", err)
			}
			if e.File != "test.yaml" || e.Line != tc.line || e.Path != tc.path {
				t.Errorf("error at %s:%d %q, want test.yaml:%d %q\n%v", e.File, e.Line, e.Path, tc.line, tc.path, err)
			}
			if !strings.Contains(e.Error(), tc.msg) {
				t.Errorf("message %q lacks %q", e.Error(), tc.msg)
			}
			var list topofile.ErrorList
			if !errors.As(err, &list) || len(list) != 1 {
				t.Errorf("want exactly one error, got:\n%v", err)
			}
		})
	}
}

// TestLoadReportsEveryProblem checks that decoding errors are all reported,
// in file order, and so are validation problems.
func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := topofile.Load(strings.NewReader(`
routers:
  - name: r
    colour: blue
    ports:
      - {name: p, address: nowhere, peer: ghost}
hosts: [{name: h, flooding-proxy-weight: -1}]
`), "many.yaml")
	var list topofile.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("err = %v", err)
	}
	want := []struct {
		line int
		path string
		err  error
	}{
		{4, "routers[0].colour", topofile.ErrUnknownKey},
		{6, "routers[0].ports[0].address", topofile.ErrBadValue},
		{6, "routers[0].ports[0].peer", topofile.ErrNotFound},
		{7, "hosts[0].flooding-proxy-weight", topofile.ErrBadValue},
	}
	if len(list) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(list), len(want), err)
	}
	for i, w := range want {
		if list[i].Line != w.line || list[i].Path != w.path || !errors.Is(list[i], w.err) {
			t.Errorf("error %d = %v, want line %d %s %v", i, list[i], w.line, w.path, w.err)
		}
	}

	_, err = topofile.Load(strings.NewReader(`
bridges: [{name: b, vni: 7}]
routers:
  - name: r
    ports:
      - {name: p1, address: 10.0.0.1/16}
      - {name: p2, address: 10.0.1.1/24}
`), "valid-syntax.yaml")
	list = nil
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("want 2 problems, got %v", err)
	}
	if !errors.Is(list[0], topology.ErrInvalidField) || list[0].Line != 2 ||
		!errors.Is(list[1], topology.ErrOverlappingSubnets) || list[1].Line != 7 {
		t.Errorf("problems:\n%v", err)
	}
	var p *topology.Problem
	if !errors.As(list[1], &p) || p.Name != "p2" || p.Field != "subnets[0]" {
		t.Errorf("second problem = %+v", p)
	}
	if got := list[1].Error(); !strings.HasPrefix(got, "valid-syntax.yaml:7:29: routers[0].ports[1].address: port \"p2\"") {
		t.Errorf("message %q", got)
	}
}
