// Package nat implements distributed NAT port-block leasing: 64-port blocks
// per (device, IP) claimed through the NSDB, a per-agent leaser that hands out
// ports from its blocks, and the recycler that frees blocks of dead agents.
//
// A port is shared by connections toward different destinations, so what
// fills blocks is many connections toward one destination (a DNS server, a
// storage endpoint). Each block counts its ports in use per destination and
// each address remembers where the last allocation toward a busy
// destination succeeded, so allocating stays O(1) however many connections
// share it; when a destination has used half of the last block with room,
// the leaser claims the next block ahead of need, so that allocations do
// not wait for the claim's NSDB write. A destination taking ports faster
// than a claim completes gets claims side by side (up to 4): one more each
// time its block's remaining ports halve, and one more per block's worth
// of allocations waiting.
//
// NAT rule evaluation belongs to package simulation; NAT state tables and
// the compact NAT target type belong to package flowstate. The pure
// simulator does not import this package: the agent plugs a Leaser into
// simulation/l4 as its NATPorts, and the leaser's not-yet error wraps
// simulation.ErrNotYet so that the simulation parks the packet.
package nat
