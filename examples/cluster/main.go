// Command cluster runs one hivenet cluster node (package nsdb/cluster): the
// REST API (native under /v1/, OpenStack Neutron under /v2.0/ with a
// Keystone v3 token endpoint under /v3/), the host-liveness view, the
// garbage collector of orphaned NSDB state, the VxLAN gateway
// (vxgw/gateway, vxgw/floodproxy), the Neutron translation's sync and the
// load balancers' health monitors (nsdb/cluster/lbhealth), placed and
// failed over through the NSDB, optionally with an embedded ZooKeeper
// server so that one command brings up a deployment.
//
//	go run ./examples/cluster -nsdb zk -embedded-zk /var/lib/hivenet/zk \
//	    -listen 127.0.0.1:8080 -token-file tokens.csv
//
// Flags:
//
//	-nsdb KIND             memory (embedded, this process only: a one-process
//	                       demo) or zk (default memory)
//	-zk HOSTS              ZooKeeper servers, host:port[,host:port...]; with
//	                       -embedded-zk and no -zk, the embedded server
//	-zk-root PATH          ZooKeeper root (default nsdb/zookeeper's)
//	-zk-session-timeout D  ZooKeeper session timeout: how long a dead node
//	                       keeps its leaderships (default 10s)
//	-embedded-zk DIR       start and supervise a ZooKeeper server (Debian's
//	                       package) keeping its data in DIR
//	-embedded-zk-addr ADDR its client address (default 127.0.0.1:2181)
//	-listen ADDR           the node's HTTP endpoint: the API on
//	                       http://ADDR/v1/, /v2.0/ and /v3/ (with the api
//	                       service), Prometheus metrics on /metrics and
//	                       /healthz; required with the api service
//	-token-file FILE       API tokens, CSV lines token,name,role with role
//	                       admin or reader (mode 600 or 640); required with
//	                       the api service unless -insecure
//	-insecure              serve the API without authentication: every
//	                       request is an admin (logged as insecure-anonymous);
//	                       the node warns at start. For a demonstration only
//	-zk-auth-file FILE     ZooKeeper digest identity, "user:password" (mode
//	                       600; see nsdb/zookeeper.ParseAuth): the node
//	                       authenticates with it and, at start, gives every
//	                       znode under the root the ACL of that identity
//	                       (zookeeper.Client.SecureRoot): anyone without it
//	                       can neither read nor write
//	-zk-tls-ca FILE        reach ZooKeeper over TLS (-zk naming the servers'
//	                       secure client ports), trusting the CA
//	                       certificates of this PEM file
//	-tls-cert FILE         serve HTTPS with this certificate (PEM) ...
//	-tls-key FILE          ... and key
//	-services LIST         services to run, of api,heartbeat,recycler,
//	                       snapshots,vxgw,neutron-sync,lb-health (default
//	                       all; snapshots keeps a snapshot of the object
//	                       store in ZooKeeper for starting agents, written
//	                       every 1,000 commits or once the store is quiet
//	                       100 commits past the last, on one node; vxgw is the
//	                       VxLAN gateway: one synchroniser per VTEP on the
//	                       node owning it, and the flooding-proxy manager on
//	                       one node; neutron-sync keeps the Neutron
//	                       translation in step with hosts and the provider
//	                       router, on one node; lb-health probes pool
//	                       members over TCP from the node, one checker per
//	                       health monitor on the node owning it, and writes
//	                       their status)
//	-node NAME             the node's name in the cluster (default the host
//	                       name); its ID is topology.NameID(host, NAME)
//	-recycle-interval D    time between garbage collections (default 1h)
//	-neutron-provider-router NAME
//	                       the router Neutron external networks are linked
//	                       to (default provider)
//	-v                     debug logs
//	-rotate-flow-state-keys
//	                       rotate the cluster's flow-state keys in the NSDB
//	                       (create them if absent) and exit, running no
//	                       service: the new key signs after
//	                       -flow-state-key-delay (default 30s), the previous
//	                       one stays valid; refused while a rotation is
//	                       pending
//
// Every address is checked, and the token file and certificate loaded,
// before anything starts. At start the node creates the cluster's
// flow-state keys (package flowstate/auth) if there are none; POST
// /v1/flow-state-keys rotates them. SIGINT or SIGTERM stops the node: it
// gives up its leaderships at once, then stops the embedded ZooKeeper.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr, nil)
	stop()
	os.Exit(code)
}
