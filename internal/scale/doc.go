// Package scale is hivenet's scale harness: it drives real agents
// (datapath/agent on the in-process datapath) against a real ZooKeeper
// ensemble on one machine and writes a report (scale.md with SVG plots)
// answering how the agent's footprint grows with the deployment and with
// stateful features, how long a change takes to reach every host as hosts
// are added, what change rate a fleet sustains, and how one node copes as
// it takes on more roles; it ends with an extrapolation to 1,000 and
// 10,000 hosts from the measured costs.
//
// # Why internal/scale
//
// It sits at the top of the import graph (it starts ZooKeeper servers
// through nsdb/zookeeper/zkserver, agents through datapath/agent and its sandbox,
// writes topologies through nsdb) and is no API for users: it is the
// logic of the command examples/scale (make scale), which only reads
// flags, kept in a package so that a test can run it (quick mode) under
// make test.
//
// # Entry point
//
// Run measures what a Config says and writes Config.Dir/scale.md:
//
//	cfg := scale.Defaults(quick)
//	cfg.Dir = "docs"
//	res, err := scale.Run(ctx, cfg)
//
// Measurements that need a process of their own (one agent's RSS and
// CPU) re-execute the running binary with EnvChild set; the binary must
// call RunChild first thing (a command from main, a test binary from
// TestMain).
//
// # Where things are
//
//   - topogen.go: the generated topologies and the batched loader.
//   - zk.go, proc.go: the ensemble, the byte-counting proxy, child
//     processes, memory and CPU readings.
//   - footprint.go, stateful.go, traffic.go: one agent's footprint, the
//     stateful tenant and the new-flow traffic driver.
//   - roles.go: one node under load as roles are added.
//   - propagate.go, changes.go, rate.go: fleets of agents, the changes
//     written and when every agent applied them, the rate sweep.
//   - report.go, plot.go, model.go: scale.md, its plots and the
//     extrapolation.
package scale
