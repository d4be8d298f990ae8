package examples_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A README block runs as written, as one bash script (so that its
// variables and background jobs carry from line to line), in an empty
// directory, within commandTimeout; "go run ./examples/X" runs the command
// built from this checkout.
const commandTimeout = 3 * time.Minute

// skipMarker, on the line right before a code fence, keeps the block from
// being run by TestREADMECommands; the rest of the line says why (the whole
// suite, a server that runs until stopped, root and a kernel module, or a
// block another test replays).
const skipMarker = "<!-- readme-test: skip"

// readmeBlock is one ```sh block of the README.
type readmeBlock struct {
	line     int
	commands []string
	skip     string
}

func readmeBlocks(t *testing.T, path string) []readmeBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []readmeBlock
		cur    *readmeBlock
		prev   string
		cont   string
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(l, "```sh"):
			cur = &readmeBlock{line: n}
			if s, ok := strings.CutPrefix(strings.TrimSpace(prev), skipMarker); ok {
				cur.skip = strings.TrimSpace(strings.TrimSuffix(s, "-->"))
			}
		case cur != nil && strings.HasPrefix(l, "```"):
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			if s, ok := strings.CutSuffix(l, "\\"); ok {
				cont += s + " "
				continue
			}
			cur.commands = append(cur.commands, cont+l)
			cont = ""
		}
		prev = l
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// buildCommands builds every command under examples/ into a directory and
// returns it with a function that turns "go run ./examples/X" into it.
func buildCommands(t *testing.T, root string) func(string) string {
	t.Helper()
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./examples/...")
	build.Dir = root
	out, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./examples/...: %v\n%s", err, out)
	}
	re := regexp.MustCompile(`go run \./examples/([a-z]+)`)
	return func(cmd string) string { return re.ReplaceAllString(cmd, filepath.Join(bin, "$1")) }
}

func run(t *testing.T, dir, script string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	// Each command must succeed — every command of a pipeline too — and the
	// trap names the one that did not.
	c := exec.CommandContext(ctx, "bash", "-c", "set -eE -o pipefail\ntrap 'echo \"FAILED: $BASH_COMMAND\" >&2' ERR\n"+script)
	c.Dir = dir
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Whatever the block left running in the background dies with it.
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	defer func() {
		if c.Process != nil {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		}
	}()
	out, err := c.CombinedOutput()
	if err != nil {
		t.Errorf("%s\nexit: %v\n%s", script, err, tail(string(out), 40))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Every command of the README's sh blocks runs as written and exits 0
// (each block as one script: a failing command fails it and is named),
// except the blocks marked with skipMarker (counted and named).
func TestREADMECommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's commands")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	local := buildCommands(t, root)
	ran, skipped := 0, 0
	for _, b := range readmeBlocks(t, filepath.Join(root, "README.md")) {
		if b.skip != "" {
			t.Logf("README.md:%d: %d commands not run: %s", b.line, len(b.commands), b.skip)
			skipped += len(b.commands)
			continue
		}
		t.Logf("README.md:%d: %d commands", b.line, len(b.commands))
		var script strings.Builder
		for _, cmd := range b.commands {
			script.WriteString(local(cmd) + "\n")
		}
		run(t, t.TempDir(), script.String())
		ran += len(b.commands)
	}
	t.Logf("ran %d README commands, %d in skipped blocks", ran, skipped)
	if ran == 0 {
		t.Fatal("no README command ran")
	}
}

// The commands in the examples' doc comments parse as written: each is run
// with -h appended, which exits 0 only if every flag before it exists and
// takes its value (the commands themselves need root, a kernel module or a
// ZooKeeper that this test does not have).
func TestDocCommentCommands(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	local := buildCommands(t, root)
	mains, err := filepath.Glob(filepath.Join(root, "examples", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, m := range mains {
		data, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		cont := ""
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "package ") {
				break
			}
			l = strings.TrimSpace(strings.TrimPrefix(l, "//"))
			if cont == "" && !strings.HasPrefix(l, "go run ./examples/") {
				continue
			}
			if s, ok := strings.CutSuffix(l, "\\"); ok {
				cont += s + " "
				continue
			}
			cmd := cont + l
			cont = ""
			if strings.Contains(cmd, "[") {
				continue // a synopsis with placeholders, not a command
			}
			t.Logf("%s: %s -h", filepath.Base(filepath.Dir(m)), cmd)
			run(t, t.TempDir(), local(cmd)+" -h")
			checked++
		}
	}
	t.Logf("checked %d doc-comment commands", checked)
	if checked == 0 {
		t.Fatal("no doc-comment command found")
	}
}
