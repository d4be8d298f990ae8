// Command topo loads a topology file, validates it and prints a summary.
//
//	go run ./examples/topo [file.yaml]
//
// The default file is examples/topologies/two-tenant-cloud.yaml. On an
// invalid file it prints every problem, each with its file, line and field,
// and exits with status 1.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/hivenet/hivenet/topology/topofile"
)

const defaultFile = "examples/topologies/two-tenant-cloud.yaml"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is the command: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	file := defaultFile
	switch len(args) {
	case 0:
	case 1:
		file = args[0]
	default:
		fmt.Fprintln(stderr, "usage: topo [file.yaml]")
		return 2
	}
	t, err := topofile.LoadFile(file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := topofile.Summarize(stdout, t); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
