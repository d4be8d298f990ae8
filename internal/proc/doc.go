// Package proc starts the child processes hivenet supervises (ZooKeeper and
// ovsdb-server, for production and for tests) so that they die with their
// parent, and finds free loopback ports for them; it also reads a
// process's own memory use for the harnesses that measure it. It is
// internal: the
// server packages (nsdb/zookeeper/zkserver) and the test harnesses
// (internal/zktest, internal/ovsdbtest) share it.
package proc
