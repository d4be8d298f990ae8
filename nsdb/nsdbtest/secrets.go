package nsdbtest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
)

// RunSecrets runs the conformance suite of nsdb.Secrets. Every client the
// harness returns must implement nsdb.SecretKeeper.
func RunSecrets(t *testing.T, open func(t *testing.T) Harness) {
	cases := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"CreateGetUpdate", secretsCreateGetUpdate},
		{"VersionsGuardWrites", secretsVersions},
		{"InvalidRefused", secretsInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func secretsOf(t *testing.T, c nsdb.Client) nsdb.Secrets {
	t.Helper()
	sk, ok := c.(nsdb.SecretKeeper)
	if !ok {
		t.Fatalf("%T does not implement nsdb.SecretKeeper", c)
	}
	return sk.Secrets()
}

// secretsCreateGetUpdate: a secret one client writes is read by another,
// outlives the writer's session, and versions count the writes.
func secretsCreateGetUpdate(t *testing.T, h Harness) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	a, b := h.NewClient(t), h.NewClient(t)
	if _, _, err := secretsOf(t, b).Get(ctx, "keys"); !errors.Is(err, nsdb.ErrNotFound) {
		t.Fatalf("Get of an absent secret: %v, want ErrNotFound", err)
	}
	v1, err := secretsOf(t, a).Set(ctx, "keys", []byte("one"), nsdb.AnyVersion)
	if err != nil || v1 != 1 {
		t.Fatalf("create: version %d, %v; want 1", v1, err)
	}
	h.ExpireSession(t, a)
	got, v, err := secretsOf(t, b).Get(ctx, "keys")
	if err != nil || !bytes.Equal(got, []byte("one")) || v != v1 {
		t.Fatalf("Get after the writer's session expired: %q version %d, %v; want \"one\" version %d", got, v, err, v1)
	}
	v2, err := secretsOf(t, b).Set(ctx, "keys", []byte("two"), v1)
	if err != nil || v2 != 2 {
		t.Fatalf("update: version %d, %v; want 2", v2, err)
	}
	got, v, err = secretsOf(t, a).Get(ctx, "keys")
	if err != nil || !bytes.Equal(got, []byte("two")) || v != v2 {
		t.Fatalf("Get after the update: %q version %d, %v", got, v, err)
	}
	got[0] = 'X' // the caller's copy
	if again, _, _ := secretsOf(t, a).Get(ctx, "keys"); !bytes.Equal(again, []byte("two")) {
		t.Fatalf("changing a returned value changed the secret: %q", again)
	}
}

// secretsVersions: creating an existing secret, updating an absent one and
// a stale update fail and change nothing.
func secretsVersions(t *testing.T, h Harness) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	s := secretsOf(t, h.NewClient(t))
	if _, err := s.Set(ctx, "keys", []byte("x"), 1); !errors.Is(err, nsdb.ErrNotFound) {
		t.Fatalf("update of an absent secret: %v, want ErrNotFound", err)
	}
	v1, err := s.Set(ctx, "keys", []byte("one"), nsdb.AnyVersion)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Set(ctx, "keys", []byte("again"), nsdb.AnyVersion); !errors.Is(err, nsdb.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	v2, err := s.Set(ctx, "keys", []byte("two"), v1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Set(ctx, "keys", []byte("stale"), v1); !errors.Is(err, nsdb.ErrConflict) {
		t.Fatalf("update at a stale version: %v, want ErrConflict", err)
	}
	if got, v, err := s.Get(ctx, "keys"); err != nil || string(got) != "two" || v != v2 {
		t.Fatalf("after the refused writes: %q version %d, %v; want \"two\" version %d", got, v, err, v2)
	}
}

func secretsInvalid(t *testing.T, h Harness) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	s := secretsOf(t, h.NewClient(t))
	if _, err := s.Set(ctx, "a/b", []byte("x"), nsdb.AnyVersion); !errors.Is(err, nsdb.ErrInvalid) {
		t.Errorf("a name with a slash: %v, want ErrInvalid", err)
	}
	if _, err := s.Set(ctx, "big", make([]byte, nsdb.MaxSecretSize+1), nsdb.AnyVersion); !errors.Is(err, nsdb.ErrInvalid) {
		t.Errorf("a value over MaxSecretSize: %v, want ErrInvalid", err)
	}
	if _, _, err := s.Get(ctx, ""); !errors.Is(err, nsdb.ErrInvalid) {
		t.Errorf("Get of an empty name: %v, want ErrInvalid", err)
	}
}
