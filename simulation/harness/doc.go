// Package harness answers, one call per packet, "what does the virtual
// network do with this packet?": it is the pure simulator (package
// simulation with the stateful services of simulation/l4) set up the way an
// agent runs it, for a controller's own tests, for tools such as
// examples/trace, and for anything else that wants a verdict without
// running agents.
//
//	h, err := harness.LoadFile("two-tenant-cloud.yaml", harness.Config{Seed: 1})
//	...
//	h.MustSend(t, "vm1", harness.Ping("vm2")).ExpectDelivered(t, "vm2")
//	h.MustSend(t, "vm3", harness.TCP("vm2:80")).ExpectDropped(t, simulation.ReasonFilter)
//
// # Names
//
// Everything is named as in the topology file: ports ("vm1",
// "provider-uplink"), bridges, routers, load balancers. A VM is the machine
// behind an exterior bridge port and takes the port's name; its MAC and
// address come from the DHCP host entry of the port's bridge that has the
// port's name ([VMs]). Packets name their destination by VM name or by
// address. Results name the ports the packet left through.
//
// # Packets
//
// The builders speak the trace command's vocabulary: [Ping], [TCP] and
// [UDP] ("10.0.2.11:53", "vm4:22" or "src:port->dst:port"), [ARPRequest],
// [ARPReply] and [Frame] for raw bytes; With* methods set flags, source
// port and address, MACs, TTL, VLAN and payload. What a packet leaves out is
// filled in from its sender: the VM's MAC and address, and as destination
// MAC the VM or router port owning the destination on the sender's bridge,
// else the gateway. [Spec] is the same vocabulary as strings, for command
// lines and request bodies.
//
// # Sending
//
// [Harness.Send] does what an agent does with a packet: it simulates it
// with connection tracking, NAT and load balancing; when a NAT port block is
// being claimed it waits and simulates again; when a router lacks the ARP
// entry of its next hop it delivers the router's ARP request, lets the VM
// that owns the address answer, and simulates again; it commits the
// resulting state (MAC learning, ARP entries, conntrack and NAT keys); and it
// simulates the packets the network generated (ARP and echo replies, ICMP
// errors) to see where they go. The [Result] says where the packet went
// (port names), what it looked like there (parsed, rewrites applied), why it
// was dropped, and carries the simulator's trace. [Harness.Reply] sends the
// answer of a delivered packet back from where it arrived.
//
// # State and determinism
//
// The harness owns its state: MAC and ARP tables, port liveness, pool
// member health, the conntrack and NAT tables (load-balancer mappings are
// NAT keys of the load balancer) and an in-memory NAT port leaser.
// [Harness.State] returns all of it as named values and [Harness.SetState]
// sets it, so a test can start from a given state and check the one it
// ends in. Every exterior port starts active, so that routers publish the
// routes of their exterior ports. Randomness (load-balancer and NAT draws)
// comes from a stream seeded by Config.Seed, and time from the harness's
// own clock ([Harness.Advance]): the same seed and the same packets give
// the same results.
//
// # Why it lives here
//
// It builds only on the pure simulator, its stateful services, flowstate
// and the topology model: like them it imports no store and no NAT leaser,
// so it runs anywhere, fast, without ZooKeeper or a datapath. The same
// packets run on real agents through datapath/agent/sandbox.
package harness
