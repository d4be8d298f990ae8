package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"sync/atomic"
	"time"
)

// Trailer layout.
const (
	// TagSize is the size of the truncated HMAC-SHA-256 tag.
	TagSize = 16
	// Overhead is what Seal appends: magic, key ID, time and tag.
	Overhead = 4 + 4 + 8 + TagSize
	// DefaultWindow is how far a message's time may be from the
	// receiver's clock.
	DefaultWindow = 30 * time.Second
)

var trailerMagic = [4]byte{'H', 'V', 'A', '1'}

// Purpose says what a tag authenticates; a tag made for one purpose never
// verifies for another.
type Purpose byte

// Purposes.
const (
	// FlowStateMessage: an in-band flow-state message.
	FlowStateMessage Purpose = 1
	// TransferRequest: a flow-state transfer's request.
	TransferRequest Purpose = 2
	// TransferFrame: one frame of a flow-state transfer's answer.
	TransferFrame Purpose = 3
)

// Errors Open returns; Reason names each for metrics.
var (
	ErrNoMAC      = errors.New("flowstate/auth: no MAC")
	ErrUnknownKey = errors.New("flowstate/auth: unknown key")
	ErrBadMAC     = errors.New("flowstate/auth: bad MAC")
	ErrStale      = errors.New("flowstate/auth: message time outside the window")
)

// Reason returns the metric label of an error Open or Seal returned:
// "no-mac", "unknown-key", "bad-mac", "stale", "no-keys", else "other".
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrNoMAC):
		return "no-mac"
	case errors.Is(err, ErrUnknownKey):
		return "unknown-key"
	case errors.Is(err, ErrBadMAC):
		return "bad-mac"
	case errors.Is(err, ErrStale):
		return "stale"
	case errors.Is(err, ErrNoKeys):
		return "no-keys"
	}
	return "other"
}

// Keyring holds the key set in use, shared by every MAC made from it; Set
// replaces it atomically (a rotation read from the NSDB). Safe for
// concurrent use.
type Keyring struct {
	cur atomic.Pointer[ringState]
}

type ringState struct {
	set     KeySet
	version uint64 // the NSDB secret's version it came from (0: set directly)
}

// NewKeyring returns a keyring holding s (which may be empty: every Seal
// then fails with ErrNoKeys, every Open with ErrUnknownKey).
func NewKeyring(s KeySet) *Keyring {
	r := &Keyring{}
	r.cur.Store(&ringState{set: s})
	return r
}

// Set makes s the key set in use.
func (r *Keyring) Set(s KeySet) { r.cur.Store(&ringState{set: s}) }

func (r *Keyring) setVersion(s KeySet, v uint64) { r.cur.Store(&ringState{set: s, version: v}) }

// Keys returns the key set in use.
func (r *Keyring) Keys() KeySet { return r.cur.Load().set }

// MAC signs and verifies with the keys of a keyring. It keeps an HMAC
// state per key, rebuilt when the keyring changes, so Seal and Open do not
// allocate. Not safe for concurrent use: give each goroutine its own.
type MAC struct {
	// Window bounds the distance between a message's time and the
	// receiver's clock (default DefaultWindow).
	Window time.Duration

	ring  *Keyring
	state *ringState
	keys  [MaxKeys]macKey
	n     int
	sum   [sha256.Size]byte
	pb    [1]byte
}

type macKey struct {
	id     uint32
	active time.Time
	h      hash.Hash
}

// NewMAC returns a MAC on r's keys.
func (r *Keyring) NewMAC() *MAC { return &MAC{ring: r} }

// refresh rebuilds the HMAC states if the keyring changed.
func (m *MAC) refresh() {
	st := m.ring.cur.Load()
	if st == m.state {
		return
	}
	m.state, m.n = st, 0
	for _, k := range st.set.Keys {
		if m.n == len(m.keys) {
			break
		}
		m.keys[m.n] = macKey{id: k.ID, active: k.ActiveFrom, h: hmac.New(sha256.New, k.Secret[:])}
		m.n++
	}
}

// tag computes the tag of p, bind, payload and the trailer's first 16
// bytes with h into m.sum.
func (m *MAC) tag(h hash.Hash, p Purpose, bind, payload, head []byte) []byte {
	h.Reset()
	m.pb[0] = byte(p)
	h.Write(m.pb[:])
	h.Write(bind)
	h.Write(payload)
	h.Write(head)
	return h.Sum(m.sum[:0])[:TagSize]
}

// Seal appends to b the trailer authenticating b[start:] for purpose p and
// the binding bind (a fixed-size value per purpose, or nil), signed with
// the keyring's signing key at now. It does not allocate when b has room
// for Overhead more bytes.
func (m *MAC) Seal(b []byte, start int, p Purpose, bind []byte, now time.Time) ([]byte, error) {
	m.refresh()
	var k *macKey
	for i := range m.n {
		if !now.Before(m.keys[i].active) {
			k = &m.keys[i]
			break
		}
	}
	if k == nil && m.n > 0 {
		k = &m.keys[m.n-1]
	}
	if k == nil {
		return b, ErrNoKeys
	}
	end := len(b)
	b = append(b, trailerMagic[:]...)
	b = binary.LittleEndian.AppendUint32(b, k.id)
	b = binary.LittleEndian.AppendUint64(b, uint64(now.UnixMilli()))
	t := m.tag(k.h, p, bind, b[start:end], b[end:])
	return append(b, t...), nil
}

// Open verifies the trailer at the end of b for purpose p and binding bind
// and returns the payload before it (a subslice of b). It fails with
// ErrNoMAC (no trailer), ErrUnknownKey (a key not in the keyring), ErrStale
// (a time outside the window) or ErrBadMAC. It does not allocate.
func (m *MAC) Open(b []byte, p Purpose, bind []byte, now time.Time) ([]byte, error) {
	if len(b) < Overhead {
		return nil, ErrNoMAC
	}
	tr := b[len(b)-Overhead:]
	if [4]byte(tr[:4]) != trailerMagic {
		return nil, ErrNoMAC
	}
	m.refresh()
	id := binary.LittleEndian.Uint32(tr[4:])
	var k *macKey
	for i := range m.n {
		if m.keys[i].id == id {
			k = &m.keys[i]
			break
		}
	}
	if k == nil {
		return nil, ErrUnknownKey
	}
	payload := b[:len(b)-Overhead]
	if !hmac.Equal(m.tag(k.h, p, bind, payload, tr[:16]), tr[16:]) {
		return nil, ErrBadMAC
	}
	w := m.Window
	if w <= 0 {
		w = DefaultWindow
	}
	sent := int64(binary.LittleEndian.Uint64(tr[8:]))
	if d := now.UnixMilli() - sent; d > w.Milliseconds() || d < -w.Milliseconds() {
		return nil, ErrStale
	}
	return payload, nil
}
