package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// get -w prints the current objects, aligned, then each change as it
// happens, until interrupted (exit 0).
func TestGetWatch(t *testing.T) {
	for _, backend := range []string{"memory", "zookeeper"} {
		t.Run(backend, func(t *testing.T) { testGetWatch(t, newDeployment(t, backend)) })
	}
}

func testGetWatch(t *testing.T, d *deployment) {
	d.ok("create", "chain", "sg")
	d.ok("create", "bridge", "net1")
	d.ok("create", "bridge", "a-long-bridge-name", "inbound-filter=sg")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append(append([]string{}, d.reader...), "get", "bridges", "-w"), strings.NewReader(""), &out, &errb)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("get -w ended with %d: %s", code, errb.String())
		}
	}()
	rowsOf := func() [][]string { return lines(out.String()) }
	eventually(t, "the current bridges", func() bool { return len(rowsOf()) == 3 })
	rows := rowsOf()
	if !slices.Equal(rows[0][:3], []string{"EVENT", "NAME", "SCOPE"}) || rows[1][0] != "ADDED" || rows[2][0] != "ADDED" {
		t.Errorf("current state:\n%s", out.String())
	}
	// Aligned: the INBOUND column holds the filter's name in a-long-bridge-name's row.
	text := strings.Split(out.String(), "\n")
	col := strings.Index(text[0], "INBOUND")
	for _, l := range text[1:3] {
		if strings.Contains(l, "a-long-bridge-name") && (col < 0 || len(l) <= col || !strings.HasPrefix(l[col:], "sg")) {
			t.Errorf("INBOUND at column %d does not show sg by name:\n%s", col, out.String())
		}
	}
	d.ok("create", "bridge", "net2")
	eventually(t, "net2 added", func() bool { return strings.Contains(out.String(), "ADDED") && len(rowsOf()) == 4 })
	d.ok("set", "bridge", "net1", "admin-down:=true")
	eventually(t, "net1 modified", func() bool { return len(rowsOf()) == 5 })
	d.ok("delete", "bridge", "net2")
	eventually(t, "net2 deleted", func() bool { return len(rowsOf()) == 6 })
	rows = rowsOf()
	got := [][]string{rows[3][:2], rows[4][:2], rows[5][:2]}
	want := [][]string{{"ADDED", "net2"}, {"MODIFIED", "net1"}, {"DELETED", "net2"}}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("change %d: %v, want %v\n%s", i, got[i], want[i], out.String())
		}
	}
	if !strings.Contains(strings.Split(out.String(), "\n")[4], "true") {
		t.Errorf("the modification shows admin-down:\n%s", out.String())
	}
}

// The bash completion script completes commands, kinds, vtep subcommands
// and — asking the API — names, a VTEP's bound ports and BGP ports.
func TestCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is needed to test the completion script")
	}
	d := newDeployment(t, "memory")
	d.ok("create", "bridge", "net1")
	d.ok("create", "bridge", "net2")
	d.ok("create", "router", "r1")
	d.ok("create", "vtep", "tor1", "management-ip=192.0.2.1")
	d.ok("vtep", "bind", "tor1", "eth7", "100", "net1")
	d.ok("create", "host", "gw1")
	d.ok("create", "router", "edge", "as-number:=64512")
	d.ok("create", "port", "uplink1", "router=edge", "address=198.51.100.2/30", "host=gw1", "interface=eth-up")
	d.ok("create", "bgp-peer", "router=edge", "addr=198.51.100.1", "as-number:=65001")
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "hivectl"), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	script := d.ok("completion", "bash")
	file := writeFile(t, "hivectl.bash", script)
	complete := func(words ...string) []string {
		t.Helper()
		sh := "source " + file + "\nCOMP_WORDS=(" + shellWords(words) + ")\nCOMP_CWORD=" + strconv.Itoa(len(words)-1) +
			"\n_hivectl\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		c := exec.Command(bash, "--norc", "-c", sh)
		c.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("completing %v: %v\n%s", words, err, out)
		}
		got := strings.Fields(string(out))
		slices.Sort(got)
		return got
	}
	if got := complete("hivectl", "ap"); !slices.Equal(got, []string{"apply"}) {
		t.Errorf("hivectl ap<TAB>: %v", got)
	}
	if got := complete("hivectl", "get", "bri"); !slices.Equal(got, []string{"bridge", "bridges"}) {
		t.Errorf("hivectl get bri<TAB>: %v", got)
	}
	conn := append([]string{"hivectl"}, d.flags...)
	if got := complete(append(conn, "get", "bridges", "")...); !slices.Equal(got, []string{"net1", "net2"}) {
		t.Errorf("hivectl get bridges <TAB>: %v", got)
	}
	if got := complete(append(conn, "bgp", "")...); !slices.Equal(got, []string{"uplink1"}) {
		t.Errorf("hivectl bgp <TAB>: %v", got)
	}
	if got := complete(append(conn, "arp-table", "")...); !slices.Equal(got, []string{"edge", "r1"}) {
		t.Errorf("hivectl arp-table <TAB>: %v", got)
	}
	for _, c := range []struct {
		words []string
		want  []string
	}{
		{[]string{"vtep", "b"}, []string{"bind", "bindings"}},
		{[]string{"vtep", "status", ""}, []string{"tor1"}},
		{[]string{"vtep", "unbind", "tor1", ""}, []string{"eth7"}},
		{[]string{"vtep", "bind", "tor1", "eth8", "5", ""}, []string{"net1", "net2"}},
	} {
		if got := complete(append(conn, c.words...)...); !slices.Equal(got, c.want) {
			t.Errorf("hivectl %s<TAB>: %v, want %v", strings.Join(c.words, " "), got, c.want)
		}
	}
	if got := complete("hivectl", "list", "bridges", "-o", ""); !slices.Equal(got, []string{"json", "name", "table", "yaml"}) {
		t.Errorf("-o <TAB>: %v", got)
	}
	zsh := d.ok("completion", "zsh")
	if !strings.Contains(zsh, "bashcompinit") {
		t.Errorf("the zsh script does not load bashcompinit")
	}
}

// shellWords quotes words for a bash array.
func shellWords(ws []string) string {
	q := make([]string, len(ws))
	for i, w := range ws {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
