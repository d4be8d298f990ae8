// Package nsdb is hivenet's network-state database: how agents share one view
// of the world.
//
// It defines the consumer-side interfaces for the object store (versions,
// transactions, referential bindings, watches), the replicated state tables
// (MAC, IPv4→MAC and ARP tables), ephemeral state keys with ownership (host
// liveness, active ports, flooding proxies), leader election and sequence
// dispensers. Backends live in sub-packages: nsdb/memory (embedded) and
// nsdb/zookeeper; nsdb/nsdbtest is the conformance suite both pass.
//
// Topology types come from package topology; packet processing does not
// belong here.
package nsdb
