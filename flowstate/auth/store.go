package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/hivenet/hivenet/nsdb"
)

// SecretName is the NSDB secret (nsdb.Secrets) holding the cluster's
// flow-state keys.
const SecretName = "flow-state-keys"

// DefaultActivationDelay is how long after a rotation the new key becomes
// the signing key: several times DefaultRefresh, so every agent has read
// it by then.
const DefaultActivationDelay = 30 * time.Second

// DefaultRefresh is how often Keyring.Run re-reads the key set.
const DefaultRefresh = 5 * time.Second

// Load reads the key set from the NSDB: ErrNoKeys if there is none.
func Load(ctx context.Context, s nsdb.Secrets) (KeySet, nsdb.Version, error) {
	b, v, err := s.Get(ctx, SecretName)
	if errors.Is(err, nsdb.ErrNotFound) {
		return KeySet{}, 0, fmt.Errorf("%w: %w", ErrNoKeys, err)
	}
	if err != nil {
		return KeySet{}, 0, fmt.Errorf("flowstate/auth: reading the keys: %w", err)
	}
	var ks KeySet
	if err := ks.UnmarshalBinary(b); err != nil {
		return KeySet{}, 0, err
	}
	return ks, v, nil
}

// Ensure returns the cluster's key set, creating it with one key, active at
// once, if there is none (the first cluster node's or agent's start). When
// several processes race, one creates it and the others read theirs.
// created reports whether this call created it.
func Ensure(ctx context.Context, s nsdb.Secrets, now time.Time, random io.Reader) (ks KeySet, created bool, err error) {
	for {
		ks, _, err := Load(ctx, s)
		if !errors.Is(err, ErrNoKeys) {
			return ks, false, err
		}
		if ks, err = NewKeySet(now, random); err != nil {
			return KeySet{}, false, err
		}
		b, err := ks.MarshalBinary()
		if err != nil {
			return KeySet{}, false, err
		}
		_, err = s.Set(ctx, SecretName, b, nsdb.AnyVersion)
		if errors.Is(err, nsdb.ErrExists) {
			continue
		}
		if err != nil {
			return KeySet{}, false, fmt.Errorf("flowstate/auth: creating the keys: %w", err)
		}
		return ks, true, nil
	}
}

// Rotate adds a new key to the cluster's key set, signing from now+delay
// (DefaultActivationDelay when delay is 0), and returns the new set. It
// fails with ErrNoKeys when there is no set, ErrRotationPending when the
// previous rotation's key is not active yet; concurrent rotations are
// serialised by the secret's version (the loser retries, and then finds a
// rotation pending).
func Rotate(ctx context.Context, s nsdb.Secrets, now time.Time, delay time.Duration, random io.Reader) (KeySet, error) {
	if delay <= 0 {
		delay = DefaultActivationDelay
	}
	for {
		cur, v, err := Load(ctx, s)
		if err != nil {
			return KeySet{}, err
		}
		next, err := cur.Rotate(now, delay, random)
		if err != nil {
			return cur, err
		}
		b, err := next.MarshalBinary()
		if err != nil {
			return KeySet{}, err
		}
		_, err = s.Set(ctx, SecretName, b, v)
		if errors.Is(err, nsdb.ErrConflict) {
			continue
		}
		if err != nil {
			return KeySet{}, fmt.Errorf("flowstate/auth: writing the rotated keys: %w", err)
		}
		return next, nil
	}
}

// Refresh reads the key set from the NSDB into r if it changed since r's
// last read; it reports whether it did.
func (r *Keyring) Refresh(ctx context.Context, s nsdb.Secrets) (bool, error) {
	ks, v, err := Load(ctx, s)
	if err != nil {
		return false, err
	}
	if cur := r.cur.Load(); cur.version == uint64(v) && v != 0 {
		return false, nil
	}
	r.setVersion(ks, uint64(v))
	return true, nil
}

// Run refreshes r from the NSDB every interval (DefaultRefresh when 0)
// until ctx ends, logging the keys it takes and the reads that fail (r
// keeps its keys meanwhile).
func (r *Keyring) Run(ctx context.Context, s nsdb.Secrets, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = DefaultRefresh
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := r.Refresh(ctx, s)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("flow-state keys: refresh failed; keeping the current keys", "err", err)
		case changed:
			log.Info("flow-state keys changed", "keys", r.Keys().Info())
		}
	}
}
