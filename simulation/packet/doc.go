// Package packet parses, builds and rewrites the frames the simulator and
// the in-process datapath handle.
//
// # Match and megaflow tracking
//
// [Match] is the flow match of one packet, filled by [Match.Parse]. It is a
// plain value (no pointers or slices), so `c := *m` copies it completely.
// Reading a field through a getter (m.IPDst()) adds the field to
// [Match.Seen]; writing it through a setter (m.SetIPDst(a)) changes the value
// and adds it to [Match.Modified]. The agent turns Seen into the kernel
// megaflow mask and the modified fields into set-field actions (see
// [Changed] and [Apply]). [Match.Peek] returns a [View] reading the same
// fields without marking them, for traces, printing and key building.
//
// # Building and rewriting
//
// The Append* builders (ARP request/reply, ICMP echo reply, ICMP errors,
// [AppendFrame]) append a frame to a caller-provided buffer. The Set*
// functions and [PushVLAN]/[PopVLAN] rewrite a parsed frame in place,
// patching the IPv4, TCP, UDP and ICMP checksums incrementally (RFC 1624).
// [Apply] applies a whole Match diff with them.
//
// # Allocation-free contract
//
// Parse, every Match/View getter and setter, Seen/Modified/ClearSeen/Reset,
// Changed, the Set* rewrite functions, PopVLAN, and Apply without VLAN pushes
// never allocate, on good and bad input alike (errors are pre-built *[Error]
// values). The builders, PushVLAN and Apply with pushes allocate only when
// the destination slice lacks capacity. Tests assert this with
// testing.AllocsPerRun; benchmarks in package simulation report it.
//
// Nothing here panics on malformed input: decoders return errors wrapping
// [ErrTruncated] or [ErrMalformed] and leave their output unchanged.
package packet
