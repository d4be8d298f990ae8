package scale

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// edgeTopology is one host's tenant: a bridge with a client, a server, a
// load-balancer backend and a second client, behind router edge with a
// floating IP (203.0.113.11 → server), dynamic source NAT to
// 203.0.113.10 and a TCP VIP 203.0.113.80:80 over server and backend,
// and an uplink bound to the same host. The clients' inbound filter asks
// connection tracking whether each packet is a forward flow, so that every
// new 5-tuple is a connection; the servers accept TCP and return flows.
const edgeTopology = `
hosts: [{name: h0}]
tunnel-zones: [{name: z, type: vxlan, members: {h0: 192.0.2.1}}]
bridges:
  - name: net
    ports:
      - {name: client, host: h0, interface: tap-client, inbound-filter: sg-egress}
      - {name: client2, host: h0, interface: tap-client2, inbound-filter: sg-egress}
      - {name: server, host: h0, interface: tap-server, outbound-filter: sg-in}
      - {name: backend, host: h0, interface: tap-backend, outbound-filter: sg-in}
      - {name: net-gw, peer: edge-lan}
routers:
  - name: edge
    load-balancer: lb
    inbound-filter: pre
    outbound-filter: post
    ports:
      - {name: edge-lan, address: 10.0.0.1/24, mac: "02:00:00:00:00:01"}
      - {name: uplink, host: h0, interface: eth1, address: 198.51.100.2/24, mac: "02:00:00:00:01:01"}
    routes:
      - {dst: 0.0.0.0/0, port: uplink, gateway: 198.51.100.1}
chains:
  - name: sg-egress
    rules:
      - {action: accept, match-forward-flow: true}
  - name: sg-in
    rules:
      - {action: accept, match-return-flow: true}
      - {action: accept, nw-proto: tcp}
      - {action: drop}
  - name: pre
    rules:
      - {dnat: 10.0.0.12, nw-dst: 203.0.113.11/32}
      - {rev-snat: true, in-ports: [uplink], nw-dst: 203.0.113.10/32}
  - name: post
    rules:
      - {snat: 203.0.113.11, out-ports: [uplink], nw-src: 10.0.0.12/32}
      - {snat: "203.0.113.10:1024-65535", out-ports: [uplink], nw-src: 10.0.0.0/24, match-forward-flow: true}
load-balancers:
  - name: lb
    pools:
      - name: pool
        members:
          - {addr: 10.0.0.12, port: 80}
          - {addr: 10.0.0.13, port: 80}
        vips:
          - {addr: 203.0.113.80, port: 80}
`

// The edge topology's addresses.
var (
	macClient  = topology.MAC{2, 0xa, 0, 0, 0, 11}
	macClient2 = topology.MAC{2, 0xa, 0, 0, 0, 14}
	macServer  = topology.MAC{2, 0xa, 0, 0, 0, 12}
	macBackend = topology.MAC{2, 0xa, 0, 0, 0, 13}
	macEdgeLAN = topology.MAC{2, 0, 0, 0, 0, 1}
	macUplink  = topology.MAC{2, 0, 0, 0, 1, 1}
	macExt     = topology.MAC{2, 0xe, 0, 0, 0, 1}
	ipClient   = netip.MustParseAddr("10.0.0.11")
	ipClient2  = netip.MustParseAddr("10.0.0.14")
	ipServer   = netip.MustParseAddr("10.0.0.12")
	ipBackend  = netip.MustParseAddr("10.0.0.13")
	ipExt      = netip.MustParseAddr("198.51.100.1")
	ipFIP      = netip.MustParseAddr("203.0.113.11")
	ipVIP      = netip.MustParseAddr("203.0.113.80")
)

// loadEdge writes the edge topology under root and seeds its tables as a
// cloud manager would: the VMs' MACs and addresses in the bridge's tables
// and the upstream gateway in the router's ARP table, so that no packet
// waits for learning or ARP.
func loadEdge(ctx context.Context, servers, root string) error {
	t, err := topofile.Load(strings.NewReader(edgeTopology), "edge.yaml")
	if err != nil {
		return err
	}
	admin, err := zkClient(ctx, servers, root)
	if err != nil {
		return err
	}
	defer admin.Close()
	if _, err := admin.Store().Commit(ctx, nsdb.PutAll(t)...); err != nil {
		return err
	}
	net := topology.NameID(topology.KindBridge, "net")
	mt, err := admin.Tables().MACTable(ctx, net, 0)
	if err != nil {
		return err
	}
	defer mt.Close()
	im, err := admin.Tables().IP4MACTable(ctx, net)
	if err != nil {
		return err
	}
	defer im.Close()
	for _, v := range []struct {
		port string
		mac  topology.MAC
		ip   netip.Addr
	}{{"client", macClient, ipClient}, {"client2", macClient2, ipClient2}, {"server", macServer, ipServer}, {"backend", macBackend, ipBackend}} {
		if err := mt.AddPersistent(ctx, v.mac, topology.NameID(topology.KindPort, v.port)); err != nil {
			return err
		}
		if err := im.AddPersistent(ctx, v.ip, v.mac); err != nil {
			return err
		}
	}
	arp, err := admin.Tables().ARPTable(ctx, topology.NameID(topology.KindRouter, "edge"))
	if err != nil {
		return err
	}
	defer arp.Close()
	far := time.Now().Add(24 * time.Hour)
	return arp.AddPersistent(ctx, ipExt, nsdb.ARPEntry{MAC: macExt, Expiry: far, Stale: far})
}

// edgeEndpoints returns the endpoints of the edge topology's bound ports.
func edgeEndpoints(ra *runningAgent) (map[string]*inproc.Endpoint, error) {
	eps := make(map[string]*inproc.Endpoint)
	for _, name := range []string{"client", "client2", "server", "backend", "uplink"} {
		n, ok := ra.a.LocalPort(topology.NameID(topology.KindPort, name))
		if !ok {
			return nil, fmt.Errorf("port %s not bound", name)
		}
		ep, err := ra.dp.Endpoint(n)
		if err != nil {
			return nil, err
		}
		eps[name] = ep
	}
	return eps, nil
}

// edgeStreams returns the edge topology's kinds of new-flow traffic, each
// using destination ports from base up.
func edgeStreams(eps map[string]*inproc.Endpoint, base int) map[string]*stream {
	return map[string]*stream{
		// east-west: client → server on the bridge, through connection
		// tracking (the client's filter) and the server's security group.
		"conntrack": {name: "conntrack", in: eps["client"], tmpl: frame(macClient, macServer, ipClient, ipServer, false), vary: ports(base)},
		// north: client → outside through the router's dynamic SNAT.
		"snat": {name: "snat", in: eps["client"], tmpl: frame(macClient, macEdgeLAN, ipClient, ipExt, false), vary: ports(base)},
		// south: outside → the floating IP, DNAT to server.
		"fip": {name: "fip", in: eps["uplink"], tmpl: frame(macExt, macUplink, ipExt, ipFIP, false), vary: ports(base)},
		// the VIP from two clients (60,000 source ports each per VIP port).
		"lb": {name: "lb", in: eps["client"], tmpl: frame(macClient, macEdgeLAN, ipClient, ipVIP, false), vary: vipPorts},
		// flooding: UDP to unknown MACs, flooded by the bridge.
		"flood": {name: "flood", in: eps["client"], tmpl: frame(macClient, topology.MAC{2, 0xee}, ipClient, netip.MustParseAddr("10.0.0.99"), true), vary: floodVary(base)},
	}
}

// vipPorts varies the source port only: the VIP has one port.
func vipPorts(f []byte, i int) {
	f[l4Off] = byte((1024 + i%60000) >> 8)
	f[l4Off+1] = byte(1024 + i%60000)
	f[l4Off+2], f[l4Off+3] = 0, 80
}

// floodVary gives packet i a destination MAC of its own (a new flow for
// the bridge) and new ports.
func floodVary(base int) func(f []byte, i int) {
	p := ports(base)
	return func(f []byte, i int) {
		f[2], f[3], f[4], f[5] = byte(base>>8), byte(i>>16), byte(i>>8), byte(i)
		p(f, i)
	}
}

// StatefulStep is the agent's memory after a number of connections of one
// feature were opened through it (cumulative over the steps).
type StatefulStep struct {
	Feature   string        `json:"feature"` // "idle", "conntrack", "snat", "lb"
	Conns     int           `json:"conns"`   // offered by this step
	Delivered int           `json:"delivered"`
	Took      time.Duration `json:"took"`
	Memory    memory        `json:"memory"`
}

// measureStateful loads the edge topology under root and measures, in a
// child process, one agent's memory as conns connections of each stateful
// feature are opened.
func measureStateful(ctx context.Context, ens *Ensemble, root string, conns int) ([]StatefulStep, error) {
	if err := loadEdge(ctx, ens.Servers, root); err != nil {
		return nil, err
	}
	var steps []StatefulStep
	err := runChild(ctx, job{Kind: "stateful", Servers: ens.Servers, Root: root, Host: "h0", Conns: []int{conns}}, &steps)
	return steps, err
}

func statefulChild(ctx context.Context, j job) ([]StatefulStep, error) {
	ra, err := startAgent(ctx, j.Servers, j.Root, j.Host, true, 1<<14)
	if err != nil {
		return nil, err
	}
	defer ra.stop()
	eps, err := edgeEndpoints(ra)
	if err != nil {
		return nil, err
	}
	n := j.Conns[0]
	ss := edgeStreams(eps, 1000)
	order := []*stream{ss["conntrack"], ss["snat"], ss["lb"]}
	d := newDriver(order, []*inproc.Endpoint{eps["server"], eps["backend"], eps["uplink"]}, n)
	defer d.stop()
	steps := []StatefulStep{{Feature: "idle", Memory: measureMemory()}}
	for _, s := range order {
		k, window := n, 2048
		switch s.name {
		case "lb":
			k = min(n, 60000)
		case "snat":
			// Packets wait while the agent leases port blocks.
			window = 64
		}
		start := time.Now()
		if err := d.closedLoop(ctx, s, k, window, 10*time.Second); err != nil {
			return nil, err
		}
		steps = append(steps, StatefulStep{Feature: s.name, Conns: k, Delivered: int(s.got.Load()), Took: time.Since(start), Memory: measureMemory()})
	}
	return steps, nil
}
