// Package nat implements distributed NAT port-block leasing: 64-port blocks
// per (device, IP) claimed through the NSDB, a per-agent leaser that hands out
// ports from its blocks, and the recycler that frees blocks of dead agents.
//
// NAT rule evaluation belongs to package simulation; NAT state tables and
// the compact NAT target type belong to package flowstate. The pure
// simulator does not import this package: the agent plugs a Leaser into
// simulation/l4 as its NATPorts, and the leaser's not-yet error wraps
// simulation.ErrNotYet so that the simulation parks the packet.
package nat
