// Package topofile reads and writes topology files: whole virtual topologies
// written by hand in YAML.
//
// # Layout
//
// A file is one YAML mapping with these sections, all optional, in any
// order: hosts, tunnel-zones, bridges, routers, port-groups, ip-addr-groups,
// chains, load-balancers, health-monitors and vteps. Ports, routes, DHCP
// subnets, BGP peers and networks, pools, members, VIPs and rules are
// written inside their owner:
//
//	hosts: [{name: host-a}, {name: host-b}]
//	tunnel-zones:
//	  - name: underlay
//	    type: vxlan                      # vxlan, gre or vtep
//	    members: {host-a: 192.168.100.11, host-b: 192.168.100.12}
//	bridges:
//	  - name: net1
//	    ports:
//	      - {name: vm1, host: host-a, interface: tap-vm1, outbound-filter: sg}
//	      - {name: net1-r1, peer: r1-net1}
//	    dhcp:
//	      - subnet: 10.0.0.0/24
//	        gateway: 10.0.0.1
//	        hosts: [{mac: "fa:16:3e:00:00:11", addr: 10.0.0.11, name: vm1}]
//	routers:
//	  - name: r1
//	    ports:
//	      - {name: r1-net1, address: 10.0.0.1/24}
//	      - {name: r1-up, address: 198.51.100.2/24, host: host-b, interface: eth1}
//	    routes:
//	      - {dst: 0.0.0.0/0, port: r1-up, gateway: 198.51.100.1}
//	chains:
//	  - name: sg
//	    rules:
//	      - {action: accept, match-return-flow: true}
//	      - {action: accept, nw-proto: tcp, tp-dst: 22}
//	      - action: drop
//
// The example files in examples/topologies are complete, commented
// topologies; testdata/all-features.yaml uses every key.
//
// # Names, IDs and MACs
//
// Objects refer to each other by name: "peer: r1-net1", "host: host-a",
// "jump: sg". A reference may also be the UUID of an object of the file,
// which is how Write refers to objects without a name or with a shared one.
// An unknown name is an error ("port \"vm9\" not found").
//
// Every object takes an optional id: key. Without it, the ID of a named
// object is topology.NameID(kind, name), so the same file always gives the
// same IDs; health monitors, which have no name in the model, take a name:
// that serves only as their handle in the file. Unnamed objects get IDs
// derived from their owner and position: the i-th rule of a chain has
// RuleID(chain ID, i), and the i-th route, BGP peer or BGP network of a
// router, DHCP subnet of a bridge, member or VIP of a pool has ChildID(owner
// ID, kind, i). Reordering such objects changes their IDs; give them an id:
// to pin them.
//
// A router port's address: a.b.c.d/n sets the port's address and its first
// subnet (the masked prefix); a bare address sets the address only;
// subnets: lists further subnets. Without mac:, a router port gets
// DefaultMAC(port ID), a locally administered unicast MAC derived from its
// ID.
//
// # Ports and peering
//
// Bridge ports take host, interface, peer, vlan, vtep, inbound-filter,
// outbound-filter, port-groups, tunnel-key, admin-down and
// service-container; router ports take address, subnets, mac and mtu
// (the largest IPv4 datagram routed out of the port; larger ones are
// dropped, with ICMP fragmentation needed when DF is set) instead of vlan
// and vtep. A peering is written on either side, or on both: Load sets
// both ports' Peer, and reports a conflict when the two sides name
// different ports or two ports claim the same peer.
//
// # Routes
//
// A route has dst, and either port: (next-hop port, optionally gateway:) or
// next-hop: blackhole, reject or local (a local route may also name a
// port); src and weight are optional. A router's implicit local and
// connected routes are not written: topology.NewRouteTable adds them.
//
// # Rules
//
// A rule is a literal rule with action: accept, drop, reject or return; a
// jump rule, jump: <chain>; or a NAT rule: snat: or dnat: with one target or
// a list of targets, or rev-snat: true / rev-dnat: true. A NAT target is
// a.b.c.d, a range a.b.c.d-a.b.c.e, either followed by :port or
// :port-port; a single target without ports is static NAT (a floating IP),
// targets with ports are dynamic NAT. masquerade: true is a dynamic SNAT
// to the address of the router port the packet leaves by (for a router's
// outbound filter), on ports 1024-65535; masquerade: 20000-29999 names the
// ports. NAT rules default to action: accept; continue and return are the
// other actions they allow.
//
// The rest of a rule's keys are its condition; each key matches one field of
// topology.Condition and "not-" before a key inverts that field:
//
//	match-forward-flow: true      match-return-flow: true
//	in-ports: [p1, p2]            out-ports: [p3]
//	port-group: g                 in-port-group: g        out-port-group: g
//	ip-addr-group-src: a          ip-addr-group-dst: a
//	ether-type: ipv4|arp|ipv6|0x88cc
//	eth-src: aa:bb:cc:dd:ee:ff    eth-dst: 01:00:5e:00:00:00/ff:ff:ff:80:00:00
//	no-vlan: true                 vlan: 10
//	nw-tos: 16                    nw-proto: tcp|udp|icmp|<0-255>
//	nw-src: 10.0.0.0/24           nw-dst: 10.0.0.5 (a bare address is a /32)
//	tp-src: 1024-65535            tp-dst: 22 (ICMP: type and code)
//	icmp-data-src: 10.0.0.0/8     icmp-data-dst: 10.0.0.0/8
//	traversed-device: <bridge or router>
//	nw-dst-rewritten: true
//	fragment-policy: any|header|nonheader|unfragmented
//	conjunction-invert: true      (negates the whole conjunction)
//
// e.g. {action: drop, ether-type: ipv4, not-nw-src: 10.0.0.11/32}.
//
// # DHCP
//
// A bridge's dhcp: subnets take subnet, server-addr, gateway, dns-servers,
// mtu, routes ({dst, gateway}: classless static routes), hosts and
// disabled. A host entry is {mac, addr, name, options}; options are extra
// DHCP options sent to that host, each {code: 1-254} with value: (text) or
// hex: (bytes, "0a000002"); they replace the agent's options of the same
// code.
//
// # Load balancers
//
// load-balancers hold pools: (name, health-monitor, persistence: source-ip,
// admin-down), each with members: (addr, port, weight, default 1; status:
// active, inactive or monitored) and vips: (addr, port, persistence). A
// router names its load balancer with load-balancer:.
//
// # Errors
//
// Load returns an ErrorList; each *Error carries the file, line, column and
// field path (routers[1].ports[0].address) of one problem. Unknown keys,
// malformed values, unknown names and peering conflicts are reported
// first; a file that decodes is then validated with
// topology.Topology.Validate and each problem is placed at the object and
// field it names.
//
// # Large files
//
// Load is linear in the file. A file of 256 KB or more whose top level is
// plain block lists (as Write writes it) is parsed in pieces of whole list
// items on every core while the decoder reads the pieces already parsed,
// and each piece's parse tree is collected once decoded; pieces in the
// plain style Write uses skip the general YAML parser. The result, errors
// included, is the same as a whole parse's: any other shape, or a piece
// that fails, is parsed whole. A fresh process loads a 100,000-port file
// of 7.5 MB in well under 2 s.
//
// # Writing
//
// Write emits the same layout with names, leaving out IDs and MACs Load
// would derive and fields at their defaults, so that Load(Write(t)) equals t
// for every topology Load returned.
//
// # Parts of a larger topology
//
// LoadWith loads a file that names objects it does not hold — one scope of
// a store that holds others — resolving those names among the objects it
// is given and validating the file's objects with them; WriteWith writes
// references to such objects by name.
//
// YAML anchors and aliases are not accepted, and a file holds one YAML
// document.
//
// # Single objects in JSON
//
// The REST API (nsdb/api) reads and writes one object at a time in JSON
// with the same keys: DecodeObject and EncodeObject (DecodeRule and
// EncodeRule for one rule of a chain). An object names its owner with the
// key a file expresses by nesting (a port's bridge: or router:, a route's
// router:, a pool's load-balancer:, a member's pool:, ...) and leaves out
// what a file nests inside it, which are objects of their own. JSON values
// must have the JSON type of their key (ErrWrongType); references resolve
// through the caller (ObjectOptions.Resolve), and validation problems are
// placed at their JSON keys by Decoded.Locate. EncodeObject writes
// references as UUIDs and always writes ids and router port MACs.
// The kinds a file holds at its top level also take scope: in JSON (the
// scope of the file they were applied from, topology.Bridge.Scope); a file
// does not name a scope.
package topofile
