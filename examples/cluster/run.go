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
	"github.com/hivenet/hivenet/nsdb/neutronstore"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/nsdb/zookeeper/zkserver"
)

// ready, if not nil, is called once the node runs (tests), with the
// address of its HTTP endpoint ("" without -listen).
type ready func(n *cluster.Node, client nsdb.Client, httpAddr string)

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
		base.Error("cluster node failed", "node", o.node, "err", err)
		return 1
	}
	return 0
}

// serve brings the node up — inputs, listener, embedded ZooKeeper, NSDB
// client, services — runs it until ctx ends and takes it down in reverse
// order. The node's services log with its name through package cluster;
// base carries no name.
func serve(ctx context.Context, o *options, base *slog.Logger, onReady ready) error {
	log := base.With("node", o.node)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Inputs first (the token file), then the listener, so that a bad
	// file or a taken port fails before ZooKeeper starts.
	var tokens *apiTokens
	if o.has("api") && !o.insecure {
		t, err := loadTokens(o.tokenFile)
		if err != nil {
			return fmt.Errorf("-token-file: %w", err)
		}
		tokens = t
	}
	var ln net.Listener
	if o.listen != "" {
		l, err := net.Listen("tcp", o.listen)
		if err != nil {
			return fmt.Errorf("-listen: %w", err)
		}
		ln = l
		defer ln.Close()
	}

	if o.embeddedZK != "" {
		stop, err := startZooKeeper(ctx, o, log)
		if err != nil {
			return err
		}
		defer stop() // after the client closed: defers run in reverse
	}
	client, err := openNSDB(ctx, o, log)
	if err != nil {
		return err
	}
	defer client.Close()
	if o.rotateKeys {
		return rotateFlowStateKeys(ctx, client, o.keyDelay, log)
	}
	if err := bootstrapFlowStateKeys(ctx, client, log); err != nil {
		return err
	}

	node, err := cluster.New(cluster.Config{Name: o.node, NSDB: client, Logger: base, Registerer: reg})
	if err != nil {
		return err
	}
	var neutron *neutronstore.Store
	if ln != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
		name := "endpoint"
		if o.has("api") {
			if o.insecure {
				log.Warn("!!! -insecure: the API on " + ln.Addr().String() + " serves WITHOUT AUTHENTICATION: anyone who reaches it can read and rewrite the whole topology. Give -token-file instead. !!!")
			}
			h, err := newAPI(client, tokens, o.insecure, log, reg)
			if err != nil {
				return err
			}
			mux.Handle("/v1/", h)
			if neutron == nil {
				if neutron, err = newNeutronStore(client, o.providerRouter, log, reg); err != nil {
					return err
				}
			}
			if err := registerNeutron(mux, neutron, tokens, o.insecure, log, reg); err != nil {
				return err
			}
			name = "api"
		}
		// The endpoint serves only while the node's NSDB session lives, so
		// /healthz answering means the node is connected.
		svc, err := cluster.NewHTTPService(cluster.HTTPConfig{Name: name, Listener: ln, Handler: mux, TLS: o.tls, Logger: log})
		if err != nil {
			return err
		}
		if err := node.Add(svc, cluster.EveryNode); err != nil {
			return err
		}
	}
	if o.has("heartbeat") {
		hb, err := cluster.NewHeartbeat(cluster.HeartbeatConfig{NSDB: client, Logger: log, Registerer: reg})
		if err != nil {
			return err
		}
		if err := node.Add(hb, cluster.EveryNode); err != nil {
			return err
		}
	}
	if o.has("neutron-sync") {
		if neutron == nil {
			if neutron, err = newNeutronStore(client, o.providerRouter, log, reg); err != nil {
				return err
			}
		}
		if err := node.Add(&neutronstore.Syncer{Store: neutron}, cluster.Leader); err != nil {
			return err
		}
	}
	if o.has("recycler") {
		rc, err := cluster.NewRecycler(cluster.RecyclerConfig{NSDB: client, Interval: o.recycleInterval, Logger: log, Registerer: reg})
		if err != nil {
			return err
		}
		if err := node.Add(rc, cluster.Leader); err != nil {
			return err
		}
	}
	if o.has("snapshots") {
		sn, err := cluster.NewSnapshots(cluster.SnapshotsConfig{NSDB: client, Logger: log, Registerer: reg})
		if err != nil {
			return err
		}
		if err := node.Add(sn, cluster.Leader); err != nil {
			return err
		}
	}
	if o.has("vxgw") {
		if err := addGateway(node, client, log, reg); err != nil {
			return err
		}
	}
	if o.has("lb-health") {
		if err := addLBHealth(node, client, log, reg); err != nil {
			return err
		}
	}
	httpAddr := ""
	if ln != nil {
		httpAddr = ln.Addr().String()
	}
	log.Info("cluster node up", "id", node.ID(), "nsdb", o.nsdb, "zk", o.zk, "listen", httpAddr, "tls", o.tls != nil,
		"services", o.services)
	if onReady != nil {
		go onReady(node, client, httpAddr)
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
	c, err := zookeeper.New(cctx, zookeeper.Config{Servers: o.zk, Root: o.zkRoot, SessionTimeout: o.zkSessionTimeout,
		Auth: o.zkAuth, TLS: o.zkTLS, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("zookeeper %v: %w", o.zk, err)
	}
	if o.zkAuth != nil {
		// The bootstrap of access control: whatever was written before
		// the cluster had an identity is closed to anyone without it.
		n, err := c.SecureRoot(cctx)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("zookeeper %v: securing the root: %w", o.zk, err)
		}
		log.Info("ZooKeeper access control in place", "user", o.zkAuth.Digest.User, "znodes_changed", n)
	} else {
		log.Warn("ZooKeeper without -zk-auth-file: anyone who reaches ZooKeeper can read and rewrite the topology")
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
