// Command sandbox runs a small hivenet cloud in one process, on any
// machine: no root, no kernel module, no ZooKeeper.
//
//	go run ./examples/sandbox [flags]
//
// It starts an embedded NSDB (nsdb/memory), loads a topology
// (examples/topologies/two-tenant-cloud.yaml by default), starts one agent
// per host (host-a, host-b, host-c) on the in-process datapath with VXLAN
// over loopback UDP (each host's tunnel-zone address is mapped to
// 127.0.0.<last octet>), plugs emulated VMs into the bound ports (they
// answer ARP and pings and send TCP and UDP), including "ext", the upstream
// gateway behind provider-uplink on host-c, and runs the scenarios of
// datapath/agent/sandbox: bridged and routed pings across hosts, the
// uplink, TCP between the tenants through their security groups (one
// connection dropped; one handshake completed through source NAT, its
// replies reverse-translated), source NAT to the uplink and a floating IP.
// Each scenario checks the replies' addresses, not only that the first
// packet arrived. It prints what happened with simulation
// traces, then every agent's installed flows, and exits 0 only if every
// expectation held (1 otherwise, 2 on bad usage).
//
// Flags:
//
//	-topology FILE   the topology file
//	-timeout D       per-scenario timeout (default 5s)
//	-flows=false     do not print the installed flows
//	-v               log the agents' debug messages to stderr
//	-no-flow-state   run the agents without connection tracking and NAT
//	                 (every scenario then checks what happens without them)
//	-zk HOST:PORT    use ZooKeeper (nsdb/zookeeper, a fresh root per run)
//	                 instead of the embedded NSDB
//
// The agents run with connection tracking and NAT (simulation/l4) and
// replicate flow state to each other over the overlay.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
