// Package dhcp is the agent-local DHCP server: given the topology's DHCP
// configuration and a client's request frame, it computes the reply frame.
// It does no I/O, reads no clock and keeps no state between requests.
//
// # Why "simulation/dhcp"
//
// In the reference system (MidoNet) DHCP is answered by the agent of the
// host where the request enters, before the packet is simulated: it is a
// device behaviour of the virtual bridge, like the ARP replies the simulator
// makes, not a service running somewhere on the network. It lives beside
// the simulator because it has the simulator's shape: a pure function of a
// topology snapshot and a frame. The agent (datapath/agent) intercepts
// requests and sends the replies out of the ingress port; tools and tests
// can call it directly.
//
// # What it answers
//
// A request is a UDP datagram from port 68 to port 67 in an untagged
// Ethernet/IPv4 frame, received on an exterior port of a bridge. It is
// answered when one of the bridge's enabled DHCP subnets has a static host
// entry for the client's MAC (Table): DISCOVER gets an OFFER, REQUEST an
// ACK (a NAK when it asks for another address), INFORM an ACK without a
// lease; RELEASE and DECLINE are consumed without a reply. Replies carry
// the subnet mask, broadcast address, router, DNS servers, lease time (one
// day by default), server identifier, interface MTU (option 26: the
// subnet's MTU, or Config.DefaultMTU, capped by the tunnel MTU of the
// request), classless static routes (option 121, with the default route
// through the router added, as RFC 3442 requires of a server that sends
// both), the host name and the host entry's extra options, which replace
// options of the same code. Requests the server does not answer (no
// enabled subnet with the client's MAC) return ErrUnknownHost: the agent
// then simulates them like any other packet.
//
// # Codec
//
// Message decodes a DHCP message without allocating: the options stay in
// the decoded buffer and Message.Option walks them. AppendHeader,
// AppendOption and AppendEnd build messages. FuzzDecode and FuzzReply feed
// the decoder and the server arbitrary bytes.
package dhcp
