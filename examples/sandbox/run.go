package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/examples/topologies"
	"github.com/hivenet/hivenet/internal/cli"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	topoPath := fs.String("f", "two-tenant-cloud.yaml", "topology `FILE` (its hosts and VM ports must be the two-tenant cloud's; \"-\" for stdin)")
	nsdbKind := fs.String("nsdb", "memory", "NSDB: memory (embedded) or zk")
	timeout := fs.Duration("timeout", 5*time.Second, "per-scenario timeout")
	flows := fs.Bool("flows", true, "print the installed flows")
	verbose := fs.Bool("v", false, "log the agents' debug messages to stderr")
	noState := fs.Bool("no-flow-state", false, "run the agents without connection tracking and NAT (each scenario then checks what happens without them)")
	zk := fs.String("zk", "", "ZooKeeper `HOST:PORT[,...]` (with -nsdb zk; -zk alone implies it)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sandbox: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() != 0 {
		return usage("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *timeout <= 0 {
		return usage("-timeout %v: want a positive duration", *timeout)
	}
	switch {
	case *nsdbKind == "memory" && *zk != "":
		*nsdbKind = "zk"
	case *nsdbKind == "zk" && *zk == "":
		return usage("-nsdb zk needs -zk HOST:PORT[,...]")
	case *nsdbKind != "memory" && *nsdbKind != "zk":
		return usage("-nsdb %q: want memory or zk", *nsdbKind)
	}
	var servers []string
	if *zk != "" {
		var err error
		if servers, err = cli.HostPorts(*zk); err != nil {
			return usage("-zk: %v", err)
		}
	}
	var logger *slog.Logger
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	topo, err := topologies.Load(*topoPath, os.Stdin, 0)
	if err != nil {
		fmt.Fprintln(stderr, "sandbox:", err)
		return 1
	}
	if missing := missingVMPorts(topo); len(missing) > 0 {
		fmt.Fprintf(stderr, "sandbox: the scenarios need the two-tenant cloud's VM ports, which %s lacks: %s\n", *topoPath, strings.Join(missing, ", "))
		return 1
	}
	cfg := sandbox.Config{Topology: topo, Stateful: !*noState, Logger: logger}
	if *nsdbKind == "zk" {
		// A fresh root per run, removed at exit.
		root := fmt.Sprintf("/hivenet-sandbox/%d", time.Now().UnixNano())
		cfg.NewClient = func(ctx context.Context) (nsdb.Client, error) {
			return zookeeper.New(ctx, zookeeper.Config{Servers: servers, Root: root, Logger: logger})
		}
		fmt.Fprintf(stdout, "nsdb: ZooKeeper %s, root %s\n", *zk, root)
		defer func() {
			if err := removeTree(servers, root); err != nil {
				fmt.Fprintf(stderr, "sandbox: removing %s: %v\n", root, err)
			}
		}()
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
	failed := runScenarios(ctx, env, twoTenantScenarios(), *timeout)
	if *flows {
		sandbox.PrintFlows(stdout, c)
	}
	mode := "with connection tracking and NAT"
	if *noState {
		mode = "without connection tracking and NAT"
	}
	fmt.Fprintf(stdout, "== %d scenarios %s: %d failed\n", len(twoTenantScenarios()), mode, len(failed))
	if len(failed) > 0 {
		fmt.Fprintln(stdout, "FAILED:", strings.Join(failed, ", "))
		return 1
	}
	return 0
}
