// Command scale measures hivenet at scale on one machine and writes the
// report docs/scale.md with its SVG plots:
//
//	go run ./examples/scale [flags]     (make scale)
//
// It starts a 3-node ZooKeeper ensemble on loopback (unless -zk names
// one), then drives real agents (datapath/agent on the in-process
// datapath) against it: one agent's footprint with generated topologies of
// 1,000 to 100,000 ports, and with 100,000 connections through connection
// tracking, source NAT and the load balancer; the time for a change to
// reach 10 to 250 agents, each with its own ZooKeeper session; the change
// rate each fleet sustains; one node's latency and CPU as it takes on the
// compute, gateway and flooding roles. The report ends with an
// extrapolation to 1,000 and 10,000 hosts from the measured costs. The
// full run took 12 to 16 minutes on 2 (busy) cores; -quick runs every
// measurement small and short (under a minute).
//
// Flags:
//
//	-quick          a small, short run (its report says so)
//	-o DIR          where to write scale.md and the plots (default docs)
//	-zk HOSTS       measure against this ZooKeeper instead of starting one
//	-sizes LIST     footprint topologies' port counts (default 1000,10000,100000)
//	-hosts LIST     fleet sizes (default 10,50,100,250)
//	-conns N        connections per stateful feature (default 100000)
//	-v              print progress to stderr
//	-from FILE      measure nothing: render the report again from the
//	                scale.json a run wrote
//
// The measurement logic is package internal/scale; this command only reads
// flags. It re-executes itself for the measurements that need a process of
// their own (scale.RunChild).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/hivenet/hivenet/internal/cli"
	"github.com/hivenet/hivenet/internal/scale"
)

func main() {
	if scale.RunChild() {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the command: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "a small, short run")
	out := fs.String("o", "docs", "write scale.md and its plots to `DIR`")
	zk := fs.String("zk", "", "measure against ZooKeeper `HOSTS` (HOST:PORT,...) instead of starting a 3-node ensemble")
	sizes := fs.String("sizes", "", "footprint topologies' port counts, comma-separated `LIST`")
	hosts := fs.String("hosts", "", "fleet sizes, comma-separated `LIST`")
	conns := fs.Int("conns", 0, "connections per stateful feature (`N`)")
	verbose := fs.Bool("v", false, "print progress to stderr")
	from := fs.String("from", "", "measure nothing: render the report again from a previous run's `FILE` (scale.json)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "scale: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	if *from != "" {
		r, err := scale.Read(*from)
		if err == nil {
			err = scale.Write(*out, r)
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "scale: wrote %s/scale.md from %s\n", *out, *from)
		return 0
	}
	cfg := scale.Defaults(*quick)
	cfg.Dir = *out
	if *zk != "" {
		hp, err := cli.HostPorts(*zk)
		if err != nil {
			fmt.Fprintln(stderr, "scale: -zk:", err)
			return 2
		}
		cfg.Servers = strings.Join(hp, ",")
	}
	for _, l := range []struct {
		flag string
		s    string
		dst  *[]int
	}{{"-sizes", *sizes, &cfg.Sizes}, {"-hosts", *hosts, &cfg.Hosts}} {
		if l.s == "" {
			continue
		}
		v, err := ints(l.s)
		if err != nil {
			fmt.Fprintf(stderr, "scale: %s: %v\n", l.flag, err)
			return 2
		}
		*l.dst = v
	}
	if *conns > 0 {
		cfg.Conns = *conns
	}
	if *verbose {
		cfg.Logf = func(f string, a ...any) { fmt.Fprintf(stderr, "scale: "+f+"\n", a...) }
	}
	r, err := scale.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "scale: wrote %s/scale.md in %s\n", cfg.Dir, r.Took.Round(1e9))
	return 0
}

// ints parses a comma-separated list of positive integers.
func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q: want positive integers separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}
