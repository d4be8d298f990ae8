package transfer

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/topology"
)

// Authenticated requests: the version-1 request's 24 bytes with version 2,
// the client's random nonce (16), and a flowstate/auth trailer over both.
const (
	nonceSize       = 16
	authRequestSize = requestSize + nonceSize + auth.Overhead
)

// session authenticates one transfer's frames: each frame's trailer is
// bound to the request's nonce and the frame's number, so frames cannot be
// replayed into another transfer, reordered, dropped or cut short (the end
// frame is authenticated too).
//
// Every frame carries the time its session started (the request's, on each
// side): the nonce already makes the frames fresh, the time only has to
// pass the receiver's clock-skew check, and reading the clock once saves a
// clock read per frame.
type session struct {
	mac  *auth.MAC
	t    time.Time
	bind [nonceSize + 8]byte // nonce, frame number
	seq  uint64
}

func newSession(keys *auth.Keyring, now func() time.Time, nonce [nonceSize]byte) *session {
	if now == nil {
		now = time.Now
	}
	s := &session{mac: keys.NewMAC(), t: now()}
	copy(s.bind[:], nonce[:])
	return s
}

// now returns the session's time.
func (s *session) now() time.Time { return s.t }

// next returns the binding of the next frame.
func (s *session) next() []byte {
	binary.LittleEndian.PutUint64(s.bind[nonceSize:], s.seq)
	s.seq++
	return s.bind[:]
}

// seal appends the next frame's trailer for b[start:] to b.
func (s *session) seal(b []byte, start int) ([]byte, error) {
	return s.mac.Seal(b, start, auth.TransferFrame, s.next(), s.t)
}

// open verifies the next frame (payload and trailer) and returns its
// payload.
func (s *session) open(b []byte) ([]byte, error) {
	return s.mac.Open(b, auth.TransferFrame, s.next(), s.t)
}

// newNonce returns a random request nonce.
func newNonce() ([nonceSize]byte, error) {
	var n [nonceSize]byte
	if _, err := rand.Read(n[:]); err != nil {
		return n, fmt.Errorf("flowstate/transfer: a request nonce: %w", err)
	}
	return n, nil
}

// appendAuthRequest appends an authenticated request for port.
func appendAuthRequest(b []byte, port topology.ID, nonce [nonceSize]byte, mac *auth.MAC, now time.Time) ([]byte, error) {
	start := len(b)
	b = appendRequest(b, port)
	b[start+4] = versionAuth
	b = append(b, nonce[:]...)
	return mac.Seal(b, start, auth.TransferRequest, nil, now)
}

// parseAuthRequest verifies and decodes an authenticated request. Errors
// wrap ErrProtocol (not a request) or ErrUnauthorized (and the
// flowstate/auth reason).
func parseAuthRequest(b []byte, mac *auth.MAC, now time.Time) (topology.ID, [nonceSize]byte, error) {
	var nonce [nonceSize]byte
	if len(b) != authRequestSize {
		return topology.ID{}, nonce, fmt.Errorf("%w: request of %d bytes, want %d", ErrProtocol, len(b), authRequestSize)
	}
	if [4]byte(b[:4]) != magic || b[4] != versionAuth || b[5] != opFetch || b[6]|b[7] != 0 {
		return topology.ID{}, nonce, fmt.Errorf("%w: bad request header % x", ErrProtocol, b[:8])
	}
	if _, err := mac.Open(b, auth.TransferRequest, nil, now); err != nil {
		return topology.ID{}, nonce, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	copy(nonce[:], b[requestSize:])
	return topology.ID(b[8:24]), nonce, nil
}
