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
	freshrun.Main(func() int { return run(os.Args[1:], os.Stdout, os.Stderr) })
	os.Exit(m.Run())
}

// BenchmarkFreshTrace100kPorts: one op is a fresh `trace` process on a
// 100,000-port file, as a user runs it: load, a harness with every VM
// learned, one packet, the trace printed. flat is 1,000 bridges of 100 VM
// ports (7.5 MB; an ARP request from one VM); cloud is the scale
// harness's deployment (13.7 MB: 1,000 routers, 8,000 bridges, chains and
// routes; a ping from a VM to its gateway through its security group).
// The target for a 100,000-port file is 2 s and 500 MB peak RSS.
func BenchmarkFreshTrace100kPorts(b *testing.B) {
	dir := b.TempDir()
	for _, c := range []struct {
		name string
		gen  func() *topology.Topology
		args []string
	}{
		{"flat", func() *topology.Topology { return topogen.Flat(1000, 100) },
			[]string{"-from", "vm-0-0", "-src-ip", "10.0.0.1", "-arp-request", "10.0.0.9"}},
		{"cloud", func() *topology.Topology { return topogen.Generate(100_000) },
			[]string{"-from", "b0-vm0", "-src-ip", "10.0.0.5", "-icmp-echo", "10.0.0.1"}},
	} {
		path := filepath.Join(dir, c.name+".yaml")
		if err := topogen.WriteFile(path, c.gen()); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) { freshrun.Bench(b, append([]string{"-f", path}, c.args...)...) })
	}
}
