package topologytest

import (
	"bytes"
	"os"
	"testing"
)

// TestREADMEShowsThisFile: the README's "Test your controller's topology"
// section shows cloud_test.go byte for byte, so the test users copy is the
// one that runs.
func TestREADMEShowsThisFile(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile("cloud_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := bytes.Cut(readme, []byte("\n## Test your controller's topology\n"))
	if !ok {
		t.Fatal(`README.md has no "## Test your controller's topology" section`)
	}
	_, block, ok := bytes.Cut(section, []byte("\n```go\n"))
	if !ok {
		t.Fatal("the section has no ```go block")
	}
	block, _, ok = bytes.Cut(block, []byte("\n```\n"))
	if !ok {
		t.Fatal("the section's ```go block does not end")
	}
	block = append(block, '\n')
	if !bytes.Equal(block, file) {
		t.Errorf("the README's block differs from cloud_test.go: copy the file into the README")
	}
}
