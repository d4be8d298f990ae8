// Package cassandra is a flowstate.Store on Apache Cassandra, through
// github.com/apache/cassandra-gocql-driver/v2: the shared backend an agent
// falls back to when a port's previous host cannot hand its connections
// over (it is dead, or unreachable), as the reference system's (MidoNet's)
// legacy flow-state storage was.
//
// # Why here
//
// It is a backend of flowstate.Store, next to the interface and to the
// local store (flowstate/localstore); the agent imports it, never the
// reverse.
//
// # Schema
//
// Four tables, as the reference's: conntrack keys and NAT entries, each by
// ingress port and by egress port, so that a port's state is read with
// four per-port queries. Every row is written with USING TTL equal to the
// keys' idle expiry (Config.TTL, 60 s), at QUORUM (Config.Consistency),
// and gc_grace_seconds is 30, as in the reference. Unlike the reference,
// which made the whole tuple the partition key and indexed the port, the
// port is the partition key and the tuple the clustering key: a port's
// rows are one partition, read without a secondary index. Schema returns
// the statements; Config.CreateSchema runs them at start.
//
// # Testing
//
// No Cassandra server can run on hivenet's development machines. The
// store's tests run the same conformance suite as the local store
// (flowstate/storetest) against a real server whenever HIVENET_CASSANDRA
// names one (host:port); without it the suite reports itself skipped and
// says why. There is no fake server.
package cassandra
