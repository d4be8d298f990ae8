// Package ovsdbtest starts real ovsdb-server processes serving the
// hardware_vtep database, for tests of OVSDB clients.
//
// It runs the ovsdb-server of Debian's openvswitch-common package,
// unprivileged, on a database file that ovsdb-tool creates from the
// hardware_vtep schema of the openvswitch-vtep package
// (/usr/share/openvswitch/vtep.ovsschema). Every server gets a short
// temporary directory holding the database, its sockets, its unixctl socket
// and its log, and listens on:
//
//   - a client unix socket ([Server.Endpoint], "unix:DIR/db.sock");
//   - an admin unix socket ([Server.AdminEndpoint]) that vtep-ctl and
//     ovsdb-client use ([Server.VtepCtl], [Server.Tool]);
//   - a TCP port on 127.0.0.1 ([Server.TCPEndpoint]);
//   - the remotes that the database's Global.managers rows name, so that a
//     test can add a listener with its own inactivity probe.
//
// # Using it from tests
//
//	func TestMain(m *testing.M) { ovsdbtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		srv := ovsdbtest.Shared(t)      // one server per test binary
//		name := ovsdbtest.UniqueName(t) // keep rows of tests apart
//		...
//	}
//
// [Shared] starts one server per test binary on first use and shares it
// between the tests of the binary, which must therefore keep their rows
// apart ([UniqueName]). Tests that stop, kill, pause or restart a server
// use their own from [StartServer]. [Server.StartIsolated] restarts a
// server with only its admin socket, so that its clients see an outage
// while vtep-ctl still changes the database.
//
// # Environment
//
//   - HIVENET_REQUIRE_OVSDB=1 (or HIVENET_REQUIRE_ZK=1, which make test
//     sets): when ovsdb-server, ovsdb-tool or the vtep schema is missing,
//     tests fail instead of being skipped.
//   - HIVENET_OVSDB_SCHEMA: another schema file to create databases from.
//
// # Process lifetime
//
// On Linux each server is started with PR_SET_PDEATHSIG (SIGKILL) from a
// goroutine locked to its OS thread, so the kernel kills it whenever the
// test binary exits, however it exits. A server's output goes to
// ovsdb-server.log in its directory; when a test fails, the tail of that
// log is written to the test log.
package ovsdbtest
