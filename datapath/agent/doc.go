// Package agent is hivenet's agent: the per-host process that binds
// virtual ports to a datapath, simulates the packets the datapath sends up,
// installs the resulting megaflows and keeps them valid.
//
// # Why "datapath/agent"
//
// In the reference system (MidoNet) the agent's core is two actors: the
// DatapathController, which owns the datapath (its ports, the overlay
// tunnel ports, the binding of virtual ports to netdevs and the tunnel keys
// announced for them), and the PacketWorkflow, which turns upcalls into
// simulations and simulations into flows. Both
// are clients of the datapath and nothing else depends on them, so they
// live under datapath/, next to the datapath model they program, as one
// package: the workflow needs the controller's port maps on every packet
// and the controller needs the workflow's flow table on every change. The
// simulator (package simulation) stays pure; this package is where it
// meets the world: the NSDB (topology, state tables, state keys) and a
// datapath.Datapath (the kernel module through datapath/kernel, or the
// in-process datapath/inproc).
//
// # Entry point
//
// New returns an Agent for a Config (host ID, NSDB client, datapath);
// Agent.Run runs it until its context ends:
//
//	a, err := agent.New(agent.Config{Host: host, NSDB: client, Datapath: dp})
//	...
//	go a.Run(ctx)
//	<-a.Ready()
//
// examples/agent wraps it in a command; datapath/agent/sandbox runs
// several agents in one process on in-process datapaths (examples/sandbox).
// The pure mapping between simulation results and datapath flows
// (Translator, Megaflow, FrameFromKey, the flow-state frame) is package
// datapath/agent/translate, usable alone.
//
// # Where things are
//
// One job per file, so that one upcall can be read top to bottom:
//
//   - config.go, agent.go: the Config and its defaults; New and Run (the
//     lifecycle: what starts, in which order, and what stops it).
//   - dispatch.go: datapath setup (overlay ports, upcall sockets and
//     their PIDs) and keeping the upcall dispatch the agent set.
//   - workflow.go: the packet workflow of one worker: upcall → simulate →
//     translate → install → execute, packets from the overlay.
//   - generated.go: the packets a simulation generated (ARP requests,
//     ICMP errors and replies), simulated from their port's egress.
//   - installbatch.go: a worker's batch of flows simulated but not yet
//     installed, added to the flow table under one lock and put with one
//     PutFlows when its upcall queue runs dry.
//   - flowtable.go, flowentry.go, flows.go: the flow table (entries,
//     classes, tags, expiry, invalidation index) and the agent's install,
//     delete and invalidate.
//   - learning.go, arp.go, tables.go: the state tables: MAC learning,
//     ARP resolution and the waiting room, and the watches on the NSDB's
//     MAC, IPv4-MAC and ARP tables; tabledemand.go and tableidle.go open
//     a far device's tables when a simulation needs them and close them
//     once the device is idle.
//   - bindings.go: port bindings, tunnel keys and the port liveness
//     announced in the NSDB session.
//   - invalidation.go: folding topology changes into a new world and
//     invalidating the flows they affect.
//   - l4.go, flowstate.go, statekeys.go: the stateful services (connection
//     tracking, NAT, load balancer), the push and import of flow-state
//     messages, and the keys that sign them.
//   - statesave.go, restore.go: flow state that survives: messages saved
//     off the packet path, ports' state restored when they are bound (from
//     the previous host, the local store or the shared one), the transfer
//     service, and the preload of a takeover.
//   - admission.go: which underlay sources tunnelled packets are taken
//     from.
//   - vtep.go: the VxLAN gateway's data plane: the bridges' VxLAN ports
//     toward hardware VTEPs, tunnelled to the VTEP with the bridge's VNI,
//     and frames from VTEPs entering their bridge there.
//   - lbstatus.go: the health monitors' verdicts on pool members
//     (nsdb.KeyPoolMemberStatus, written by nsdb/cluster/lbhealth), which
//     the agent's own load balancer reads (Agent.MemberHealth for others).
//   - dhcp.go, mtu.go: DHCP answered before simulation (the server itself is
//     package simulation/dhcp) and the tunnel MTU it offers.
//   - bgpports.go, bgpattach.go, bgpdivert.go, bgproutes.go: BGP on
//     uplink ports: the speakers (package datapath/agent/bgp, in child
//     processes) of the local BGP ports and their lifecycle, their
//     network namespaces and veth datapath ports, the traffic passed
//     between speaker and uplink, and the learned routes of every gateway
//     folded into the routers (ECMP).
//   - reconcile.go: the flows found in the datapath at start.
//   - housekeeping.go, metrics.go, inspect.go: timers, Prometheus metrics,
//     and what tests and operators can ask of a running agent.
//
// # What Run does
//
//   - Datapath setup: the overlay tunnel ports (VXLAN on UDP 6677, and GRE
//     when the datapath has it) are created or reused, one upcall socket
//     per worker is opened and every existing port is pointed at them
//     (one of them per port, round-robin, on kernels that take a single
//     upcall PID per vport, Linux 6.1 among them). A datapath that
//     implements datapath.DispatchKeeper (datapath/kernel) is checked every second
//     for per-port upcall dispatch, which ovs-dpctl switches off, and at
//     once when it reports a change (datapath.DispatchWatcher). The
//     datapath's flows are never flushed: they are dumped and reconciled
//     (below). A third tunnel port, VXLAN on Config.VTEPPort (4789),
//     carries the traffic of hardware VTEPs.
//   - Topology: a watch on every kind of the NSDB store feeds a
//     topology.Snapshot. Each batch of changes yields a new immutable
//     "world" (snapshot, state-table handles, local bindings, tunnel
//     routes) that workers load once per packet, then the flows the change
//     affects are invalidated.
//   - Bindings: each exterior port bound to this host
//     (Snapshot.HostPorts) gets a datapath port named after its interface
//     (created, or reused after a restart) and a random local tunnel key
//     of type 1 (1<<20 | 20 random bits), announced in the port's "active"
//     state key as nsdb.PortState{host, key}. The host's "alive" key and
//     every announcement are written again after an NSDB session expiry.
//   - Workflow: each worker has its own upcall socket (VM ports
//     spread their upcalls over all of them; the overlay ports use the
//     first only, so that a flow-state message is imported before the
//     packets that follow it) and receives, simulates (one
//     simulation.Engine per worker, with a simulation.State over the NSDB
//     tables' local caches and the ports' active keys), translate the
//     result (Translator: local outputs become output(port); remote ones
//     set(tunnel{key, src, dst, TTL 255}) + output(overlay port); rewrites
//     become set_masked actions computed with packet.Changed), install the
//     megaflow (key = the upcall key, mask = Megaflow of the examined
//     fields) under a UFID (a 128-bit hash of the key) with the hard
//     timeout of its class, then execute the packet. When its upcall
//     socket can tell its backlog (datapath.PendingCounter or
//     QueuedByteCounter), a worker queues plain forwarded or dropped
//     packets' flows and installs up to 64 with one acquisition of the
//     flow table's lock (their index slots read ahead) and one PutFlows
//     (one acquisition of the in-process table lock, or one sendmsg) once its
//     queue is empty, then executes their packets in order; anything else
//     empties the queue first. Expired and invalidated flows are removed
//     in batches too (datapath.FlowDeleter). Results whose
//     rewrites the datapath cannot express (ICMP identifiers) and decisions
//     on userspace-only fields install nothing: the packet is rewritten
//     with packet.Apply and executed output by output.
//     Packets from the overlay are output to the local port their tunnel
//     key names by a flow of their own, without simulation.
//   - Underlay admission (admission.go): packets tunnelled in are taken
//     only from the underlay addresses of the hosts sharing a tunnel zone
//     with this one, on the overlay port of the zone's encapsulation; the
//     flows delivering them match the outer source address besides the
//     in-port and the key, so that the check costs nothing per packet once
//     installed. A non-member source, a key of a port bound on another
//     host and an unknown key are dropped (by a short drop flow) and
//     counted by reason; a change of zone membership invalidates the flows
//     of the addresses it admits or no longer admits.
//   - VxLAN gateway: a bridge's VxLAN port toward a VTEP (Port.VTEP) is
//     located at the VTEP's tunnel address (nsdb.KeyVTEPConfig, published
//     by the VTEP's manager) with the bridge's VNI as tunnel key; a packet
//     from a VTEP's address on the VTEP tunnel port is simulated as
//     entering the bridge whose VNI it carries at that VxLAN port, and its
//     megaflow matches the VNI and the VTEP's address too. The flooding
//     proxy is the host to which the VTEPs send what they flood; its
//     simulation floods it like any frame.
//   - DHCP: a DHCP client message (UDP 68 -> 67) entering an exterior
//     port of a bridge with an enabled DHCP subnet is answered before any
//     simulation from the static host entries (package simulation/dhcp),
//     out of the ingress port only; no kernel flow is installed for DHCP
//     requests, and every flow from such ports matches the fields the
//     check read, so that no other flow captures them. Requests from MACs
//     without a host entry are simulated like any packet. The interface
//     MTU offered is capped by the tunnel MTU: the underlay interface's
//     MTU (Config.UnderlayMTU, or discovered from the interface holding
//     the host's tunnel-zone address) less Config.TunnelOverhead.
//   - Path MTU: a result that holds only for packets up to a router
//     port's MTU (simulation.Result.MTU) is installed as check_pkt_len:
//     larger packets come up to the worker's socket as action upcalls and
//     are simulated (dropped, with ICMP fragmentation needed when DF).
//   - Generated packets (ARP, ICMP) are simulated from their port's egress
//     and executed, never installed. Packets waiting for an ARP reply
//     (verdict NotYet) are parked and simulated again when the router's
//     ARP table gets the entry, or dropped with a short drop flow after
//     the waiting-room timeout; ARP requests are repeated at most once per
//     retry interval.
//   - State tables: MAC learnings are reference-counted by the
//     flows that hold them (the entry is written on the first reference
//     and removed MACExpiry after the last); ARP and IPv4-MAC writes are
//     applied in the background; the agent removes its own ARP entries when
//     they expire.
//   - Invalidation: every installed flow is indexed by its tags.
//     Topology changes (device tags, routes, port links, exterior port
//     sets), MAC table changes (learned, moved, removed), ARP entry
//     changes, port active changes, tunnel route changes, pool member
//     health changes (the member's pool) and flow-state imports invalidate the flows carrying the affected tags, which are
//     deleted from the datapath. A flow whose simulation started before an
//     invalidation of one of its tags is not installed.
//   - Flow state, with Config.Stateful (NewL4 over package
//     simulation/l4, NAT port blocks leased through the NSDB client's
//     nsdb.Blocks) or a Config.FlowState: each worker's transaction is
//     finished before the generated packets are simulated, packets waiting
//     for a NAT port block are parked until it comes; the keys a
//     simulation's transaction created are pushed, before the data packet,
//     to the hosts owning the ingress and egress ports (and the members of
//     their stateful port groups) over the overlay with tunnel key
//     0xFFFFFF, each signed with the cluster's flow-state key
//     (flowstate/auth; Config.FlowStateKeys, else read from the NSDB and
//     refreshed); received messages that verify are imported and the flows
//     tagged with their keys invalidated, the others counted and dropped. The data packet that follows a push is
//     executed with TunnelKeyUpcall in its tunnel keys (the installed flow
//     keeps the plain keys): receivers have no flow for such a key, so it
//     comes up to the overlay worker behind the state and is delivered
//     only once the state is imported, and the destination's answer is
//     simulated with it.
//   - Flow state that survives, with Config.StateStore (a
//     flowstate/localstore.Store) and optionally Config.SharedStateStore
//     (flowstate/cassandra): every message a worker pushes, and every one
//     it imports, is handed to a queue without allocating and saved by a
//     goroutine of its own. Before a newly bound port is published to the
//     workers and announced, its state is restored into the tables: from
//     the host that announced it last (flowstate/transfer, on that host's
//     underlay address, Config.StatePort, within Config.StateFetchTimeout)
//     when it moved here, falling back to the shared store, then the local
//     one; else from the local store, falling back to the shared one. The
//     source-NAT ports of the connections that started on the port are
//     reserved in the leaser, which claims their blocks back once no other
//     session holds them. Each agent serves its local store to the hosts
//     its ports move to; both ends of a transfer prove they hold the
//     flow-state key.
//   - Restart: the NSDB is read first; the flows found in the datapath are
//     re-simulated from their keys after the bound ports' state is
//     restored; those whose mask and actions are unchanged are kept (with
//     fresh tags and timeouts, and references on the flow state they use),
//     the others deleted (why, at debug level). Tunnel keys are recovered
//     from the previous announcement or from the tunnelled-in flows, so
//     remote hosts' flows stay valid.
//   - Takeover (Config.Handover, a fast reboot): a second agent reads the
//     NSDB and loads its ports' state from the local store while the
//     running agent forwards, then Handover stops the running one and the
//     new agent takes the datapath over as after a restart.
//   - BGP: a router port bound here whose router has an AS number and BGP
//     peers in the port's subnets gets a speaker while the NSDB session is
//     up and the port active (kept BGPConfig.Grace after a session loss),
//     wired to the uplink through a veth datapath port (BGPConfig.Attach)
//     that passes only TCP 179 to and from the peers, ICMP and ARP of the
//     port's address. Learned routes are session-owned KeyPortRoutes
//     values that every agent folds into its snapshot as routes through
//     the port (equal weights: ECMP across gateways); the status is
//     written to KeyPortBGPStatus every BGPConfig.StatusInterval.
//
// Metrics are registered on Config.Registerer (never the global registry)
// under hivenet_agent_*: upcalls by kind, simulations by verdict, flows
// installed by class and removed by reason, tags invalidated, drops by
// reason, upcall queue depth (and, for kernel sockets, the bytes queued
// unread: hivenet_agent_upcall_queue_bytes), flows, flow-state messages sent and
// received, NSDB writes dropped, DHCP requests, replies and unanswered
// requests, the tunnel MTU. Logs go to Config.Logger.
//
// # Performance
//
// BenchmarkFlowSetup measures new flows through the whole agent on the
// in-process datapath (upcall, simulation, translation, install, execute,
// expiry): about 100,000 flows/s on 2 cores. BenchmarkDHCPReplies
// measures DHCP DISCOVERs answered through the whole agent: about 300,000
// replies/s on 2 cores, the agent allocating nothing per reply.
// BenchmarkAgentMemory10kPorts reports about 23 MB for an agent with a
// 10,000-port topology.
package agent
