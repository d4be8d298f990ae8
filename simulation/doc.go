// Package simulation is hivenet's pure packet simulator.
//
// Given a topology snapshot, a read view of the state tables, an ingress port
// and a packet, it computes what the virtual network does with the packet:
// the virtual actions, header rewrites, generated packets (ARP, ICMP), the
// state writes it requests, the flow tags for invalidation, the set of match
// fields it examined (the megaflow mask), the flow timeout class and, on
// request, a readable trace. It is deterministic: no goroutines, no I/O, no
// wall clock and no global state; time and randomness are inputs.
//
// Packet parsing and building live in simulation/packet. Translating the
// virtual result into datapath actions belongs to the agent, not here.
package simulation
