// Package topology is the virtual-topology object model of hivenet.
//
// It holds plain Go value types for every object of the reference system's
// model — bridges, routers, ports, chains and rules, routes, port groups,
// IP address groups, load balancers with their pools, members, VIPs and health
// monitors, tunnel zones, hosts, VTEPs, DHCP subnets and BGP peers — together
// with their validation, and the immutable, indexed [Snapshot] that simulation
// workers read without locks.
//
// Identifiers are [ID] values (UUIDs); addresses and prefixes are net/netip
// types; hardware addresses are [MAC] values.
//
// # Relations
//
// Each relation is stored once, on the side that owns it: a port names its
// bridge or router, a route names its router and next-hop port, a chain holds
// its rules in order. Reverse lookups ("the ports of this bridge") are indexes
// kept by a [Snapshot] or by a store, so they can never disagree with the
// objects. [Refs] lists every reference an object makes, with the policy that
// applies when the referenced object is deleted; stores use it to enforce the
// reference system's CLEAR, CASCADE and ERROR bindings.
//
// # What does not belong here
//
// Runtime state (MAC tables, ARP tables, port liveness, connection tracking)
// lives in nsdb and flowstate; file formats live in topology/topofile;
// packet processing lives in simulation.
package topology
