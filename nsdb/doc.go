// Package nsdb is hivenet's network-state database: how agents share one view
// of the world.
//
// It defines the consumer-side interfaces every backend implements, and the
// exact semantics each must provide:
//
//   - [Store]: the topology object store — versions, atomic multi-object
//     transactions, referential bindings maintained per [topology.Ref]
//     policies, validation before anything is written, and watches.
//   - [Tables]: replicated state tables (MAC, IPv4→MAC and ARP tables) with
//     learned entries owned by the writer's session and persistent operator
//     entries, readable from a local cache without I/O.
//   - [StateKeys]: ephemeral state keys with ownership (host liveness, active
//     ports, flooding proxies, VTEP managers).
//   - [Elections]: leader election with session-bound leadership.
//   - [Sequences]: shared counters (tunnel keys, VNIs).
//   - [Secrets] (through [SecretKeeper]): small persistent cluster-wide
//     secrets with versioned writes (the flow-state keys of package
//     flowstate/auth), never shown as topology.
//
// A [Client] is one session with the database — one agent. Everything
// ephemeral a client writes (learned table entries, state key values,
// leaderships) is owned by its current [Session] and disappears when that
// session ends, whether by expiry (the agent died or was partitioned) or by
// [Client.Close]. After an expiry the client carries on with a new session;
// its owner observes the old session's Done channel and re-registers what it
// needs.
//
// # Backends
//
// Backends live in sub-packages: nsdb/memory (embedded, in-process, the
// default) and nsdb/zookeeper. Both pass the conformance suite in
// nsdb/nsdbtest, which is the executable form of the semantics documented
// here. Where this documentation and the suite disagree, file a bug.
//
// # Errors
//
// Every error returned wraps one of the sentinel errors of this package (or a
// context error), so callers use errors.Is; never match strings. Validation
// failures also wrap the *[topology.ValidationError] that lists the problems.
//
// # Watches
//
// All subscriptions share one shape, [Watch]: the first call to Next returns
// the current state, later calls return what changed since, coalesced to the
// latest state per item so that a slow consumer never blocks a writer and
// never falls behind by more than one state per item.
//
// # Writing a backend
//
// Package nsdb/internal/txn turns the ops of a Commit into the exact writes
// they imply (cascades, clears, refusals, symmetric peering) and validates
// the result, given a txn.Source over the backend's state; txn.Index is an
// in-memory Source a backend can keep as its cache. Use it rather than
// re-deriving the bindings: both backends then agree by construction. The
// rest of what backends share lives beside it, for the same reason:
// nsdb/internal/watch (the coalescing subscription behind every Watch, the
// delivery rules of each event type, and the routing of object changes to
// watches), nsdb/internal/statetable (table rules and the local view
// Table.Lookup reads), nsdb/internal/session (Session and the ending of
// session-bound state) and nsdb/internal/validate (argument checks). Text
// forms shared with the reference system are here: PortState,
// FloodingProxy, ARPEntry.String and ParseARPEntry; names of elections,
// sequences and state keys satisfy ValidName, so they are safe as path
// components.
//
// Topology types come from package topology; packet processing does not
// belong here.
package nsdb
