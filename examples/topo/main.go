// Command topo loads a topology file, validates it and prints a summary.
//
//	go run ./examples/topo [-f FILE] [-max-size BYTES]
//
// -f names a file on disk, "-" for standard input, or one of the embedded
// examples by name (two-tenant-cloud, two-bridges-router, load-balancer,
// two-vms-one-bridge); the default is two-tenant-cloud. On an invalid file
// it prints every problem, each with its file, line and field, and exits
// with status 1. Warnings (valid but probably not meant: a port on a host
// in no tunnel zone, jump cycles) are printed to standard error, prefixed
// "warning:", and do not change the exit status.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/hivenet/hivenet/examples/topologies"
	"github.com/hivenet/hivenet/topology/topofile"
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run is the command: it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("topo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "two-tenant-cloud.yaml", "topology `FILE` (\"-\" for stdin, or an embedded example's name)")
	maxSize := fs.Int64("max-size", topologies.DefaultMaxSize, "read at most `BYTES` of topology")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "topo: unexpected arguments: %s (the file is given with -f)\n", strings.Join(fs.Args(), " "))
		return 2
	}
	t, err := topologies.Load(*file, stdin, *maxSize)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// The file's parse tree is garbage now: collect it before the summary
	// builds its snapshot, so that the two are never in memory together
	// (a 100,000-port file stays under 500 MB).
	runtime.GC()
	for _, w := range t.Warnings() {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if err := topofile.Summarize(stdout, t); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
