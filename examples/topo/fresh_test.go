package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hivenet/hivenet/internal/freshrun"
	"github.com/hivenet/hivenet/internal/topogen"
	"github.com/hivenet/hivenet/topology"
)

func TestMain(m *testing.M) {
	freshrun.Main(func() int { return run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr) })
	os.Exit(m.Run())
}

// BenchmarkFreshTopo100kPorts: one op is a fresh `topo -f FILE` process
// on a 100,000-port file, as a user runs it: load, validate, warnings and
// summary. flat is 1,000 bridges of 100 VM ports (7.5 MB); cloud is the
// scale harness's deployment (13.7 MB: 1,000 routers, 8,000 bridges, 8,000
// chains and routes, 1,000 hosts). The target for a 100,000-port file is
// 2 s and 500 MB peak RSS.
func BenchmarkFreshTopo100kPorts(b *testing.B) {
	dir := b.TempDir()
	for _, c := range []struct {
		name string
		t    *topology.Topology
	}{
		{"flat", topogen.Flat(1000, 100)},
		{"cloud", topogen.Generate(100_000)},
	} {
		path := filepath.Join(dir, c.name+".yaml")
		if err := topogen.WriteFile(path, c.t); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) { freshrun.Bench(b, "-f", path) })
	}
}
