package cli

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHostPorts(t *testing.T) {
	if hs, err := HostPorts("127.0.0.1:2181,127.0.0.2:2181"); err != nil || len(hs) != 2 {
		t.Errorf("good list: %v %v", hs, err)
	}
	for _, bad := range []string{"127.0.0.1:99999", "nocolon", ":2181", "h:0", "h:x", "a:1,"} {
		if _, err := HostPorts(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestListenAddr(t *testing.T) {
	if err := ListenAddr("127.0.0.1:0"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"localhost", "127.0.0.1", ":80x"} {
		if ListenAddr(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestReadSecret(t *testing.T) {
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte("abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSecret(p); err == nil {
		t.Error("a world-readable secret was accepted")
	}
	os.Chmod(p, 0o600)
	if tok, err := ReadSecret(p); err != nil || tok != "abc" {
		t.Errorf("ReadSecret = %q, %v", tok, err)
	}
	os.WriteFile(p, []byte("two words\n"), 0o600)
	if _, err := ReadSecret(p); err == nil {
		t.Error("two tokens accepted")
	}
}
