// Package zookeeper is the Apache ZooKeeper backend of package nsdb: a
// Client is one agent's ZooKeeper session, and everything it stores lives
// under one root znode shared by every client of the database.
//
// It passes the conformance suite of nsdb/nsdbtest against a real
// ZooKeeper 3.8 server, and is built on github.com/go-zookeeper/zk, which
// has only one-shot watches and no contexts: this package re-arms watches,
// applies contexts, and turns connection losses into retries.
//
// # Layout
//
// The layout follows the reference system's ZooKeeper layout (MidoNet keeps
// objects under models/<Class>/<uuid>, ephemeral state keys under state/,
// replicated state tables under tables/<Class>/<uuid>/<table>[/<arg>],
// counters under sequences/ and NAT blocks under nat/<device>/<ip>/<block>),
// under Config.Root (default "/hivenet"):
//
//	<root>/models                              commit guard (see Transactions)
//	<root>/changelog/<v>                       objects written by the commit that made models version v
//	<root>/snapshot                            data = "<v> <n>": the current snapshot's version and chunks
//	<root>/snapshot/<v>-<i>                    chunk i of the gzip stream of the snapshot of version v
//	<root>/models/<kind>/<id>                  objects (persistent)
//	<root>/state/<kind>/<id>/<key>             single-valued state keys (ephemeral, data = value)
//	<root>/state/<kind>/<id>/<key>/v-<value>   KeyMultiple values (ephemeral, data = value)
//	<root>/tables/bridge/<id>/mac_table/<vlan> MAC table of one VLAN (0: untagged)
//	<root>/tables/bridge/<id>/ip4_mac_table    IPv4 → MAC table
//	<root>/tables/router/<id>/arp_table        ARP table
//	<root>/sequences/<name>                    counters (data = next number, decimal)
//	<root>/elections/<name>/c-<guid>-<seq>     candidates (ephemeral sequential, data = value)
//	<root>/nat                                 NAT block namespace; mtime = last recycle
//	<root>/nat/<device>/<ip>/<block>           NAT port block (persistent; pzxid = last claim or release)
//	<root>/nat/<device>/<ip>/<block>/taken     the block's claim (ephemeral, owned by the holder's session)
//
// <kind> is topology.Kind.String ("bridge", "port", "port-group", ...),
// <id> the canonical UUID form, <value> path-escaped.
//
// Client.Blocks (nsdb.Blocks) keeps block <n> of scope <s> at
// <root>/<s>/<n>, n in decimal, as the reference does for NAT (the scope
// nat/<device>/<ip>, <block> = port/64). The first segment of a scope is a
// block namespace and may be any name but those of the fixed directories
// above. A claim lists the scope; it takes the first candidate whose node
// was never created (creating it, then "taken"), else, among the candidates
// with no "taken" child, the one with the smallest pzxid: the block claimed
// or released longest ago. A release deletes "taken"; an expired or closed
// session's blocks come free as ZooKeeper deletes its ephemeral nodes.
// Held walks the tree below its prefix: a node whose children are all
// block nodes is a scope, and each of its blocks with a "taken" child is
// held by that child's ephemeral owner.
// Recycle proceeds for a namespace only if its node's mtime is at least the
// interval old and the client wins a versioned write on it; it then deletes
// every scope none of whose blocks is held (block nodes and scope node in
// one multi-op checking the versions read) and the device nodes left empty.
//
// Objects are stored as the JSON of their topology value type with every
// zero-valued field omitted, recursively (a port is typically 150–300
// bytes); IDs, MACs, addresses and prefixes use their text forms. Readers
// ignore unknown fields and take absent ones as zero, so fields may be added
// to the topology types compatibly. An object's Version is its znode's mzxid:
// the zxid of the transaction that last wrote it, which is the store-wide
// revision nsdb.Version describes.
//
// Table entries are child znodes named "<key>,<value>,<version>" exactly as
// in the reference system's replicated state tables: learned entries are
// EPHEMERAL_SEQUENTIAL, their version the 10-digit sequence ZooKeeper
// appends; persistent entries are persistent znodes with version
// 2147483647. Keys and values use the
// reference encodings: MAC "aa:bb:cc:dd:ee:ff" → port UUID; IPv4
// "a.b.c.d" → MAC; IPv4 → "<mac|null>;<expiry-ms>;<stale-ms>;<last-arp-ms>"
// (nsdb.ARPEntry.String). Entry znodes carry no data.
//
// # Transactions
//
// A Commit is one ZooKeeper multi-op. Every client keeps a watch-driven
// cache of all objects (loaded on first use of the store), from which the
// shared planner of nsdb/internal/txn computes the writes — bindings,
// cascades, peering and validation exactly as in the memory backend. Before
// planning, the client reads the models node and waits until its cache
// reflects every change the servers had applied at that point (watch events
// reach a client before any later reply, so waiting for the cache to absorb
// the events received so far suffices). The multi-op then (1) sets the
// models node's data at exactly the version read, so that any concurrent
// commit makes it fail and the client re-plans on the new state (this also
// guards the planner's index queries — who refers to an object, which
// objects bear a name — that no per-object check could), and creates the
// change log entry of the new version (see Watches), (2) creates, updates
// and deletes every written object with a check of the data version it was
// planned from, and (3) checks the version of every object the
// written objects refer to and of every object the caller's Check ops name. Commits are thus serialised through the models node: correct
// for a control plane, and the reason for the store-wide revision.
//
// The models node's data holds a random 8-byte token for each of the last
// 16 commits, newest first. When the reply to a multi-op is lost, the client
// re-reads it (after a sync) to learn whether its commit was applied, and
// otherwise retries it on the current state (a lost commit not applied by
// then never applies later: the models node has moved past the version it
// requires, or the retry's own guard fails and the client looks again); a
// commit is never applied twice. Commit fails with ErrUnavailable only if
// more than 16 other commits went through before the client could find
// out. A commit larger than Config.MaxTxnBytes (about
// ZooKeeper's 1 MiB request limit) fails with ErrInvalid: split it.
//
// # Watches
//
// Every watch — objects, tables, state keys, leaders — is a local view kept
// current by one-shot ZooKeeper watches: after each event the view re-reads
// its znode (which re-arms the watch); events that arrive during a read
// cause one more read after it, and reads of one view never overlap, so a
// view never goes backwards and always ends on the latest state. Watch
// objects then deliver states as nsdb.Watch requires: the current state
// first, then changes, coalesced per item; object versions (mzxids) never
// decrease. A deletion carries the version of the last state the client saw
// (ZooKeeper does not tell the zxid of a delete).
//
// The object cache holds no watch per object: ZooKeeper keeps each watch
// in every server's memory and fires each on its own, so per-object
// watches would cost the ensemble the deployment's size for every agent.
// Each commit's multi-op also creates <root>/changelog/<v>, v the models
// node's new version, holding every object it created, updated or deleted
// (kind, ID, new data version and data; the entry's czxid is their new
// mzxid), gzip-compressed from 4 KiB on. One exists watch on the models node tells a client of each
// commit, and it applies the log entries since the version it had applied,
// reading nothing else. A client starts from the newest snapshot
// (Client.WriteSnapshot: the whole store at one version, gzip-compressed in
// 512 KiB chunks; the cluster's snapshots service writes one every 1,000
// commits) or, while the log still holds the store's first commit, from
// the empty store, and replays the log from there; a start costs a read
// per chunk and per commit since, not per object. A missing entry (the
// client, or its snapshot, more than 4,096 commits behind a trimmed log; a
// client that predates the log committed) or an unreadable one makes it
// list every kind it caches and read every object, as a store without a
// log requires. Each committer deletes the entry 4,096 versions older than
// its own, and every 512 versions sweeps older leftovers.
//
// Object watches are served by the client's object cache; table handles
// share one cache per table and client, fed by a children watch on the
// table's znode, so Table.Lookup reads memory under a reader lock, with no
// I/O and no allocation.
//
// # Access control and TLS
//
// With Config.Auth a client authenticates with a digest identity on every
// connection before using it, and creates every znode at and below the
// root with that identity's ACL (plus the identities Auth.Grant lists):
// clients without them can neither read nor write there, and a hivenet
// client the ACLs refuse fails New with nsdb.ErrDenied. Client.SecureRoot,
// the bootstrap step, gives the ACL to a tree written before (LoadAuth
// reads the identity from a mode-600 file). With Config.TLS the client
// reaches the servers' secureClientPort over TLS.
//
// # Connection loss and session expiry
//
// A disconnection within the session timeout is transparent: go-zookeeper
// reconnects with the same session (to any server of Config.Servers) and
// re-registers its watches, which fire for whatever changed meanwhile;
// operations wait for the connection (within their context) and are
// retried. Retried writes are idempotent: each re-reads what it needs, and
// ephemeral sequential creates find their node after a lost reply. Writes
// acknowledged to the caller are committed by the ensemble's quorum. Reads
// are served by the server the client is connected to, with ZooKeeper's
// guarantee: sequentially consistent, and never older than what the client
// saw before, even on another server. The first Commit after a reconnection
// re-reads the whole object cache (without re-registering watches), since
// events missed while disconnected may arrive after later replies.
//
// A session ends when the servers report it expired or when no server could
// be reached for the negotiated session timeout (the client then stops
// acting on it at once, without waiting for a server to confirm: ephemeral
// nodes the servers still hold vanish when they expire the session). Then
// the session's Done channel closes with ErrSessionExpired, every
// leadership and candidacy of it ends (a Campaign waiting on it returns
// ErrSessionExpired), and the client opens a new session by itself
// (retrying until a server answers). Other operations in flight are retried
// on the new session, so ephemeral state they create belongs to it. Every view is
// re-read on the new session, so every watch — object, table, key, leader —
// delivers what changed while the client was away, deletions included; at
// least the latest state of every item is delivered, intermediate states may
// be coalesced away. Ephemeral state of the old session (learned table
// entries, state key values, candidacies) is gone: owners watch
// Session().Done() and re-register it, as package nsdb prescribes.
// Client.Close closes the session at once, so the servers delete its
// ephemeral nodes immediately.
package zookeeper
