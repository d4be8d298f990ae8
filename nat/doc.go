// Package nat implements distributed NAT port-block leasing: 64-port blocks
// per (device, IP) claimed through the NSDB, a per-agent leaser that hands out
// ports from its blocks, and the recycler that frees blocks of dead agents.
//
// NAT rule evaluation belongs to package simulation; NAT state tables belong
// to package flowstate.
package nat
