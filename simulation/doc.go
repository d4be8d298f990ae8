// Package simulation is hivenet's pure packet simulator.
//
// Given a topology snapshot, a read view of the state tables, an ingress port
// and a packet, it computes what the virtual network does with the packet:
// the output ports and the header rewrites for each, the packets the network
// generates (ARP, ICMP), the state writes it requests (MAC learning, ARP and
// IPv4-MAC tables), the flow tags for invalidation, the set of match fields
// it examined (the megaflow mask), the flow's timeout class and, on request,
// a readable trace. Packet parsing and building live in simulation/packet;
// translating the virtual result into datapath actions belongs to the agent.
//
// # Using it
//
// An [Engine] is created once per worker goroutine with [New] and reused:
//
//	e := simulation.New(simulation.Config{})
//	var r simulation.Result
//	err := e.Simulate(&simulation.Input{
//		Snapshot: snap, State: tables, InPort: port, Frame: frame, Now: now,
//	}, &r)
//
// Package simulation/harness does all of this for tests and tools: it loads
// a topology file, names ports and VMs, builds packets, runs the stateful
// services and keeps the state between packets.
//
// [Input] carries everything the simulation reads; [Result] everything it
// computed. Both the Engine and the Result keep their buffers between calls,
// so a warmed-up engine simulates without allocating (tests assert it with
// testing.AllocsPerRun; BenchmarkSimulateL2 and BenchmarkSimulateL3 measure
// it). Tracing ([Input].Trace) allocates.
//
// # Determinism
//
// The simulator starts no goroutines, does no I/O, reads no clock and keeps
// no global state. Time ([Input].Now) and randomness ([Input].Rand, exposed
// to stateful services through [Flow.Rand]) are inputs: the same Input gives
// the same Result and the same trace. Missing state never blocks: an unknown
// ARP next hop yields an ARP request in Result.Generated and the NotYet
// verdict with Result.Waiting set; the agent re-simulates the packet from
// scratch when the state arrives.
//
// # Devices
//
// Ports, bridges, routers and rule chains behave as the reference system's
// (MidoNet) do: port ingress and egress with filters, admin state and the
// 12-port loop guard; bridges with MAC learning, flooding, VLAN-aware L2
// gateways and ARP answering; IPv4 routers with ARP, longest-prefix routing
// over publishing ports, ECMP by connection hash, TTL, port MTUs (ICMP
// fragmentation needed; Result.MTU bounds the packets a forwarding
// decision holds for), ICMP errors and echo replies; conditions, fragment
// policies and chains with jumps.
//
// # Megaflow
//
// Devices read packet fields through packet.Match getters, which mark them
// seen; Result.Seen is the union over every branch of a flood, plus the
// input port. Decisions read only what they need: a pure L2 bridge decision
// examines the Ethernet addresses alone, a rule condition only the fields of
// the sub-conditions it evaluated (an L3 field after the ethertype, an L4
// field after the protocol). Decisions that depended on fields the kernel
// cannot match (packet.UserspaceFields) get FlowNone.
//
// # Stateful services
//
// Connection tracking, NAT and the load balancer plug in through the
// [Stateful] interface ([Input].Stateful): forward/return-flow conditions ask
// it, NAT rules delegate to it, and it is told when a packet leaves through
// an exterior port (to record return keys). Without one, every packet is a
// forward flow (generated packets are return flows) and NAT rules are not
// applied, which the trace says. A Stateful that also implements
// [LoadBalancer] runs routers' L4 load balancers, before the inbound filter
// and after routing. Package simulation/l4 is the implementation.
package simulation
