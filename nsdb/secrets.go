package nsdb

import "context"

// MaxSecretSize bounds a secret's value.
const MaxSecretSize = 64 << 10

// Secrets holds small named cluster-wide secrets, such as the keys that
// authenticate flow-state messages between agents. A secret is persistent
// (it survives every session) and readable by every client of the database:
// where the database enforces access control (ZooKeeper with digest ACLs),
// only authenticated identities read it. Secrets are not topology objects:
// no watch, export or topology file shows them.
//
// A secret's version starts at 1 when it is created and grows by one with
// each write; versions of different secrets are unrelated. Names must
// satisfy ValidName; values are at most MaxSecretSize bytes.
type Secrets interface {
	// Get returns the secret's value and version; ErrNotFound if there is
	// no such secret.
	Get(ctx context.Context, name string) ([]byte, Version, error)
	// Set writes value provided the secret is at ifVersion and returns
	// its new version. With ifVersion AnyVersion it creates the secret:
	// ErrExists if it exists. Otherwise ErrNotFound if it is absent,
	// ErrConflict if someone wrote it since.
	Set(ctx context.Context, name string, value []byte, ifVersion Version) (Version, error)
}

// SecretKeeper is implemented by clients whose backend stores secrets (both
// nsdb/memory and nsdb/zookeeper do).
type SecretKeeper interface {
	Secrets() Secrets
}
