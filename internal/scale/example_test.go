package scale_test

import (
	"context"
	"fmt"
	"os"

	"github.com/hivenet/hivenet/internal/scale"
)

// Run measures against ZooKeeper (here a 3-node ensemble it starts) and
// writes docs/scale.md. A binary calling Run must call RunChild first.
func ExampleRun() {
	if scale.RunChild() {
		return
	}
	cfg := scale.Defaults(true) // the quick run
	cfg.Dir = "docs"
	res, err := scale.Run(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	for _, p := range res.Propagation {
		fmt.Printf("%d hosts: p99 %v\n", p.Hosts, p.All.P99)
	}
}
