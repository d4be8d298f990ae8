// Package hivenet is a Go SDK of network-virtualization primitives in the
// MidoNet tradition.
//
// Every host runs an agent that holds the whole virtual topology, simulates
// each new flow through virtual bridges, routers, filters, NAT and load
// balancers, and programs the local Open vSwitch kernel datapath with the
// result. Shared state lives in proven distributed stores.
//
// # How the packages fit together
//
//   - [github.com/hivenet/hivenet/datapath/agent] is the agent, the
//     per-host process everything else serves: it watches the NSDB, binds
//     the host's virtual ports to datapath ports, simulates each packet the
//     datapath sends up, installs the resulting megaflow and keeps it valid.
//     It lives under datapath/ because it is the datapath's one client and
//     nothing depends on it; datapath/agent/sandbox runs several agents in
//     one process for tests.
//   - [github.com/hivenet/hivenet/topology] is the object model every other
//     package speaks: bridges, routers, ports, chains and rules, routes, port
//     groups, load balancers, tunnel zones, hosts. It validates objects and
//     whole topologies, and builds immutable, incrementally updated snapshots
//     that simulation workers read without locks. topology/topofile reads and
//     writes the human-friendly YAML topology files.
//   - [github.com/hivenet/hivenet/nsdb] is the network-state database: the
//     object store with versions, transactions, referential bindings and
//     watches; replicated state tables (MAC, IPv4→MAC, ARP); ephemeral state
//     keys (host liveness, active ports); leader election and sequences. It has
//     an in-memory backend (nsdb/memory) and a ZooKeeper backend
//     (nsdb/zookeeper) that pass one conformance suite (nsdb/nsdbtest).
//   - [github.com/hivenet/hivenet/simulation] is the pure packet simulator:
//     given a snapshot, a read view of the state tables and a packet arriving
//     on a virtual port, it computes what the virtual network does with it,
//     which header fields it looked at (the megaflow mask), the state it wants
//     written, and a readable trace. No goroutines, no I/O, no clock.
//     simulation/packet parses frames into flow matches and builds ARP and
//     ICMP packets without allocating; simulation/l4 adds connection
//     tracking, NAT and load balancing; simulation/harness runs packets by
//     name for a controller's own tests, one call per packet.
//   - [github.com/hivenet/hivenet/flowstate] holds connection-tracking and
//     NAT state, its tables and its wire format; [github.com/hivenet/hivenet/nat]
//     leases NAT port blocks across agents.
//   - [github.com/hivenet/hivenet/datapath] programs the Open vSwitch kernel
//     datapath over generic netlink, and offers an in-process datapath with the
//     same interface for hosts without the kernel module.
//   - [github.com/hivenet/hivenet/vxgw] synchronises VxLAN gateways with
//     hardware VTEPs over OVSDB.
//   - examples/ holds thin commands that assemble the packages.
//
// # How a packet flows
//
//	nsdb ──watch──▶ topology.Snapshot ──▶ simulation.Engine ──▶ datapath
//	 (ZooKeeper)       (immutable)          (pure function)       (kernel flows)
//
// An agent watches the NSDB and folds every change into a new
// topology.Snapshot. When the kernel datapath misses on a packet it sends an
// upcall; the agent parses the frame, runs the simulation against the current
// snapshot and state tables, translates the virtual result into datapath
// actions (local output, or a tunnel to the host that owns the destination
// port), installs a megaflow whose mask is exactly the set of fields the
// simulation examined, and executes the packet. Flows are tagged with the
// devices and state they depended on, so a later change invalidates exactly
// the flows it affects.
package hivenet
