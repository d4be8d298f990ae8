// Package bgp is the BGP speaker of a gateway's uplink port: a GoBGP
// (github.com/osrg/gobgp/v4) server embedded in the agent that peers with
// the upstream routers named by the router's BGP peers, advertises the
// router's BGP networks and reports the routes it learns and the state of
// every session.
//
// # Why "datapath/agent/bgp"
//
// The speaker is a part of the agent (package datapath/agent) of the host
// that owns a BGP-enabled uplink port: the agent starts it while its NSDB
// session is up and the port is active, diverts the BGP, ARP and ICMP
// traffic of the port's address to it and writes what it learns into the
// virtual router. Nothing else uses it, and it uses nothing of the agent,
// so it is a package of its own below the agent, importing neither the
// NSDB nor the simulator: its inputs are plain addresses, AS numbers and
// timers, its outputs callbacks and status values.
//
// # Entry point
//
// New returns a Speaker for a Config (local AS, router ID, peers,
// networks, a callback for learned routes); Start starts the BGP server
// and its sessions, Status reports the sessions, Stop ends them:
//
//	s, err := bgp.New(bgp.Config{ASN: 64512, RouterID: addr, Peers: peers,
//		Networks: nets, OnUpdate: func(u []bgp.Update) { ... }})
//	...
//	if err := s.Start(ctx); err != nil { ... }
//	defer s.Stop()
//
// Learned routes are reported per peer, as additions and withdrawals
// (Update): when a session leaves the Established state every route
// learned from that peer is withdrawn. Timers, passwords (TCP MD5) and
// AS numbers come from the model (topology.BGPPeer); zero timers take the
// reference defaults: keepalive 60 s, hold 180 s, connect retry 120 s.
package bgp
