// Package zkserver runs and supervises an Apache ZooKeeper server process:
// the ZooKeeper 3.8 server Debian's zookeeper package installs
// (/usr/share/java/zookeeper.jar, whose manifest names its dependencies),
// in a JVM child process — ZooKeeperServerMain for a standalone server,
// QuorumPeerMain for a member of an ensemble.
//
// Cluster nodes use it as the "embedded ZooKeeper" of a one-command
// deployment (examples/cluster -embedded-zk DIR): [New] writes a zoo.cfg
// and data directory, [Server.Start] and [Server.WaitServing] bring the
// server up, and [Server.Supervise] restarts it when it crashes and stops
// it when the node stops. The test harness internal/zktest builds its
// servers with this package too, with test tunings.
//
// It lives beside the ZooKeeper backend of package nsdb, whose server it
// runs; it imports nothing of hivenet.
//
// # Process lifetime
//
// Each JVM is started from one goroutine that is locked to its OS thread
// for the life of the process, with PR_SET_PDEATHSIG set to SIGKILL on
// Linux: when this process exits for any reason (including a panic or
// SIGKILL) the kernel kills every server it started, so an embedded server
// never outlives its node. A server's output goes to zookeeper.log in its
// directory.
//
// # Environment
//
//   - HIVENET_ZK_JAVA: the java binary (default: $JAVA_HOME/bin/java, then
//     java on $PATH).
//   - HIVENET_ZK_CLASSPATH: the JVM class path holding the ZooKeeper server
//     (default: /usr/share/java/zookeeper.jar, plus, when present,
//     slf4j-simple.jar so that the server log is readable and
//     netty-codec.jar and netty-resolver.jar, which TLS clients need).
//   - HIVENET_ZK_CDS=0: do not use or create the JVM class-data-sharing
//     archive (~/.cache/hivenet-zk/zk-<hash>.jsa) of servers whose
//     Config.ClassDataSharing is set.
package zkserver
