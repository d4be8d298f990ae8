// Package flowstate holds connection-tracking and NAT state: compact key,
// binding and NAT target value types, per-agent reference-counted tables with idle expiry,
// and the versioned binary encoding of the in-band state message that agents
// push to each other.
//
// The NAT port-block leasing protocol lives in package nat; the simulation
// rules that read and write this state live in package simulation.
package flowstate
