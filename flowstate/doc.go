// Package flowstate holds connection-tracking and NAT state: compact key,
// binding and NAT target value types, per-agent reference-counted tables with idle expiry,
// and the versioned binary encoding of the in-band state message that agents
// push to each other.
//
// The NAT port-block leasing protocol lives in package nat; the simulation
// rules that read and write this state live in package simulation.
//
// Store is where agents keep this state so that connections survive an
// agent restart or a VM migration: flowstate/localstore keeps it on the
// agent's disk, flowstate/cassandra in a shared Cassandra cluster,
// flowstate/transfer moves a port's state from its previous host, and
// flowstate/storetest is the conformance suite every Store passes.
package flowstate
