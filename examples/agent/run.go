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
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/agent/ops"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/datapath/kernel"
	"github.com/hivenet/hivenet/internal/cli"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// started, if not nil, is called once the agent is ready, with the address
// its operator endpoints listen on (tests).
type started func(a *agent.Agent, metrics string)

func run(ctx context.Context, args []string, stderr io.Writer, onReady started) int {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hostName := fs.String("host", "", "the host's `name` in the topology")
	hostID := fs.String("host-id", "", "the host's `UUID`, instead of -host")
	dpKind := fs.String("datapath", "kernel", "datapath: kernel or inproc")
	dpName := fs.String("dp-name", "hivenet", "kernel datapath `name`")
	underlay := fs.String("underlay", "", "local underlay `IP`")
	vxlanPort := fs.Uint("vxlan-port", agent.DefaultVXLANPort, "overlay VXLAN UDP `port`")
	underlayMTU := fs.Int("underlay-mtu", 0, "underlay interface `MTU` (0: that of the interface holding the host's tunnel-zone address, else 1500)")
	overhead := fs.Int("tunnel-overhead", agent.DefaultTunnelOverhead, "`bytes` the overlay encapsulation adds; the tunnel MTU DHCP offers is the underlay MTU less this")
	nsdbKind := fs.String("nsdb", "memory", "NSDB backend: memory or zk")
	zkServers := fs.String("zk", "", "ZooKeeper servers `host:port[,...]`")
	zkRoot := fs.String("zk-root", "", "ZooKeeper root `path`")
	zkAuthFile := fs.String("zk-auth-file", "", "ZooKeeper digest identity `file` (user:password, mode 600): authenticate, and create znodes only that identity may use")
	zkTLSCA := fs.String("zk-tls-ca", "", "reach ZooKeeper over TLS (-zk naming its secure client ports), trusting the CA certificates of this PEM `file`")
	load := fs.String("f", "", "topology `file` to write into the NSDB at start")
	workers := fs.Int("workers", 2, "simulation `workers` (1 or more)")
	noState := fs.Bool("no-flow-state", false, "no connection tracking or NAT")
	listen := fs.String("listen", "127.0.0.1:9464", "serve /metrics, /healthz, /readyz and /debug/ on `ADDR` (\"\" for none)")
	debugTokenFile := fs.String("debug-token-file", "", "`file` holding the bearer token /debug/ endpoints require (none: /debug/ is off)")
	verbose := fs.Bool("v", false, "debug logs")
	bgpMode := fs.String("bgp", "netns", "BGP speakers of the host's uplink ports: netns (each in a network namespace of its own behind a veth datapath port; needs root), local (in the agent's namespace, unwired) or off")
	bgpGrace := fs.Duration("bgp-grace", 5*time.Second, "keep BGP sessions this `long` after the NSDB session is lost")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "agent: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() != 0 {
		return usage("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	var host topology.ID
	switch {
	case *hostID != "" && *hostName != "":
		return usage("-host and -host-id are exclusive")
	case *hostID != "":
		id, err := topology.ParseID(*hostID)
		if err != nil {
			return usage("-host-id: %v", err)
		}
		host = id
	case *hostName != "":
		host = topology.NameID(topology.KindHost, *hostName)
	default:
		return usage("-host or -host-id is required")
	}
	var under netip.Addr
	if *underlay != "" {
		a, err := netip.ParseAddr(*underlay)
		if err != nil {
			return usage("-underlay: %v", err)
		}
		under = a
	}
	if *vxlanPort == 0 || *vxlanPort > 65535 {
		return usage("-vxlan-port %d out of range", *vxlanPort)
	}
	if *underlayMTU < 0 || *underlayMTU > 65535 || *overhead < 1 || *overhead > 1000 {
		return usage("-underlay-mtu %d / -tunnel-overhead %d out of range", *underlayMTU, *overhead)
	}
	if *workers < 1 {
		return usage("-workers %d: want 1 or more", *workers)
	}
	bgpCfg := agent.BGPConfig{Grace: *bgpGrace}
	switch *bgpMode {
	case "netns":
		bgpCfg.Attach = agent.NetnsAttach
	case "local":
	case "off":
		bgpCfg.Disable = true
	default:
		return usage("-bgp %q: want netns, local or off", *bgpMode)
	}
	if *listen != "" {
		if err := cli.ListenAddr(*listen); err != nil {
			return usage("-listen: %v", err)
		}
	}
	var zkList []string
	if *zkServers != "" {
		var err error
		if zkList, err = cli.HostPorts(*zkServers); err != nil {
			return usage("-zk: %v", err)
		}
	}
	zkAuth, zkTLS, err := cli.ZooKeeperSecurity(*zkAuthFile, *zkTLSCA)
	if err != nil {
		return usage("%v", err)
	}
	if (zkAuth != nil || zkTLS != nil) && *nsdbKind != "zk" {
		return usage("-zk-auth-file and -zk-tls-ca need -nsdb zk")
	}
	debugToken := ""
	if *debugTokenFile != "" {
		t, err := cli.ReadSecret(*debugTokenFile)
		if err != nil {
			return usage("-debug-token-file: %v", err)
		}
		debugToken = t
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	fail := func(err error) int {
		log.Error("agent failed", "err", err)
		return 1
	}

	// NSDB.
	var client nsdb.Client
	switch *nsdbKind {
	case "memory":
		client = memory.NewServer(memory.Config{Logger: log}).NewClient()
	case "zk":
		if *zkServers == "" {
			return usage("-nsdb zk needs -zk")
		}
		log.Info("connecting to ZooKeeper", "servers", *zkServers, "root", *zkRoot, "tls", zkTLS != nil, "auth", zkAuth != nil)
		c, err := zookeeper.New(ctx, zookeeper.Config{Servers: zkList, Root: *zkRoot, Auth: zkAuth, TLS: zkTLS, Logger: log})
		if err != nil {
			return fail(fmt.Errorf("zookeeper: %w", err))
		}
		client = c
	default:
		return usage("-nsdb %q: want memory or zk", *nsdbKind)
	}
	defer client.Close()
	if *load != "" {
		t, err := topofile.LoadFile(*load)
		if err != nil {
			return fail(err)
		}
		if _, err := client.Store().Commit(ctx, nsdb.PutAll(t)...); err != nil {
			return fail(fmt.Errorf("loading %s: %w", *load, err))
		}
	}

	// Datapath.
	var dp datapath.Datapath
	switch *dpKind {
	case "kernel":
		kc, err := kernel.Dial(nil)
		if err != nil {
			return fail(fmt.Errorf("openvswitch kernel module: %w", err))
		}
		defer kc.Close()
		d, _, err := kc.OpenDatapath(ctx, *dpName)
		if errors.Is(err, datapath.ErrNotFound) {
			d, _, err = kc.CreateDatapath(ctx, kernel.DatapathSpec{Name: *dpName})
		}
		if err != nil {
			return fail(fmt.Errorf("datapath %s: %w", *dpName, err))
		}
		dp = d
	case "inproc":
		d := inproc.New(inproc.Config{Name: *dpName, TunnelAddr: under, Logger: log})
		defer d.Close()
		dp = d
	default:
		return usage("-datapath %q: want kernel or inproc", *dpKind)
	}

	reg := prometheus.NewRegistry()
	a, err := agent.New(agent.Config{
		Host: host, NSDB: client, Datapath: dp, Workers: *workers, VXLANPort: uint16(*vxlanPort),
		Stateful: !*noState, Logger: log, Registerer: reg, UnderlayMTU: *underlayMTU, TunnelOverhead: *overhead,
		BGP: bgpCfg,
	})
	if err != nil {
		return fail(err)
	}
	// Operator endpoints.
	endpoint := ""
	if *listen != "" {
		h, err := ops.New(ops.Config{Agent: a, Gatherer: reg, DebugToken: debugToken, Logger: log})
		if err != nil {
			return fail(err)
		}
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return fail(fmt.Errorf("-listen: %w", err))
		}
		endpoint = ln.Addr().String()
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-a.Ready():
		log.Info("agent ready", "host", hostLabel(a, host), "datapath", *dpKind, "nsdb", *nsdbKind, "endpoints", endpoint)
		if _, ok := a.Snapshot().Host(host); !ok {
			log.Warn("this host is not in the topology: no port will be bound until it is added", "host", hostLabel(a, host))
		}
		if onReady != nil {
			onReady(a, endpoint)
		}
	case err := <-done:
		return fail(err)
	}
	if err := <-done; err != nil {
		return fail(err)
	}
	log.Info("agent stopped")
	return 0
}

// hostLabel names the host as the topology does, or by its ID.
func hostLabel(a *agent.Agent, id topology.ID) string {
	if h, ok := a.Snapshot().Host(id); ok && h.Name != "" {
		return h.Name + " (" + id.String() + ")"
	}
	return id.String()
}
