package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// SecretSize is the size of a key's secret: 256 bits, HMAC-SHA-256's block
// of strength.
const SecretSize = 32

// Errors about key sets.
var (
	// ErrBadKeySet: a stored key set does not decode or is inconsistent.
	ErrBadKeySet = errors.New("flowstate/auth: malformed key set")
	// ErrRotationPending: a rotation was asked while the newest key is
	// not active yet.
	ErrRotationPending = errors.New("flowstate/auth: a key rotation is pending")
	// ErrNoKeys: there is no key set (no cluster node or agent created
	// one yet).
	ErrNoKeys = errors.New("flowstate/auth: no flow-state keys")
)

// Key is one flow-state key.
type Key struct {
	// ID names the key in the messages it signs; each new key's is one
	// more than the newest's.
	ID uint32
	// Secret is the HMAC key.
	Secret [SecretSize]byte
	// Created is when the key was made.
	Created time.Time
	// ActiveFrom is when senders start signing with it; receivers accept
	// it as soon as they have it.
	ActiveFrom time.Time
}

// Info returns what may be shown of k: everything but its secret.
func (k Key) Info() KeyInfo { return KeyInfo{ID: k.ID, Created: k.Created, ActiveFrom: k.ActiveFrom} }

// KeyInfo describes a key without its secret, for APIs and logs.
type KeyInfo struct {
	ID         uint32    `json:"id"`
	Created    time.Time `json:"created"`
	ActiveFrom time.Time `json:"active-from"`
}

// KeySet is the cluster's flow-state keys, newest first: one, or two
// during and after a rotation.
type KeySet struct {
	Keys []Key
}

// MaxKeys is the number of keys a set keeps: the current and the previous.
const MaxKeys = 2

// NewKeySet returns a set with one new key, active at once. random is the
// source of the secret (nil: crypto/rand).
func NewKeySet(now time.Time, random io.Reader) (KeySet, error) {
	k, err := newKey(1, now, now, random)
	if err != nil {
		return KeySet{}, err
	}
	return KeySet{Keys: []Key{k}}, nil
}

func newKey(id uint32, now, active time.Time, random io.Reader) (Key, error) {
	if random == nil {
		random = rand.Reader
	}
	k := Key{ID: id, Created: now.UTC().Truncate(time.Millisecond), ActiveFrom: active.UTC().Truncate(time.Millisecond)}
	if _, err := io.ReadFull(random, k.Secret[:]); err != nil {
		return Key{}, fmt.Errorf("flowstate/auth: a new key's secret: %w", err)
	}
	return k, nil
}

// Rotate returns s with a new key, signing from now+delay, and the newest
// key of s as the previous one (older keys are dropped). It refuses with
// ErrRotationPending while the newest key of s is not active yet.
func (s KeySet) Rotate(now time.Time, delay time.Duration, random io.Reader) (KeySet, error) {
	if len(s.Keys) == 0 {
		return NewKeySet(now, random)
	}
	cur := s.Keys[0]
	if now.Before(cur.ActiveFrom) {
		return s, fmt.Errorf("%w: key %d becomes active at %s", ErrRotationPending, cur.ID, cur.ActiveFrom.Format(time.RFC3339))
	}
	k, err := newKey(cur.ID+1, now, now.Add(delay), random)
	if err != nil {
		return s, err
	}
	return KeySet{Keys: []Key{k, cur}}, nil
}

// Signing returns the key senders use at now: the newest active key (or,
// if none is active yet, the oldest).
func (s KeySet) Signing(now time.Time) (Key, bool) {
	for _, k := range s.Keys {
		if !now.Before(k.ActiveFrom) {
			return k, true
		}
	}
	if len(s.Keys) == 0 {
		return Key{}, false
	}
	return s.Keys[len(s.Keys)-1], true
}

// Lookup returns the key of s with id.
func (s KeySet) Lookup(id uint32) (Key, bool) {
	for _, k := range s.Keys {
		if k.ID == id {
			return k, true
		}
	}
	return Key{}, false
}

// Info describes the keys of s, newest first, without their secrets.
func (s KeySet) Info() []KeyInfo {
	out := make([]KeyInfo, len(s.Keys))
	for i, k := range s.Keys {
		out[i] = k.Info()
	}
	return out
}

type jsonKey struct {
	ID         uint32    `json:"id"`
	Secret     string    `json:"secret"`
	Created    time.Time `json:"created"`
	ActiveFrom time.Time `json:"active-from"`
}

type jsonSet struct {
	Version int       `json:"version"`
	Keys    []jsonKey `json:"keys"`
}

// MarshalBinary encodes s as the NSDB stores it: JSON, version 1, secrets
// in base64.
func (s KeySet) MarshalBinary() ([]byte, error) {
	js := jsonSet{Version: 1, Keys: make([]jsonKey, len(s.Keys))}
	for i, k := range s.Keys {
		js.Keys[i] = jsonKey{ID: k.ID, Secret: base64.StdEncoding.EncodeToString(k.Secret[:]), Created: k.Created, ActiveFrom: k.ActiveFrom}
	}
	return json.Marshal(js)
}

// UnmarshalBinary decodes a key set MarshalBinary wrote. It checks that the
// set holds one or two keys with full-size secrets and distinct IDs,
// newest (highest ID) first; on error s is unchanged.
func (s *KeySet) UnmarshalBinary(b []byte) error {
	if len(b) > 4096 {
		return fmt.Errorf("%w: %d bytes", ErrBadKeySet, len(b))
	}
	var js jsonSet
	if err := json.Unmarshal(b, &js); err != nil {
		return fmt.Errorf("%w: %w", ErrBadKeySet, err)
	}
	if js.Version != 1 {
		return fmt.Errorf("%w: version %d", ErrBadKeySet, js.Version)
	}
	if len(js.Keys) == 0 || len(js.Keys) > MaxKeys {
		return fmt.Errorf("%w: %d keys, want 1 to %d", ErrBadKeySet, len(js.Keys), MaxKeys)
	}
	out := KeySet{Keys: make([]Key, len(js.Keys))}
	for i, jk := range js.Keys {
		sec, err := base64.StdEncoding.DecodeString(jk.Secret)
		if err != nil || len(sec) != SecretSize {
			return fmt.Errorf("%w: key %d: the secret is not %d bytes of base64", ErrBadKeySet, jk.ID, SecretSize)
		}
		if i > 0 && jk.ID >= js.Keys[i-1].ID {
			return fmt.Errorf("%w: key %d after key %d (newest first)", ErrBadKeySet, jk.ID, js.Keys[i-1].ID)
		}
		out.Keys[i] = Key{ID: jk.ID, Secret: [SecretSize]byte(sec), Created: jk.Created, ActiveFrom: jk.ActiveFrom}
	}
	*s = out
	return nil
}
