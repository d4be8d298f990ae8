// Command hivectl operates a hivenet deployment through a cluster node's
// REST API (package nsdb/api), in the habit of ovn-nbctl and kubectl:
// every topology kind by name, live state tables, declarative topology
// files, a change stream and packet traces.
//
//	go run ./examples/hivectl --server http://127.0.0.1:8080 --token-file admin.token list bridges
//
// Commands:
//
//	list KIND                            every object of a kind
//	get KIND [NAME...] [-w]              objects (all without names); -w then prints each change
//	create KIND [NAME] [key=value...]    create an object: key=value sets a string, key:=JSON any
//	                                     value (vlan:=10, admin-down:=true); or -f FILE (JSON, YAML)
//	set KIND NAME key=value...           change keys of an object (key= removes one); the write
//	                                     fails if the object changed since it was read
//	delete KIND NAME...                  delete objects
//	hosts                                hosts: whether their agent is alive, ports bound, active
//	mac-table BRIDGE [--vlan N]          a bridge's learned MACs and their ports
//	arp-table ROUTER                     a router's ARP entries
//	status                               cluster nodes, their services, and who leads what
//	apply -f FILE [--scope S] [--dry-run]  make the topology file the desired state of scope S
//	                                     (every object without --scope); prints the changes as a diff
//	export [--scope S]                   print a scope (or everything) as a topology file
//	trace --from PORT --tcp 'SRC:P->DST:P'  simulate a packet against the live network (also
//	                                     --udp, --icmp-echo, --arp-request; --state FILE for
//	                                     conntrack and NAT keys)
//	vtep bind VTEP PORT VLAN BRIDGE      bind a VTEP's physical port and VLAN (0: untagged) to a
//	                                     bridge: the bridge gets a VNI and a VxLAN port
//	vtep unbind VTEP PORT VLAN           remove a binding
//	vtep bindings VTEP                   a VTEP's bindings: bridge, VNI, VxLAN port
//	vtep status [VTEP...]                the VxLAN gateway's view of VTEPs (all without names):
//	                                     OVSDB connection, owner node, tunnel addresses, flooding
//	                                     proxy, bindings
//	bgp [PORT...] [--routes]             BGP uplink ports (all without names): each session's peer,
//	                                     state, uptime, prefixes received and sent, last error;
//	                                     --routes the routes each port learned
//	completion bash|zsh                  print a completion script: source <(hivectl completion bash)
//
// KIND is a collection of the API, plural or singular: bridges, routers,
// ports, chains, routes, port-groups, ip-addr-groups, load-balancers,
// pools, pool-members, vips, health-monitors, tunnel-zones, hosts, vteps,
// dhcp-subnets, bgp-peers, bgp-networks. NAME is an object's name or
// UUID.
//
// Global flags, before or after the command:
//
//	--server URL       the API (default $HIVENET_API, else http://127.0.0.1:8080)
//	--token-file FILE  the bearer token, one line, mode 600 (default: the token in $HIVENET_TOKEN)
//	--cacert FILE      CA certificate for an https server
//	-o FORMAT          table (default: aligned columns), json, yaml, or name (one a line)
//	--ids              show UUIDs: an ID column, references as UUIDs (default: names)
//	--no-headers       tables without their header line
//
// Errors print the API's problem list, one problem a line. The exit
// status is 0 on success, 1 when the API refused a request or could not be
// reached, 2 on a bad command line; -h prints the usage and exits 0.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
