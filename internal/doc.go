// Package internal holds code shared by hivenet's packages that is not part
// of the public API: kernel ABI constants, and test harnesses that start real
// ZooKeeper servers, real ovsdb-server processes and real Linux kernels in
// virtual machines.
package internal
