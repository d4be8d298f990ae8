// Package inproc is an in-process Open vSwitch datapath: the same
// datapath.Datapath interface as the kernel client (datapath/kernel), for
// hosts without the openvswitch module, for the sandbox and for tests that
// run several agents in one process.
//
// # Entry points
//
// New returns a *Datapath with its local port 0. CreatePort adds internal
// and netdev ports, which are in-memory endpoints (Datapath.Endpoint:
// Endpoint.Send injects a frame as received from the VM or host,
// Endpoint.Receive returns the frames the datapath outputs to the port), and
// VXLAN ports, which send and receive RFC 7348 datagrams on a real UDP
// socket (see vxlan.go for addressing). OpenUpcalls, PutFlow, Execute and the
// other datapath.Datapath methods behave as the kernel's: the same errors
// (errno values wrapped in *datapath.OpError), the same flow create/modify
// rules, the same upcall keys.
//
// # Conformance with the kernel
//
// TestKernelConformance (run in the VM harness) feeds the same frames to the
// Linux openvswitch module and to this datapath and requires identical
// upcall keys (about 4,500 frames: every truncation of a dozen frame kinds
// and random header corruptions), byte-identical packets after each
// rewrite action, the same validation failures, and the same outcomes for
// a sequence of flow operations (create, overlap, modify, UFID, delete).
// ExtractKey exposes the key extraction itself.
//
// # Megaflows
//
// The flow table is a tuple-space search classifier like the kernel's: one
// hash table per distinct mask, probed in turn with the packet key masked by
// that mask; flows are expected not to overlap. Lookups take a read lock and
// do not allocate. Stats reports hits, misses, lost upcalls and the masks
// probed per lookup; Rebalance orders the masks by use. A flow stores
// little (576 bytes): its key packed, only the groups present; its mask
// shared with the other flows of its shape; the key flattened into the
// words the classifier matches. Under a steady new-flow load most of the
// table is out of the cache, and what an install writes is what it costs.
//
// # Actions
//
// Output, userspace, set and masked set of Ethernet, IPv4 (addresses, TOS,
// TTL), IPv6 (traffic class, flow label, hop limit), TCP and UDP ports, skb
// mark and priority, set(tunnel) before output to a VXLAN port, push_vlan,
// pop_vlan, trunc, clone, sample, check_pkt_len (on the frame's length, as
// the kernel; packets are never GSO here); ct_clear and meter are no-ops, as in the
// kernel for untracked packets and unknown meters. Header rewrites go
// through simulation/packet, the simulator's in-place rewrite code with
// incremental checksums. Recirc, hash, ct, set of IPv6 addresses and SCTP
// ports fail at PutFlow/Execute with an error matching
// datapath.ErrNotSupported; GRE and Geneve ports likewise at CreatePort.
//
// # VXLAN ports and addressing
//
// A VXLAN port binds a UDP socket on Config.TunnelAddr (default 127.0.0.1)
// and the port's DstPort (default 4789). Output after set(tunnel) sends an
// RFC 7348 datagram to the tunnel key's Dst address, at UDP port TPDst if
// non-zero, else DstPort; the tunnel ID's low 24 bits are the VNI. So a
// tunnel IP is simply the TunnelAddr of another datapath: on one Linux host,
// give each datapath its own loopback address (127.0.0.2, 127.0.0.3, ... are
// all local), or the same address with different DstPorts and TPDst in the
// tunnel keys. Received datagrams become packets on the port with the tunnel
// metadata in the key (ID, Src, Dst, TPSrc, TPDst, TunnelKeyPresent, and on
// Linux the outer TOS and TTL). DecapVXLAN and AppendVXLAN expose the
// encapsulation itself.
//
// Not modelled: the outer source address and UDP source port are the
// socket's (the key's Src and TPSrc are ignored on output), TunnelCsum and
// TunnelDontFragment are neither honoured nor reported, and the VXLAN
// reserved bits are ignored on receipt as RFC 7348 says (the Linux driver
// drops such datagrams).
//
// # Not implemented
//
// TAP-backed ports (ports are in-memory endpoints only), GRE and Geneve
// ports, connection tracking (ct), recirculation, hash, meters (the meter
// action is a no-op, as in the kernel for an unknown meter), MPLS and NSH
// keys, set of IPv6 addresses and of SCTP ports, push_vlan on a frame that
// already has two tags.
//
// # Packet path
//
// A packet is processed synchronously in the goroutine that delivers it:
// Endpoint.Send, the receive loop of a VXLAN port, or Execute. Outputs to
// endpoints are queued (bounded, drops counted in the port's TxDropped);
// upcalls are queued on the upcall socket (bounded, drops counted in
// Stats.Lost).
package inproc
