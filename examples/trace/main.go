// Command trace simulates one packet through a virtual topology and prints
// the simulator's trace, in the spirit of ovn-trace. It is a thin command
// over simulation/harness, which does the work (and which tests can use
// directly).
//
//	go run ./examples/trace [flags] [topology.yaml]
//
// The topology file defaults to examples/topologies/two-bridges-router.yaml.
// The packet enters at the exterior port named by -from and is described by
// exactly one of (a destination may be a VM's name instead of an address):
//
//	-icmp-echo 10.0.2.11                   ICMP echo request to an address
//	-tcp 10.0.1.11:34567->8.8.8.8:443      TCP (source address optional: ":34567->...", or just "vm2:22")
//	-udp 10.0.1.11:5353->10.0.2.11:53      UDP (same form)
//	-arp-request 10.0.1.1                  broadcast ARP request for an address
//
// Addresses and MACs of VMs come from the DHCP host entries of the bridge:
// an entry whose name is the port's name gives that port's VM its MAC and
// address (a port without one gets topofile.DefaultMAC of its ID and needs
// -src-ip). The destination MAC defaults to the VM owning the destination
// address when it is on the source's bridge, else to the MAC of the router
// port on that bridge whose subnet holds the source (the gateway); -src-mac
// and -dst-mac override them.
//
// State: every exterior port is active. Unless -learned says otherwise,
// every VM is learned on its port (VLAN 0) and every router has an ARP entry
// for every VM on a bridge linked to it whose address is in the linked
// port's subnet; -learned vm1,vm2 limits this to those VMs, -learned none
// disables it. -arp router/10.0.0.1=02:00:00:00:00:01 adds ARP entries (for
// upstream gateways outside the topology).
//
// As an agent would, the command waits when a NAT port block is being
// claimed, and when a router asks for the MAC of a VM's address the VM
// answers; either way the packet is simulated again and "harness:" lines
// say so. The trace printed is the last simulation's; "followed:" lines say
// where the packets the network generated went.
//
// -json prints the trace as JSON. The exit status is 0 when the simulation
// ran (whatever its verdict), 1 on errors and 2 on bad usage.
package main

import (
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
