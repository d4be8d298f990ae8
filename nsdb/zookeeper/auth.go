package zookeeper

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/go-zookeeper/zk"
)

// Access control. ZooKeeper checks every read and write of a znode against
// the znode's ACL; a znode created with an ACL listing only digest
// identities can be neither read (data, children, watches) nor written
// (data, children, deletion of children, ACL) by a connection that has
// not authenticated as one of them. With Config.Auth, a Client
// authenticates on every connection before it uses it, and creates every
// znode with the ACL of Auth: all permissions for each of its identities,
// nothing for anyone else. SecureRoot gives a tree created without Auth
// that ACL. The ancestors of the root a client creates (for a root such as
// /deployments/east) are open to all: other databases may share them, and
// they hold nothing but the names of their children. ZooKeeper does not
// check ACLs on exists: an anonymous client can still learn whether a path
// it guesses exists, and that is all.

// ErrBadAuth is wrapped by the errors of ParseAuth and LoadAuth.
var ErrBadAuth = errors.New("zookeeper: bad auth file")

// MaxAuthFileBytes bounds the size of an auth file.
const MaxAuthFileBytes = 64 << 10

// Digest is a ZooKeeper identity of the digest scheme: a user name and
// its password.
type Digest struct {
	User     string
	Password string
}

// ID returns the identity as digest ACLs name it: "user:" followed by the
// base64 SHA-1 of "user:password" (ZooKeeper's DigestAuthenticationProvider).
func (d Digest) ID() string {
	h := sha1.Sum([]byte(d.User + ":" + d.Password))
	return d.User + ":" + base64.StdEncoding.EncodeToString(h[:])
}

// Auth is what a Client authenticates as, and who may use the znodes it
// creates.
type Auth struct {
	// Digest is the identity the client authenticates as; it gets every
	// permission on the znodes the client creates.
	Digest Digest
	// Grant lists other identities, as Digest.ID gives them, that get
	// every permission too: the other components of the deployment when
	// each has an identity of its own (agents, cluster nodes, operators'
	// tools). Components that share one identity leave it empty.
	Grant []string
}

// acl returns the ACL of the znodes a client with a creates.
func (a *Auth) acl() []zk.ACL {
	acl := []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: a.Digest.ID()}}
	for _, id := range a.Grant {
		acl = append(acl, zk.ACL{Perms: zk.PermAll, Scheme: "digest", ID: id})
	}
	return acl
}

func (a *Auth) check() error {
	d := a.Digest
	if d.User == "" || d.Password == "" || strings.ContainsAny(d.User, ":\n\r") || strings.ContainsAny(d.Password, "\n\r") {
		return fmt.Errorf("%w: the identity is user:password, neither empty, the user without ':'", ErrBadAuth)
	}
	for _, id := range a.Grant {
		if err := checkDigestID(id); err != nil {
			return err
		}
	}
	return nil
}

// checkDigestID checks the form "user:base64(sha1)".
func checkDigestID(id string) error {
	user, hash, ok := strings.Cut(id, ":")
	if b, err := base64.StdEncoding.DecodeString(hash); !ok || user == "" || err != nil || len(b) != sha1.Size {
		return fmt.Errorf("%w: %q is not an identity of the form user:<base64 SHA-1>", ErrBadAuth, id)
	}
	return nil
}

// ParseAuth reads an auth file: blank lines and lines starting with '#'
// are ignored; the first other line is the identity, "user:password"
// (the password is the rest of the line, and may contain ':'); each
// further line "grant user:<base64 SHA-1>" names an identity to grant
// every permission too (Auth.Grant; Digest.ID computes an identity's
// form, as ZooKeeper's DigestAuthenticationProvider does).
func ParseAuth(r io.Reader) (*Auth, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxAuthFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadAuth, err)
	}
	if len(data) > MaxAuthFileBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadAuth, MaxAuthFileBytes)
	}
	a := &Auth{}
	seen := false
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !seen {
			user, pass, ok := strings.Cut(line, ":")
			if !ok {
				return nil, fmt.Errorf("%w: line %d: want user:password", ErrBadAuth, n+1)
			}
			a.Digest = Digest{User: user, Password: pass}
			seen = true
			continue
		}
		id, ok := strings.CutPrefix(line, "grant ")
		if !ok {
			return nil, fmt.Errorf("%w: line %d: want \"grant user:<base64 SHA-1>\"", ErrBadAuth, n+1)
		}
		a.Grant = append(a.Grant, strings.TrimSpace(id))
	}
	if !seen {
		return nil, fmt.Errorf("%w: no user:password line", ErrBadAuth)
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	return a, nil
}

// LoadAuth reads the auth file at path (ParseAuth). It must be a regular
// file that neither group nor others can read or write (chmod 600): it
// holds a password.
func LoadAuth(path string) (*Auth, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadAuth, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadAuth, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrBadAuth, path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v: group or others could read or write it (chmod 600)", ErrBadAuth, path, perm)
	}
	a, err := ParseAuth(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}
