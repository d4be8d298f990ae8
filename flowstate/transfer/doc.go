// Package transfer moves a port's flow state from the host the port was
// bound to, to the host it is bound to next (a VM migration), over a small
// TCP service each agent runs on its underlay address: the new host asks
// for the port, the old one streams what its local store
// (flowstate/localstore) holds for it. The agent falls back to a shared
// backend (flowstate/cassandra) when the old host does not answer.
//
// # Why here
//
// It carries flowstate.Store contents in the flow-state message encoding
// and nothing else: it belongs with them under flowstate/, below the
// agent (datapath/agent) that serves and asks.
//
// # Protocol
//
// One request per connection. The client sends 24 bytes:
//
//	"HVST", version 1, operation 1 (fetch), two zero bytes, port ID (16)
//
// The server answers 8 bytes, "HVST", version 1, a status (0 ok,
// 1 unavailable, 2 bad request, 3 busy, 4 unauthorized) and two zero bytes; after ok come
// frames, each a 4-byte little-endian length and one flow-state message
// (flowstate.Message's encoding) of at most MaxFrame bytes, and a frame of
// length zero that ends the transfer. A stream that ends without it is
// incomplete: the client reports ErrIncomplete, after delivering the
// messages it received.
//
// # Authentication
//
// With the cluster's flow-state keys (Client.Keys, ServerConfig.Keys:
// package flowstate/auth) the protocol is version 2: the request is the
// 24 bytes above with version 2, a random 16-byte nonce, and an auth
// trailer (key ID, time, HMAC-SHA-256 tag) over both; the reply header
// carries version 2, and every frame — the end frame too — is its length,
// its messages (version 2 lays as many end to end as fit MaxFrame, so a
// tag is computed per 64 KiB rather than per message) and a trailer whose
// tag also covers the nonce and the frame's number. A server with keys answers any other request with
// status 4 (unauthorized) and counts it; a client with keys stops at the
// first frame that does not verify (ErrUnauthorized), so an impostor, a
// replayed answer, reordered or missing frames deliver nothing further.
//
// Both sides are bounded: the server serves ServerConfig.MaxConns
// transfers at once (busy beyond), gives a request ServerConfig.ReadTimeout
// to arrive and a transfer ServerConfig.Timeout; the client stops at
// Client.MaxBytes and at its context's deadline.
package transfer
