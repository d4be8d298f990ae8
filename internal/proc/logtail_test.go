package proc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte("a\nb\nc\nd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := LogTail(path, 2); got != "c\nd" {
		t.Errorf("LogTail(2) = %q", got)
	}
	if got := LogTail(path, 10); got != "a\nb\nc\nd" {
		t.Errorf("LogTail(10) = %q", got)
	}
	if got := LogTail(filepath.Join(t.TempDir(), "none"), 2); !strings.HasPrefix(got, "(no log:") {
		t.Errorf("missing log: %q", got)
	}
}
