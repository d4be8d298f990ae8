// Package auth authenticates the flow state agents exchange: the in-band
// flow-state messages an agent pushes to its peers through the tunnel, and
// the peer state transfer (flowstate/transfer) a port's new host runs
// against its previous host. Without it, anyone able to send a datagram to
// an agent's tunnel port from a member's address could plant
// connection-tracking keys (opening a stateful security group from the
// outside) or NAT bindings.
//
// # Why here
//
// It guards flowstate's encodings and nothing else, below the agent
// (datapath/agent) that signs and verifies and the cluster node and API
// (nsdb/cluster, nsdb/api) that create and rotate the keys; it reads the
// keys from the NSDB's secrets (nsdb.Secrets), never writing topology.
//
// # Keys and rotation
//
// The cluster shares one KeySet, stored as the NSDB secret SecretName: at
// most two 256-bit keys, each with an ID. Ensure creates the first key
// (active at once) when there is none; Rotate adds a new key that becomes
// the signing key only at its ActiveFrom time (a delay after the rotation,
// long enough for every agent to have read it) and keeps the previous one.
// Senders sign with the newest active key; receivers accept every key of
// the set, so no message is refused during a rotation. A rotation while
// another is pending is refused (ErrRotationPending): it would retire a key
// senders still use. Agents re-read the set periodically (Keyring.Run).
//
// # Wire format
//
// Seal appends a trailer of Overhead (32) bytes to the payload it
// authenticates:
//
//	offset  size  field
//	0       4     magic "HVA1"
//	4       4     key ID (little-endian)
//	8       8     sender's clock, Unix milliseconds (little-endian)
//	16      16    tag: HMAC-SHA-256 truncated to 128 bits
//
// The tag covers a purpose byte (an in-band message, a transfer request, a
// transfer frame: a tag for one is never valid as another), the caller's
// binding (the transfer's nonce and frame number; empty for in-band
// messages), the payload, and the trailer's key ID and time. 128 bits of
// tag leave a forger a 2^-128 chance per attempt, online only (every
// attempt is a datagram the receiver checks and counts); the full 256 bits
// would only cost payload room.
//
// Replay is bounded by time: Open refuses a message whose time is more
// than the window (DefaultWindow, 30 s) away from the receiver's clock, so
// hosts' clocks must agree within it (NTP). Within the window a captured
// message can be replayed; it can only re-import state a member really
// pushed moments before. Payloads are not encrypted.
//
// Sign and verify do not allocate: a MAC (one per worker, not safe for
// concurrent use) keeps one HMAC state per key and resets it per message.
package auth
