// Package l4 implements the simulator's stateful services: connection
// tracking, network address translation and the routers' L4 load balancer.
// A [Services] value plugs into simulation.Input.Stateful; it implements
// simulation.Stateful and simulation.LoadBalancer.
//
// # Workers and tables
//
// The connection-tracking and NAT tables (flowstate.ConnTable and
// flowstate.NATTable) and the NAT port leaser are shared by all simulation
// workers of an agent. Each worker owns one Services (one per
// simulation.Engine): it holds the transaction of the simulation in
// progress and scratch buffers, and is not safe for concurrent use.
//
// # Transactions
//
// A simulation never writes the shared tables. Every state change it makes
// — conntrack return keys, NAT keys and their bindings, load-balancer
// entries, NAT ports leased — is held in the worker's transaction. After
// Simulate returns, the caller either commits it ([Services.Commit]: the
// packet is really processed, each key takes one reference held by the
// installed flow) or aborts it ([Services.Abort]: the packet is dropped
// for an error or parked, the ports leased are given back).
// [Services.Finish] picks according to the verdict. The keys a commit
// references are returned in a [Refs], which the agent keeps with the flow
// and releases ([Services.Release]) when the flow is removed; the keys
// then idle and expire after the tables' idle timeout, and expiring SNAT
// keys give their port back to the leaser ([FreeOnExpiry]). A commit also
// lists every key it wrote or refreshed in a flowstate.Message, for the
// agent to push to the peers that may see the connection's other packets.
//
// # Agent workflow
//
// Per worker: one simulation.Engine and one Services, sharing the agent's
// tables and leaser. Per packet:
//
//  1. Simulate with Input.Stateful set to the worker's Services.
//  2. If the verdict is NotYet with simulation.ReasonStateful, call
//     Waiting before Abort, park the packet until Wait.Ready is closed,
//     then simulate it again from scratch (or drop it if Wait.Err is not
//     nil).
//  3. Otherwise call Finish (before simulating the packets the result
//     generated, so that they see the state: an ICMP error about a
//     translated packet is translated back), install the flow with the
//     Refs, and push the Message to the peers before executing the
//     packet.
//  4. When the flow is removed, Release its Refs; periodically, Expire.
//     Keys received from peers go into the tables with Import.
//
// simulation/harness runs this workflow for tests and tools, one call per
// packet.
//
// # Differences from the reference
//
// Keys are flowstate's compact, pointer-free values (29-byte conntrack
// keys, 30-byte NAT keys, 6-byte bindings, versus 33/34/8 bytes in the
// reference's encoding). A masquerade rule (dynamic SNAT to the address of
// the router port the packet leaves through) applies only in a router's
// outbound filter, the one place the egress port is known; elsewhere it is
// not applied and the trace says so. A load balancer's outbound DROP drops
// the reply; the reference only skips the router's outbound filter and
// forwards it.
package l4
