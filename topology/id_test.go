package topology_test

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/topology"
)

func TestParseID(t *testing.T) {
	const s = "6b1f4e2a-9c51-5d3b-8e07-41d26c9015aa"
	id, err := topology.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	if id != topology.Namespace {
		t.Errorf("ParseID(%q) = %v, want the namespace ID", s, id)
	}
	if got := id.String(); got != s {
		t.Errorf("String() = %q, want %q", got, s)
	}
	upper, err := topology.ParseID(strings.ToUpper(s))
	if err != nil || upper != id {
		t.Errorf("ParseID(upper case) = %v, %v; want %v", upper, err, id)
	}
	for _, bad := range []string{
		"",
		"6b1f4e2a9c515d3b8e0741d26c9015aa",          // no dashes
		"6b1f4e2a-9c51-5d3b-8e07-41d26c9015a",       // short
		"6b1f4e2a-9c51-5d3b-8e07-41d26c9015aaa",     // long
		"6b1f4e2a+9c51-5d3b-8e07-41d26c9015aa",      // wrong separator
		"6b1f4e2a-9c515-d3b-8e07-41d26c9015aa",      // dash misplaced
		"6b1f4e2a-9c51-5d3b-8e07-41d26c9015ag",      // not hex
		"{6b1f4e2a-9c51-5d3b-8e07-41d26c9015aa}",    // braces
		"urn:uuid:6b1f4e2a-9c51-5d3b-8e07-41d26c90", // URN
	} {
		if _, err := topology.ParseID(bad); !errors.Is(err, topology.ErrBadID) {
			t.Errorf("ParseID(%q) error = %v, want ErrBadID", bad, err)
		}
	}
}

func TestIDText(t *testing.T) {
	id := topology.NameID(topology.KindPort, "vm1")
	b, err := id.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var back topology.ID
	if err := back.UnmarshalText(b); err != nil || back != id {
		t.Errorf("UnmarshalText(MarshalText(%v)) = %v, %v", id, back, err)
	}
	if err := back.UnmarshalText([]byte("nope")); !errors.Is(err, topology.ErrBadID) {
		t.Errorf("UnmarshalText(nope) = %v, want ErrBadID", err)
	}
	if back != id {
		t.Errorf("failed UnmarshalText changed the ID to %v", back)
	}
	app, _ := id.AppendText([]byte("id="))
	if string(app) != "id="+id.String() {
		t.Errorf("AppendText = %q", app)
	}
	if !(topology.ID{}).IsZero() || id.IsZero() {
		t.Error("IsZero is wrong")
	}
	if topology.MustParseID(id.String()) != id {
		t.Error("MustParseID does not round-trip")
	}
}

func TestMustParseIDPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParseID(bad) did not panic")
		}
	}()
	topology.MustParseID("bad")
}

func TestNameID(t *testing.T) {
	a := topology.NameID(topology.KindBridge, "net1")
	if b := topology.NameID(topology.KindBridge, "net1"); a != b {
		t.Errorf("NameID is not deterministic: %v, %v", a, b)
	}
	if b := topology.NameID(topology.KindRouter, "net1"); a == b {
		t.Error("same name in two kinds gives the same ID")
	}
	if b := topology.NameID(topology.KindBridge, "net2"); a == b {
		t.Error("two names give the same ID")
	}
	// The kind and name are separated, so ("port", "x") and ("por", "tx")
	// style concatenations cannot collide.
	if topology.NameID(topology.KindPort, "") == topology.NameID(topology.KindPort, "\x00") {
		t.Error("empty name collides with NUL name")
	}
	// Version 5 and RFC 9562 variant.
	if a[6]>>4 != 5 {
		t.Errorf("version nibble = %x, want 5", a[6]>>4)
	}
	if a[8]>>6 != 2 {
		t.Errorf("variant bits = %b, want 10", a[8]>>6)
	}
	// The documented derivation: SHA-1 over namespace, kind, NUL, name.
	h := sha1.Sum(append(append(append(topology.Namespace[:], "bridge"...), 0), "net1"...))
	var want topology.ID
	copy(want[:], h[:16])
	want[6] = want[6]&0x0f | 0x50
	want[8] = want[8]&0x3f | 0x80
	if a != want {
		t.Errorf("NameID(bridge, net1) = %v, want %v", a, want)
	}
	// Stability across releases: stored topologies and files hold these
	// IDs, so the derivation must never change.
	if got := a.String(); got != "f8bc29d1-37a7-515e-9704-2c2ef24afdfa" {
		t.Errorf("NameID(bridge, net1) = %s: the derivation changed", got)
	}
}

func TestNewID(t *testing.T) {
	src := bytes.Repeat([]byte{0xff}, 32)
	r := bytes.NewReader(src)
	a, err := topology.NewID(r)
	if err != nil {
		t.Fatal(err)
	}
	if a[6]>>4 != 4 || a[8]>>6 != 2 {
		t.Errorf("NewID = %v: version %x variant %b, want 4 and 10", a, a[6]>>4, a[8]>>6)
	}
	// Other bits come from the reader untouched.
	if a[0] != 0xff || a[6]&0x0f != 0x0f || a[8]&0x3f != 0x3f || a[15] != 0xff {
		t.Errorf("NewID = %v lost random bits", a)
	}
	zero, err := topology.NewID(bytes.NewReader(make([]byte, 16)))
	if err != nil || zero.IsZero() {
		t.Errorf("NewID(zeros) = %v, %v: want a non-zero v4 ID", zero, err)
	}
	if _, err := topology.NewID(bytes.NewReader(make([]byte, 15))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("NewID(short reader) error = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestKind(t *testing.T) {
	kinds := topology.Kinds()
	if len(kinds) != 18 {
		t.Errorf("Kinds() has %d kinds, want 18", len(kinds))
	}
	seen := map[string]bool{}
	for _, k := range kinds {
		s := k.String()
		if seen[s] {
			t.Errorf("two kinds named %q", s)
		}
		seen[s] = true
		if got := topology.ParseKind(s); got != k {
			t.Errorf("ParseKind(%q) = %v, want %v", s, got, k)
		}
		if topology.New(k) == nil || topology.New(k).ObjectKind() != k {
			t.Errorf("New(%v) does not return a %v", k, k)
		}
	}
	if topology.ParseKind("invalid") != topology.KindInvalid || topology.ParseKind("nope") != topology.KindInvalid {
		t.Error("ParseKind accepts an invalid name")
	}
	if s := topology.Kind(200).String(); s != "kind(200)" {
		t.Errorf("Kind(200).String() = %q", s)
	}
}

func FuzzParseID(f *testing.F) {
	f.Add("6b1f4e2a-9c51-5d3b-8e07-41d26c9015aa")
	f.Add("6B1F4E2A-9C51-5D3B-8E07-41D26C9015AA")
	f.Add("00000000-0000-0000-0000-000000000000")
	f.Add("6b1f4e2a-9c51-5d3b-8e07-41d26c9015a")
	f.Add("zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := topology.ParseID(s)
		if err != nil {
			if !errors.Is(err, topology.ErrBadID) {
				t.Fatalf("ParseID(%q) error %v does not wrap ErrBadID", s, err)
			}
			if id != (topology.ID{}) {
				t.Fatalf("ParseID(%q) failed but returned %v", s, id)
			}
			return
		}
		out := id.String()
		if out != strings.ToLower(s) {
			t.Fatalf("ParseID(%q).String() = %q", s, out)
		}
		back, err := topology.ParseID(out)
		if err != nil || back != id {
			t.Fatalf("round trip of %q: %v, %v", s, back, err)
		}
	})
}
