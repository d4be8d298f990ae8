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
	"github.com/hivenet/hivenet/flowstate/cassandra"
	"github.com/hivenet/hivenet/flowstate/transfer"
	"github.com/hivenet/hivenet/internal/cli"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// agentPlanIndexIdle is how long the agent's ZooKeeper client keeps the
// indexes it plans commits with after one (zookeeper.Config.PlanIndexIdle).
const agentPlanIndexIdle = 5 * time.Second

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
	vtepPort := fs.Uint("vtep-port", agent.DefaultVTEPPort, "UDP `port` of VXLAN to and from hardware VTEPs")
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
	var sf stateFlags
	fs.StringVar(&sf.dir, "state-dir", "", "keep flow state in a local store in `DIR` (restored at restart, served to ports' next hosts)")
	fs.UintVar(&sf.port, "state-port", transfer.DefaultPort, "TCP `port` of the flow-state transfer service on the underlay address")
	fs.StringVar(&sf.cassandra, "cassandra", "", "also keep flow state in Cassandra at `host:port[,...]` (the shared fallback)")
	fs.StringVar(&sf.keyspace, "cassandra-keyspace", cassandra.DefaultKeyspace, "Cassandra `keyspace`")
	fs.StringVar(&sf.pidFile, "pid-file", "", "write this agent's PID to `FILE` once ready")
	fs.BoolVar(&sf.takeover, "takeover", false, "take over from the agent whose PID -pid-file holds: load its flow state while it forwards, then stop it")
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
	if *vtepPort == 0 || *vtepPort > 65535 || *vtepPort == *vxlanPort {
		return usage("-vtep-port %d out of range or equal to -vxlan-port", *vtepPort)
	}
	if *workers < 1 {
		return usage("-workers %d: want 1 or more", *workers)
	}
	if err := sf.check(); err != nil {
		return usage("%v", err)
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
		// An agent commits only when it binds ports (their tunnel
		// keys): it need not keep the planner's indexes in between.
		c, err := zookeeper.New(ctx, zookeeper.Config{Servers: zkList, Root: *zkRoot, Auth: zkAuth, TLS: zkTLS, Logger: log,
			PlanIndexIdle: agentPlanIndexIdle})
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
	acfg := agent.Config{
		Host: host, NSDB: client, Datapath: dp, Workers: *workers, VXLANPort: uint16(*vxlanPort), VTEPPort: uint16(*vtepPort),
		Stateful: !*noState, Logger: log, Registerer: reg, UnderlayMTU: *underlayMTU, TunnelOverhead: *overhead,
		BGP: bgpCfg,
	}
	closeStores, err := sf.open(ctx, &acfg, log)
	defer closeStores()
	if err != nil {
		return fail(fmt.Errorf("flow-state store: %w", err))
	}
	var (
		opsHandler http.Handler
		opsServer  *http.Server
		endpoint   string
	)
	serveOps := func() error {
		if opsHandler == nil {
			return nil
		}
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return fmt.Errorf("-listen: %w", err)
		}
		endpoint = ln.Addr().String()
		opsServer = &http.Server{Handler: opsHandler, ReadHeaderTimeout: 5 * time.Second}
		go opsServer.Serve(ln)
		return nil
	}
	if sf.takeover {
		acfg.Handover = func(ctx context.Context) error {
			if err := sf.handover(ctx, log); err != nil {
				return err
			}
			return serveOps()
		}
	}
	a, err := agent.New(acfg)
	if err != nil {
		return fail(err)
	}
	// Operator endpoints: at once, or, when taking over from a running
	// agent, once it has stopped and freed the address.
	if *listen != "" {
		h, err := ops.New(ops.Config{Agent: a, Gatherer: reg, DebugToken: debugToken, Logger: log})
		if err != nil {
			return fail(err)
		}
		opsHandler = h
	}
	defer func() {
		if opsServer != nil {
			opsServer.Close()
		}
	}()
	if !sf.takeover {
		if err := serveOps(); err != nil {
			return fail(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-a.Ready():
		log.Info("agent ready", "host", hostLabel(a, host), "datapath", *dpKind, "nsdb", *nsdbKind, "endpoints", endpoint)
		if err := sf.writePID(); err != nil {
			log.Warn("cannot write the PID file", "err", err)
		}
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
