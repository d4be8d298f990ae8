package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology/topofile"
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	topoPath := fs.String("topology", "examples/topologies/two-tenant-cloud.yaml", "topology file")
	timeout := fs.Duration("timeout", 5*time.Second, "per-scenario timeout")
	flows := fs.Bool("flows", true, "print the installed flows")
	verbose := fs.Bool("v", false, "log the agents' debug messages to stderr")
	noState := fs.Bool("no-flow-state", false, "run the agents without connection tracking and NAT (the NAT scenarios are skipped)")
	zk := fs.String("zk", "", "ZooKeeper `HOST:PORT[,...]` to use instead of the embedded NSDB")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "sandbox: unexpected arguments:", strings.Join(fs.Args(), " "))
		return 2
	}
	var logger *slog.Logger
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	topo, err := topofile.LoadFile(*topoPath)
	if err != nil {
		fmt.Fprintln(stderr, "sandbox:", err)
		return 1
	}
	cfg := sandbox.Config{Topology: topo, Stateful: !*noState, Logger: logger}
	if *zk != "" {
		// A fresh root per run: agents of earlier runs left their objects.
		root := fmt.Sprintf("/hivenet-sandbox/%d", time.Now().UnixNano())
		cfg.NewClient = func(ctx context.Context) (nsdb.Client, error) {
			return zookeeper.New(ctx, zookeeper.Config{Servers: strings.Split(*zk, ","), Root: root, Logger: logger})
		}
		fmt.Fprintf(stdout, "nsdb: ZooKeeper %s, root %s\n", *zk, root)
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	c, err := sandbox.Start(sctx, cfg)
	cancel()
	if err != nil {
		fmt.Fprintln(stderr, "sandbox:", err)
		return 1
	}
	defer c.Close()
	for _, h := range c.Hosts() {
		fmt.Fprintf(stdout, "host %s: agent ready, underlay %s (VXLAN on UDP %d)\n", h.Name, h.Underlay, c.VXLANPort())
	}
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	env, err := sandbox.StartTwoTenantVMs(vctx, c)
	cancel()
	if err != nil {
		fmt.Fprintln(stderr, "sandbox:", err)
		return 1
	}
	env.Out = stdout
	failed, skipped := runScenarios(ctx, env, twoTenantScenarios(), !*noState, *timeout)
	if *flows {
		sandbox.PrintFlows(stdout, c)
	}
	fmt.Fprintf(stdout, "== %d scenarios: %d failed, %d skipped\n", len(twoTenantScenarios()), len(failed), len(skipped))
	if len(failed) > 0 {
		fmt.Fprintln(stdout, "FAILED:", strings.Join(failed, ", "))
		return 1
	}
	return 0
}
