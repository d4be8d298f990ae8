// Package cluster is hivenet's thin service framework: a cluster node runs
// services — the REST API, the host-liveness view, the garbage collector of
// orphaned state, and any add-on a controller brings — each placed and
// failed over by NSDB coordination alone.
//
// A [Service] is a Go value that runs until its context ends. A [Node]
// runs a set of services, each with a [Placement]:
//
//   - [EveryNode]: one instance on every node that enables it.
//   - [Leader]: one instance in the whole cluster, on the node that wins the
//     service's NSDB election (nsdb.Elections).
//   - [PerEntity]: one instance per entity (a VTEP, say), on the node that
//     owns the entity's first-write-wins state key; when the owner's session
//     ends, another node takes the key and the entity over.
//
// Losing leadership, ownership or the NSDB session cancels the instance's
// context at once. An instance that fails is restarted with exponential
// backoff. Every node publishes its status — its services, their state,
// restarts and what it leads or owns — as a JSON state key
// (nsdb.KeyClusterNode), so any process holding an NSDB client reads the
// whole cluster's status with [ReadStatus].
//
// The package lives under nsdb/ because everything it does is NSDB
// coordination (elections, ephemeral state keys, sessions); it imports
// nsdb and topology only, never an agent or the simulator, so the cluster
// services and the commands above them depend on it, not the reverse.
// Built-in services are in this package too: [Heartbeat], [Recycler] and
// [HTTPService].
package cluster
