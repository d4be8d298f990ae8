// Package lbhealth is the load balancer's health monitor: a native TCP
// checker (no haproxy) that probes the members of the pools a health
// monitor watches and writes each member's status to the NSDB, where the
// agents' load balancers read it (simulation/l4.MemberHealth).
//
// A [Monitor] is a cluster service with one instance per health monitor
// (cluster.Node.AddPerEntity with nsdb.KeyHealthMonitorOwner): the node
// that owns the monitor's first-write-wins owner key probes, and when its
// NSDB session ends another node takes the key and probing over. The
// instance follows the monitor, the pools that name it and their members
// whose status is topology.MemberMonitored, and probes each member every
// Delay seconds, each probe bounded by Timeout seconds. A member is marked
// down (nsdb.MemberStatusInactive) after MaxRetries consecutive failed
// probes and up again (nsdb.MemberStatusActive) after one successful
// probe; a member nothing was known of takes the result of its first
// probe. Probes start Delay apart whatever their outcome (topology
// validation keeps Timeout at most Delay; zeros count as 1), so a member
// that stops listening is marked down within Delay × MaxRetries when it
// refuses connections, and within Delay × MaxRetries + Timeout when it
// stops answering at all (its last probe waits out the timeout). Status
// keys are written only when the status changes, and once when a node
// takes a monitor over (the previous owner's values ended with its
// session: until the new owner's first probes, a second or so after the
// session timeout, agents see no status and treat the members as down). A
// member no longer monitored (its status set to active or inactive, its
// pool's monitor changed or the monitor administratively down) has its key
// removed; to stop monitoring a pool, set its members' status too.
//
// # Where probes come from
//
// The reference ran one haproxy per pool in a network namespace attached to
// the load balancer's router by a link-local /30, so that probes travelled
// the overlay from the router, SNATed to the VIP. This package does not do
// that by itself: probes are sent by a [Prober], and the shipped one, [TCPProber],
// opens a real TCP connection from the cluster node's own network stack (a
// net.Dialer: a successful handshake is "up", as haproxy's TCP check). It
// suits deployments where cluster nodes reach the members' addresses (a
// provider network, or a dialer bound into a namespace with the Dialer's
// Control hook). Sending probes into the overlay from the router's port
// needs a probe endpoint plugged into an agent's datapath: in process,
// datapath/agent/sandbox.Prober is one (a VM on a router port sending SYNs
// that the agents route to the members, tested end to end); on a real
// host it would be a network namespace whose interface is bound to a
// router port, with TCPProber's Dialer entering it — not built: it needs
// root and the kernel datapath. The tests run TCPProber against real TCP
// listeners on loopback (TCPProber.Resolve maps a member's address to its
// listener) and check on in-process agents that a member marked down
// receives no new connection.
//
// What agents do with the status is package simulation/l4's, the
// reference's rules: a member marked down gets no new connections, and
// existing connections to it, sticky (source-IP) or not, are re-balanced
// to an up member at their next packet (only an administratively disabled
// member keeps its non-sticky connections); the agent (datapath/agent)
// follows the status keys and invalidates the flows of the member's pool
// when a status changes.
//
// The package lives under nsdb/cluster because it is a cluster service:
// everything it coordinates goes through the NSDB. It imports nsdb,
// nsdb/cluster and topology, never an agent or the simulator.
package lbhealth
