package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/nsdb/zookeeper/zkserver"
)

// ready, if not nil, is called once the node runs (tests).
type ready func(n *cluster.Node, client nsdb.Client, apiAddr string)

// run runs the command: 0 after a clean stop, 1 on failure, 2 on a bad
// command line.
func run(ctx context.Context, args []string, stderr io.Writer, onReady ready) int {
	o, err := parse(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "cluster: %v\n", err)
		return 2
	case err != nil:
		return 2 // the flag package printed it
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	base := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := serve(ctx, o, base, onReady); err != nil {
		log := base.With("node", o.node)
		log.Error("cluster node failed", "err", err)
		return 1
	}
	return 0
}

// serve brings the node up — embedded ZooKeeper, NSDB client, listeners,
// services — runs it until ctx ends and takes it down in reverse order.
// The node's services log with the node's name through package cluster;
// base carries no name.
func serve(ctx context.Context, o *options, base *slog.Logger, onReady ready) error {
	log := base.With("node", o.node)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// The API's inputs (token file) are read before anything starts.
	var apiHandler http.Handler
	if o.has("api") {
		h, err := newAPI(o, log, reg)
		if err != nil {
			return err
		}
		apiHandler = h
	}

	// Listeners next, so that a taken port fails before ZooKeeper starts.
	var apiLn, metricsLn net.Listener
	if o.has("api") {
		ln, err := net.Listen("tcp", o.listen)
		if err != nil {
			return fmt.Errorf("-listen: %w", err)
		}
		apiLn = ln
	}
	if o.metrics != "" {
		ln, err := net.Listen("tcp", o.metrics)
		if err != nil {
			if apiLn != nil {
				apiLn.Close()
			}
			return fmt.Errorf("-metrics: %w", err)
		}
		metricsLn = ln
		srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
	}

	if o.embeddedZK != "" {
		stop, err := startZooKeeper(ctx, o, log)
		if err != nil {
			if apiLn != nil {
				apiLn.Close()
			}
			return err
		}
		defer stop() // after the client closed (defers run in reverse)
	}

	client, err := openNSDB(ctx, o, log)
	if err != nil {
		if apiLn != nil {
			apiLn.Close()
		}
		return err
	}
	defer client.Close()

	node, err := cluster.New(cluster.Config{Name: o.node, NSDB: client, Logger: base, Registerer: reg})
	if err != nil {
		return err
	}
	apiAddr := ""
	for _, name := range o.services {
		switch name {
		case "api":
			mux := http.NewServeMux()
			mux.Handle("/v1/", apiHandler)
			mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
			svc, err := cluster.NewHTTPService(cluster.HTTPConfig{Name: "api", Listener: apiLn, Handler: mux, TLS: o.tls, Logger: log})
			if err != nil {
				return err
			}
			defer svc.Close()
			apiAddr = apiLn.Addr().String()
			err = node.Add(svc, cluster.EveryNode)
			if err != nil {
				return err
			}
		case "heartbeat":
			hb, err := cluster.NewHeartbeat(cluster.HeartbeatConfig{NSDB: client, Logger: log, Registerer: reg})
			if err != nil {
				return err
			}
			if err := node.Add(hb, cluster.EveryNode); err != nil {
				return err
			}
		case "recycler":
			rc, err := cluster.NewRecycler(cluster.RecyclerConfig{NSDB: client, Interval: o.recycleInterval, Logger: log, Registerer: reg})
			if err != nil {
				return err
			}
			if err := node.Add(rc, cluster.Leader); err != nil {
				return err
			}
		}
	}
	metricsAddr := ""
	if metricsLn != nil {
		metricsAddr = metricsLn.Addr().String()
	}
	log.Info("cluster node up", "id", node.ID(), "nsdb", o.nsdb, "zk", o.zk, "api", apiAddr, "tls", o.tls != nil,
		"metrics", metricsAddr, "services", o.services)
	if onReady != nil {
		go onReady(node, client, apiAddr)
	}
	return node.Run(ctx)
}

// openNSDB returns the node's NSDB client.
func openNSDB(ctx context.Context, o *options, log *slog.Logger) (nsdb.Client, error) {
	if o.nsdb == "memory" {
		return memory.NewServer(memory.Config{Logger: log}).NewClient(), nil
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := zookeeper.New(cctx, zookeeper.Config{Servers: o.zk, Root: o.zkRoot, SessionTimeout: o.zkSessionTimeout, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("zookeeper %v: %w", o.zk, err)
	}
	return c, nil
}

// startZooKeeper starts the embedded ZooKeeper server, waits until it
// serves and supervises it; stop stops it.
func startZooKeeper(ctx context.Context, o *options, log *slog.Logger) (stop func(), err error) {
	s, err := zkserver.New(zkserver.Config{Dir: o.embeddedZK, Client: o.embeddedZKAddr})
	if err != nil {
		return nil, fmt.Errorf("embedded ZooKeeper: %w", err)
	}
	if err := s.Start(); err != nil {
		return nil, fmt.Errorf("embedded ZooKeeper: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := s.WaitServing(wctx); err != nil {
		s.Stop()
		return nil, fmt.Errorf("embedded ZooKeeper: %w", err)
	}
	log.Info("embedded ZooKeeper serving", "addr", s.ConnectString(), "dir", s.Dir())
	sctx, scancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Supervise(sctx, zkserver.SuperviseOptions{Logger: log}); err != nil {
			log.Warn("embedded ZooKeeper stop", "err", err)
		}
	}()
	return func() { scancel(); <-done }, nil
}
