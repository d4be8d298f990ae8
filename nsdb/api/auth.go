package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// Role is what a token allows.
type Role string

// Roles.
const (
	// RoleAdmin reads and writes.
	RoleAdmin Role = "admin"
	// RoleReader only reads.
	RoleReader Role = "reader"
)

// Identity is who a request's token says it comes from.
type Identity struct {
	// Name is the token's name from the token file: it is what logs show,
	// never the token.
	Name string
	Role Role
}

// InsecureName is the name of the admin every request acts as when the
// API serves without authentication (Config.Insecure): its writes are
// logged with it.
const InsecureName = "insecure-anonymous"

// ErrBadTokenFile is wrapped by the errors of LoadTokens and ParseTokens.
var ErrBadTokenFile = errors.New("api: bad token file")

// Tokens authenticates bearer tokens. It is immutable and safe for
// concurrent use.
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	hash [sha256.Size]byte
	id   Identity
}

// ParseTokens reads a token file in the Kubernetes static-token
// convention: one CSV line per token, "token,name,role", role admin or
// reader. Blank lines and lines starting with # are ignored. Tokens are
// made of the bearer-token alphabet (letters, digits and -._~+/, then any
// '=') and each appears once; names must not be empty. Tokens are secrets
// that anyone reaching the API may guess: make them long and random
// (openssl rand -base64 32).
func ParseTokens(r io.Reader) (*Tokens, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	t := &Tokens{}
	seen := map[[sha256.Size]byte]bool{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadTokenFile, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != 3 {
			return nil, fmt.Errorf("%w: line %d: want token,name,role; found %d fields", ErrBadTokenFile, line, len(rec))
		}
		tok, name, role := rec[0], strings.TrimSpace(rec[1]), Role(strings.TrimSpace(rec[2]))
		if !isToken68(tok) {
			return nil, fmt.Errorf("%w: line %d: a token is made of A-Z a-z 0-9 -._~+/ (then '=')", ErrBadTokenFile, line)
		}
		if name == "" {
			return nil, fmt.Errorf("%w: line %d: empty name", ErrBadTokenFile, line)
		}
		if role != RoleAdmin && role != RoleReader {
			return nil, fmt.Errorf("%w: line %d: role %q is not admin or reader", ErrBadTokenFile, line, role)
		}
		h := sha256.Sum256([]byte(tok))
		if seen[h] {
			return nil, fmt.Errorf("%w: line %d: token of %q appears twice", ErrBadTokenFile, line, name)
		}
		seen[h] = true
		t.entries = append(t.entries, tokenEntry{hash: h, id: Identity{Name: name, Role: role}})
	}
	if len(t.entries) == 0 {
		return nil, fmt.Errorf("%w: no tokens", ErrBadTokenFile)
	}
	return t, nil
}

// LoadTokens reads the token file at path (see ParseTokens). The file must
// be a regular file that other users cannot read or write and its group
// cannot write (chmod 600 or 640): tokens are secrets.
func LoadTokens(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadTokenFile, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadTokenFile, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrBadTokenFile, path)
	}
	if perm := fi.Mode().Perm(); perm&0o027 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v: other users could read it or its group write it (chmod 600)", ErrBadTokenFile, path, perm)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadTokenFile, err)
	}
	t, err := ParseTokens(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// isToken68 reports whether s has the syntax of an RFC 7235 token68.
func isToken68(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// Authenticate returns the identity of token. Its time does not depend on
// which token matched, nor on how much of a wrong token is right: every
// entry's hash is compared in constant time.
func (t *Tokens) Authenticate(token string) (Identity, bool) {
	h := sha256.Sum256([]byte(token))
	found := -1
	for i := range t.entries {
		if subtle.ConstantTimeCompare(h[:], t.entries[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Identity{}, false
	}
	return t.entries[found].id, true
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

type identityKey struct{}

// identityOf returns the identity the request authenticated as.
func identityOf(ctx context.Context) Identity {
	id, _ := ctx.Value(identityKey{}).(Identity)
	return id
}
