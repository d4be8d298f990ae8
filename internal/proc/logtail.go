package proc

import (
	"bytes"
	"fmt"
	"os"
)

// LogTail returns the last n lines of the log file at path, or a note
// saying why it cannot be read: what a harness shows when its process
// fails.
func LogTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
