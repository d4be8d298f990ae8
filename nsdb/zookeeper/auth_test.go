package zookeeper

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseAuth(t *testing.T) {
	ops := Digest{User: "ops", Password: "pw"}.ID()
	a, err := ParseAuth(strings.NewReader("# the agents' identity\n\nagent:p@ss:word\ngrant " + ops + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != (Digest{User: "agent", Password: "p@ss:word"}) || !slices.Equal(a.Grant, []string{ops}) {
		t.Errorf("ParseAuth = %+v", a)
	}
	acl := a.acl()
	if len(acl) != 2 || acl[0].Scheme != "digest" || acl[0].ID != a.Digest.ID() || acl[1].ID != ops {
		t.Errorf("acl = %+v", acl)
	}
	for _, bad := range []string{
		"",
		"# only a comment\n",
		"nocolon\n",
		":password\n",
		"user:\n",
		"user:pw\nextra line\n",
		"user:pw\ngrant notanid\n",
		"user:pw\ngrant ops:bm90IHNoYTE=\n", // not 20 bytes
		"user:pw\n" + strings.Repeat("#", MaxAuthFileBytes+1) + "\n",
	} {
		if a, err := ParseAuth(strings.NewReader(bad)); !errors.Is(err, ErrBadAuth) {
			t.Errorf("ParseAuth(%.40q) = %+v, %v; want ErrBadAuth", bad, a, err)
		}
	}
}

// TestLoadAuthMode: an auth file group or others may read is refused.
func TestLoadAuthMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "zk-auth")
	if err := os.WriteFile(p, []byte("hivenet:secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if a, err := LoadAuth(p); err != nil || a.Digest.User != "hivenet" {
		t.Fatalf("LoadAuth (mode 600) = %+v, %v", a, err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadAuth(p); !errors.Is(err, ErrBadAuth) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %v: %v, want ErrBadAuth asking for chmod 600", mode, err)
		}
	}
	if _, err := LoadAuth(filepath.Dir(p)); !errors.Is(err, ErrBadAuth) {
		t.Errorf("a directory: %v", err)
	}
}

// FuzzParseAuth: any input gives an Auth that passes its own checks, or
// ErrBadAuth; never a panic.
func FuzzParseAuth(f *testing.F) {
	f.Add("hivenet:secret\n")
	f.Add("# c\nagent:p:w\ngrant ops:" + strings.Repeat("A", 27) + "=\n")
	f.Add("user:pw\ngrant x\n")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAuth(strings.NewReader(s))
		if err != nil {
			if !errors.Is(err, ErrBadAuth) {
				t.Fatalf("error %v does not wrap ErrBadAuth", err)
			}
			return
		}
		if err := a.check(); err != nil {
			t.Fatalf("ParseAuth returned an Auth failing check: %v", err)
		}
		if len(a.acl()) != 1+len(a.Grant) {
			t.Fatal("acl length")
		}
	})
}
