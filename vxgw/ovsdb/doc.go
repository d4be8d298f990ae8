// Package ovsdb is an OVSDB client (RFC 7047, with ovsdb-server's
// monitor_cond extension) written on the standard library.
//
// It lives under vxgw/ because the VxLAN gateway is the only part of
// hivenet that speaks OVSDB: hardware VTEPs publish and accept MAC tables
// through the hardware_vtep database, and the gateway keeps that database
// and the NSDB in step. The agents program their datapaths over netlink
// (datapath/) and never use OVSDB. The typed hardware_vtep rows are in
// the vtep subpackage.
//
// # Connection
//
// [New] returns a [Client] that connects in the background; [Dial] also
// waits for the first connection. The endpoint is "unix:PATH" or
// "tcp:HOST:PORT". The client speaks JSON-RPC 1.0 over the stream:
// requests from any goroutine are matched to responses by id, messages
// larger than Config.MaxMessageSize are refused, the server's echo
// requests are answered, and an echo is sent when the server has been
// silent for Config.EchoInterval; after two silent intervals the
// connection is declared dead ([ErrKeepalive]). A lost connection is
// re-dialled with exponential backoff, and every call takes a
// context.Context.
//
// # Transactions
//
// [Client.Transact] runs [Insert], [Select], [Update], [Mutate], [Delete],
// [Wait] (and [Commit], [Abort], [Comment], [Assert]) atomically. An
// Insert's UUIDName lets later operations of the same transaction refer
// to the new row as a [NamedUUID] — for instance a Physical_Locator and
// the Ucast_Macs_Remote row that points at it, which must be inserted
// together or the server garbage-collects the unreferenced locator. A
// failed operation is an [*OperationError]; match it with errors.Is
// against [ErrOperation], [ErrConstraintViolation],
// [ErrReferentialIntegrity] or [ErrTimedOut].
//
// # Values
//
// Atoms are int64, float64, bool, string, [UUID] and [NamedUUID]; columns
// hold an atom, a [Set] or a [Map]. Values received are decoded with the
// database schema, so a set column always holds a Set and a real column a
// float64, whatever shortcut the wire form took.
//
// # Monitors and the cache
//
// [Client.Monitor] and [Client.MonitorCond] replicate tables into a
// [Monitor]'s cache and pass every change, as complete old and new rows,
// to an [UpdateHandler]. After a reconnection the client re-establishes
// every monitor and replaces each cache with the server's current
// contents, reporting to the handler (Updates.Resync) the rows that were
// deleted, inserted or modified while it was disconnected. A stale cache
// after a reconnection — rows deleted during the outage lingering forever
// — is the classic failure of OVSDB clients; this full resync is the
// remedy. A notification that cannot be applied to the cache also forces
// a reconnection and resync rather than leaving the cache wrong.
// [Config.OnState] reports connection changes in order with the updates:
// "connected" arrives after the resync updates of every monitor.
package ovsdb
