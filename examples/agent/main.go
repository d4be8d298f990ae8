// Command agent runs one hivenet agent (package datapath/agent): it
// binds this host's virtual ports to a datapath, simulates the packets
// the datapath sends up, installs megaflows and keeps them valid.
//
//	go run ./examples/agent -host host-a -underlay 192.168.100.11 \
//	    -datapath kernel -nsdb zk -zk 10.0.0.1:2181
//
// Flags:
//
//	-host NAME          the host's name in the topology (its ID is
//	                    topology.NameID(host, NAME), as topology files give)
//	-host-id UUID       the host's ID, instead of -host
//	-datapath KIND      kernel (the openvswitch module, needs root) or
//	                    inproc (in-process: ports are in-memory endpoints,
//	                    for tests) (default kernel)
//	-dp-name NAME       kernel datapath name, created if missing (default
//	                    hivenet)
//	-underlay IP        local underlay address; the in-process datapath
//	                    binds its VXLAN socket to it (the kernel routes by
//	                    itself)
//	-vxlan-port N       overlay VXLAN UDP port (default 6677)
//	-vtep-port N        UDP port of VXLAN to and from hardware VTEPs
//	                    (default 4789)
//	-nsdb KIND          memory (embedded, this process only) or zk
//	-zk HOSTS           ZooKeeper servers, host:port[,host:port...]
//	-zk-root PATH       ZooKeeper root (default nsdb/zookeeper's)
//	-zk-auth-file F     ZooKeeper digest identity, "user:password" (mode
//	                    600; see nsdb/zookeeper.ParseAuth): the agent
//	                    authenticates with it, and the znodes it creates
//	                    are closed to anyone without it
//	-zk-tls-ca F        reach ZooKeeper over TLS (-zk naming the servers'
//	                    secure client ports), trusting the CA certificates
//	                    of this PEM file
//	-f FILE             write a topology file into the NSDB at start
//	-workers N          simulation workers, 1 or more (default 2)
//	-no-flow-state      no connection tracking or NAT
//	-listen ADDR        operator endpoints (default 127.0.0.1:9464; "" for
//	                    none): /metrics, /healthz, /readyz, and
//	                    /debug/flows, /debug/tables, /debug/trace (see
//	                    datapath/agent/ops)
//	-debug-token-file F the bearer token the /debug/ endpoints require, one
//	                    line, mode 600; without it /debug/ answers 403
//	-state-dir DIR      keep flow state (conntrack, NAT, load balancer) in a
//	                    local store in DIR: a restarted agent restores its
//	                    ports' connections before handling packets, and
//	                    serves them to the host a port moves to
//	-state-port N       TCP port of that service, on the underlay address
//	                    (default 6689)
//	-cassandra HOSTS    also keep flow state in Cassandra, host:port[,...],
//	                    read when a moved port's previous host cannot answer
//	-cassandra-keyspace K  its keyspace (default hivenet_flowstate)
//	-pid-file FILE      write the agent's PID to FILE once ready
//	-takeover           take over from the agent whose PID -pid-file holds
//	                    (a fast reboot): load the flow state it saved while
//	                    it still forwards, stop it (SIGTERM), then start
//	-v                  debug logs
//	-bgp MODE           BGP speakers of the host's BGP uplink ports: netns
//	                    (default: each in a network namespace of its own,
//	                    wired to the datapath by a veth; needs root), local
//	                    (in the agent's namespace, unwired) or off. The
//	                    speakers are this program re-executed.
//	-bgp-grace D        keep BGP sessions D after the NSDB session is lost
//	                    (default 5s), then stop them so the upstream
//	                    reroutes
//
// SIGINT or SIGTERM stops the agent; the datapath keeps its ports and
// flows, which the next agent reconciles.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hivenet/hivenet/datapath/agent/bgp"
)

func main() {
	// The agent re-executes itself as the BGP speaker of each uplink port.
	bgp.MaybeServeChild()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr, nil)
	stop()
	os.Exit(code)
}
