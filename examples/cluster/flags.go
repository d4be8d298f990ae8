package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hivenet/hivenet/internal/cli"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/neutronstore"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
)

// services names the built-in services, in the order they are added.
var services = []string{"api", "heartbeat", "recycler", "snapshots", "vxgw", "neutron-sync", "lb-health"}

// options are the command's validated flags.
type options struct {
	nsdb             string
	zk               []string
	zkRoot           string
	zkSessionTimeout time.Duration
	embeddedZK       string
	embeddedZKAddr   netip.AddrPort
	listen           string
	tokenFile        string
	insecure         bool
	zkAuth           *zookeeper.Auth
	zkTLS            *tls.Config
	tls              *tls.Config
	services         []string
	node             string
	recycleInterval  time.Duration
	providerRouter   string
	verbose          bool
	// rotateKeys: rotate the flow-state keys and exit, their new key
	// signing after keyDelay.
	rotateKeys bool
	keyDelay   time.Duration
}

func (o *options) has(svc string) bool { return slices.Contains(o.services, svc) }

// errUsage is wrapped by parse's errors about the command line.
var errUsage = errors.New("usage")

// parse parses and checks the command line: every address, name and file
// is checked here, before anything starts. It returns flag.ErrHelp for -h.
func parse(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.StringVar(&o.nsdb, "nsdb", "memory", "NSDB backend: memory or zk")
	zk := fs.String("zk", "", "ZooKeeper servers `host:port[,...]`")
	fs.StringVar(&o.zkRoot, "zk-root", "", "ZooKeeper root `path`")
	fs.DurationVar(&o.zkSessionTimeout, "zk-session-timeout", 10*time.Second, "ZooKeeper session timeout")
	fs.StringVar(&o.embeddedZK, "embedded-zk", "", "start and supervise a ZooKeeper server with its data in `DIR`")
	zkAddr := fs.String("embedded-zk-addr", "127.0.0.1:2181", "the embedded ZooKeeper's client `address`")
	fs.StringVar(&o.listen, "listen", "", "serve the API on http://`ADDR`/v1/, metrics on /metrics")
	fs.StringVar(&o.tokenFile, "token-file", "", "API tokens `file` (CSV: token,name,role)")
	fs.BoolVar(&o.insecure, "insecure", false, "serve the API WITHOUT AUTHENTICATION (no -token-file): anyone reaching it is an admin")
	zkAuthFile := fs.String("zk-auth-file", "", "ZooKeeper digest identity `file` (user:password, mode 600): authenticate, and close hivenet's znodes to anyone without it")
	zkTLSCA := fs.String("zk-tls-ca", "", "reach ZooKeeper over TLS (-zk naming its secure client ports), trusting the CA certificates of this PEM `file`")
	cert := fs.String("tls-cert", "", "TLS certificate `file` (PEM)")
	key := fs.String("tls-key", "", "TLS key `file` (PEM)")
	svcs := fs.String("services", strings.Join(services, ","), "services to run, of "+strings.Join(services, ","))
	host, _ := os.Hostname()
	fs.StringVar(&o.node, "node", host, "the node's `name` in the cluster")
	fs.DurationVar(&o.recycleInterval, "recycle-interval", time.Hour, "time between garbage collections")
	fs.StringVar(&o.providerRouter, "neutron-provider-router", neutronstore.DefaultProviderRouter, "the `name` of the router Neutron external networks are linked to")
	fs.BoolVar(&o.verbose, "v", false, "debug logs")
	fs.BoolVar(&o.rotateKeys, "rotate-flow-state-keys", false, "rotate the cluster's flow-state keys in the NSDB (create them if absent), print them and exit; no service runs")
	fs.DurationVar(&o.keyDelay, "flow-state-key-delay", 30*time.Second, "with -rotate-flow-state-keys: how long agents have to read the new key before it signs")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	bad := func(format string, a ...any) (*options, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
	}
	if fs.NArg() != 0 {
		return bad("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	switch o.nsdb {
	case "memory":
		if *zk != "" || o.embeddedZK != "" {
			return bad("-zk and -embedded-zk need -nsdb zk")
		}
	case "zk":
		if *zk == "" && o.embeddedZK == "" {
			return bad("-nsdb zk needs -zk or -embedded-zk")
		}
	default:
		return bad("-nsdb %q: want memory or zk", o.nsdb)
	}
	if *zk != "" {
		for _, s := range strings.Split(*zk, ",") {
			if err := checkHostPort(s); err != nil {
				return bad("-zk: %v", err)
			}
			o.zk = append(o.zk, s)
		}
	}
	auth, ztls, err := cli.ZooKeeperSecurity(*zkAuthFile, *zkTLSCA)
	if err != nil {
		return bad("%v", err)
	}
	if (auth != nil || ztls != nil) && o.nsdb != "zk" {
		return bad("-zk-auth-file and -zk-tls-ca need -nsdb zk")
	}
	if ztls != nil && o.embeddedZK != "" {
		return bad("-zk-tls-ca: the embedded ZooKeeper serves no TLS")
	}
	o.zkAuth, o.zkTLS = auth, ztls
	if o.embeddedZK != "" {
		ap, err := netip.ParseAddrPort(*zkAddr)
		if err != nil || ap.Port() == 0 {
			return bad("-embedded-zk-addr %q: want IP:port", *zkAddr)
		}
		o.embeddedZKAddr = ap
		if o.zk == nil {
			o.zk = []string{ap.String()}
		}
	}
	if o.zkSessionTimeout <= 0 {
		return bad("-zk-session-timeout must be positive")
	}
	if o.recycleInterval <= 0 {
		return bad("-recycle-interval must be positive")
	}
	if o.keyDelay < 0 || o.keyDelay > time.Hour {
		return bad("-flow-state-key-delay must be from 0s to 1h")
	}
	if o.rotateKeys {
		if o.listen != "" || o.embeddedZK != "" || o.tokenFile != "" || o.insecure {
			return bad("-rotate-flow-state-keys runs no node: -listen, -embedded-zk, -token-file and -insecure do not apply")
		}
		return o, nil
	}
	for _, s := range strings.Split(*svcs, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(services, s) {
			return bad("-services: unknown service %q (want some of %s)", s, strings.Join(services, ","))
		}
		if !slices.Contains(o.services, s) {
			o.services = append(o.services, s)
		}
	}
	if !nsdb.ValidName(o.node) {
		return bad("-node %q: letters, digits, '-', '_' and '.' only", o.node)
	}
	if o.listen != "" {
		if err := checkHostPort(o.listen); err != nil {
			return bad("-listen: %v", err)
		}
	}
	switch {
	case o.has("api") && o.listen == "":
		return bad("the api service needs -listen")
	case o.has("api") && o.tokenFile == "" && !o.insecure:
		return bad("the api service needs -token-file (or -insecure, to serve it without authentication)")
	case o.has("api") && o.tokenFile != "" && o.insecure:
		return bad("-token-file and -insecure are exclusive")
	case !o.has("api") && (o.tokenFile != "" || o.insecure):
		return bad("-token-file and -insecure serve the api service, which -services leaves out")
	}
	if o.listen == "" && *cert != "" {
		return bad("-tls-cert and -tls-key need -listen")
	}
	if (*cert == "") != (*key == "") {
		return bad("-tls-cert and -tls-key go together")
	}
	if *cert != "" {
		c, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return bad("-tls-cert/-tls-key: %v", err)
		}
		o.tls = &tls.Config{Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}
	}
	return o, nil
}

// checkHostPort accepts "host:port" with a numeric port (0 for any) and a
// host that is empty, an IP address or a name.
func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q: bad port %q", s, port)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q: bad host %q", s, host)
	}
	return nil
}
