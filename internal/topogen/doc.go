// Package topogen generates large, regular topologies and writes them to
// an NSDB as an operator's tool would: the deployments that the scale
// harness (internal/scale) and the agent's footprint benchmarks measure.
//
// # Why internal/topogen
//
// It imports only topology and nsdb, so that tests low in the import graph
// (datapath/agent's benchmarks) and the harness at its top measure the
// same deployment; it is no API for users.
//
// # Entry point
//
// Generate returns a topology of about n ports; Load commits it in
// batches:
//
//	t := topogen.Generate(10_000)
//	commits, err := topogen.Load(ctx, client.Store(), t, 500)
package topogen
