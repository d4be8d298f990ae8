// Package zktest starts real Apache ZooKeeper servers for tests.
//
// It runs the ZooKeeper 3.8 server that Debian's zookeeper package installs
// (/usr/share/java/zookeeper.jar, whose manifest names its dependencies) in
// a JVM child process: ZooKeeperServerMain for a standalone server,
// QuorumPeerMain for the members of an ensemble. Every server gets a
// generated zoo.cfg and its own data directory, listens only on loopback
// addresses, has the admin HTTP server disabled and all four-letter-word
// commands (ruok, srvr, mntr, ...) whitelisted, and is tuned to start and
// elect quickly (see [TickTime] and [MinSessionTimeout]).
//
// # Using it from tests
//
// Tests that need ZooKeeper have "ZooKeeper" in their name and get a
// connect string from [Standalone]:
//
//	func TestMain(m *testing.M) { zktest.Main(m) }
//
//	func TestStoreZooKeeper(t *testing.T) {
//		servers := zktest.Standalone(t) // "127.0.0.1:port"; skips if unavailable
//		root := zktest.UniquePath(t)    // "/zktest/TestStoreZooKeeper-1"
//		...
//	}
//
// [Standalone] starts one server per test binary on first use and shares it
// between all tests of the binary, so tests must keep their znodes apart;
// [UniquePath] gives each test its own root. [Main] stops that server when
// the tests are done and removes its data directory. A package that forgets
// [Main] still never leaks the JVM (see below), only a small temporary
// directory, which the next test binary using this package removes.
//
// Tests that stop, kill or restart servers use their own: [StartServer]
// starts a private standalone server and [StartEnsemble] an n-member
// ensemble on 127.0.0.1, 127.0.0.2, ... Both are shut down by t.Cleanup.
// [NewProxy] puts a TCP proxy between one client and a server, to
// partition that client alone (Cut) and let it back (Heal).
//
// # Environment
//
//   - HIVENET_ZK_SERVERS: a connect string of an existing ZooKeeper; when set,
//     [Standalone] returns it and starts nothing. [StartServer] and
//     [StartEnsemble] still start local servers.
//   - HIVENET_REQUIRE_ZK=1: when ZooKeeper or java is missing, tests fail
//     instead of being skipped (make test sets this).
//   - HIVENET_ZK_JAVA: the java binary (default: $JAVA_HOME/bin/java, then
//     java on $PATH).
//   - HIVENET_ZK_CLASSPATH: the JVM class path holding the ZooKeeper server
//     (default: /usr/share/java/zookeeper.jar, plus, when present,
//     slf4j-simple.jar so that the server log is readable and
//     netty-codec.jar and netty-resolver.jar, which TLS clients need).
//   - HIVENET_ZK_CDS=0: do not use or create the JVM class-data-sharing
//     archive (~/.cache/hivenet-zk/zk-<hash>.jsa) that makes servers
//     start with about a third less CPU (package nsdb/zookeeper/zkserver, which
//     runs the server processes). The first server on a machine that
//     stops gracefully writes it; an upgraded JVM or jar gets a new one.
//
// # Process lifetime
//
// Each JVM is started from one goroutine that is locked to its OS thread
// for the life of the process, with PR_SET_PDEATHSIG set to SIGKILL on
// Linux: when the test binary exits for any reason (including a panic, a
// test timeout or SIGKILL) the kernel kills every server it started. A
// server's output goes to zookeeper.log in its directory; when a test
// fails, the tail of each of its servers' logs is written to the test log.
package zktest
