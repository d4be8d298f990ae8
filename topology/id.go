package topology

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// ID identifies a topology object. It is a UUID (RFC 9562) held as 16 bytes:
// comparable, usable as a map key, and free to copy. The zero ID means
// "none" wherever an optional reference is expected.
type ID [16]byte

// ErrBadID is wrapped by the errors ParseID returns.
var ErrBadID = errors.New("topology: malformed ID")

// IsZero reports whether id is the zero ID (no object).
func (id ID) IsZero() bool { return id == ID{} }

// String formats id in the canonical 8-4-4-4-12 hexadecimal form.
func (id ID) String() string {
	var b [36]byte
	id.encode(b[:])
	return string(b[:])
}

func (id ID) encode(b []byte) {
	hex.Encode(b[0:8], id[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id[8:10])
	b[23] = '-'
	hex.Encode(b[24:], id[10:])
}

// AppendText appends the canonical form of id to b.
func (id ID) AppendText(b []byte) ([]byte, error) {
	n := len(b)
	b = append(b, make([]byte, 36)...)
	id.encode(b[n:])
	return b, nil
}

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return id.AppendText(nil) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseID parses the canonical 36-character form of a UUID.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return ID{}, fmt.Errorf("%w: %q is not of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", ErrBadID, s)
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++ // a dash, checked above
			continue
		}
		hi, ok1 := fromHex(s[i])
		lo, ok2 := fromHex(s[i+1])
		if !ok1 || !ok2 {
			return ID{}, fmt.Errorf("%w: %q has a non-hexadecimal digit", ErrBadID, s)
		}
		id[j] = hi<<4 | lo
		j++
		i += 2
	}
	return id, nil
}

// MustParseID is ParseID for literals; it panics on malformed input.
func MustParseID(s string) ID {
	id, err := ParseID(s)
	if err != nil {
		panic(err)
	}
	return id
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// NewID returns a random (version 4) ID read from r, typically
// crypto/rand.Reader; tests pass a seeded source for determinism.
func NewID(r io.Reader) (ID, error) {
	var id ID
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return ID{}, fmt.Errorf("topology: reading random ID: %w", err)
	}
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id, nil
}

// Namespace is the UUID namespace of IDs derived from names.
var Namespace = ID{0x6b, 0x1f, 0x4e, 0x2a, 0x9c, 0x51, 0x5d, 0x3b, 0x8e, 0x07, 0x41, 0xd2, 0x6c, 0x90, 0x15, 0xaa}

// NameID derives a stable (version 5, SHA-1) ID from an object kind and
// name, so that hand-written topology files get the same IDs on every load.
func NameID(kind Kind, name string) ID {
	h := sha1.New()
	h.Write(Namespace[:])
	h.Write([]byte(kind.String()))
	h.Write([]byte{0})
	h.Write([]byte(name))
	var id ID
	copy(id[:], h.Sum(nil))
	id[6] = id[6]&0x0f | 0x50
	id[8] = id[8]&0x3f | 0x80
	return id
}
