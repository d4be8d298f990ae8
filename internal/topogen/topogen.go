package topogen

import (
	"context"
	"fmt"
	"net/netip"
	"os"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// PortsPerRouter is the number of ports Generate creates per router: 8
// bridges of 10 VM ports, 16 link ports and 4 uplinks.
const PortsPerRouter = 100

// Generate returns a topology of about ports ports (rounded down to a
// multiple of PortsPerRouter, at least one router's worth) with routers,
// bridges, chains, rules and routes in proportion, the shape of a
// multi-tenant cloud:
//
//   - one host per 100 ports (so each host binds about 84 ports whatever
//     the size: the deployment grows, not the host), all in one VXLAN zone;
//   - per router: 8 bridges of 10 VM ports (bound round-robin to the hosts),
//     each bridge with a 4-rule security group as its ports' outbound
//     filter, linked to the router (a link port pair and a route per
//     bridge subnet), and 4 uplink ports bound to hosts.
//
// Host h0 is the one whose agent the footprint measures.
func Generate(ports int) *topology.Topology {
	routers := max(ports/PortsPerRouter, 1)
	hosts := routers
	t := Hosts(hosts)
	id := func(k topology.Kind, f string, a ...any) topology.ID { return topology.NameID(k, fmt.Sprintf(f, a...)) }
	port := 0
	for r := range routers {
		rid := id(topology.KindRouter, "r%d", r)
		t.Routers = append(t.Routers, topology.Router{ID: rid, Name: fmt.Sprintf("r%d", r)})
		for k := range 4 {
			h := (r*4 + k) % hosts
			sub := netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(16 + r/256), byte(r), byte(4 * k)}), 30)
			t.Ports = append(t.Ports, topology.Port{ID: id(topology.KindPort, "r%d-up%d", r, k), Name: fmt.Sprintf("r%d-up%d", r, k),
				Router: rid, Host: id(topology.KindHost, "h%d", h), Interface: fmt.Sprintf("up%d", r*4+k),
				Subnets: []netip.Prefix{sub}, Address: sub.Addr().Next(), MAC: topology.MAC{2, 1, byte(r >> 8), byte(r), byte(k), 1}})
		}
		for j := range 8 {
			b := r*8 + j
			bid := id(topology.KindBridge, "b%d", b)
			sg := id(topology.KindChain, "sg%d", b)
			t.Chains = append(t.Chains, topology.Chain{ID: sg, Name: fmt.Sprintf("sg%d", b), Rules: []topology.Rule{
				{ID: id(topology.KindChain, "sg%d-0", b), Action: topology.ActionAccept, Condition: topology.Condition{MatchReturnFlow: true}},
				{ID: id(topology.KindChain, "sg%d-1", b), Action: topology.ActionAccept, Condition: topology.Condition{NwProto: topology.Is(packet.ProtoICMP)}},
				{ID: id(topology.KindChain, "sg%d-2", b), Action: topology.ActionAccept, Condition: topology.Condition{NwProto: topology.Is(packet.ProtoTCP), TpDst: topology.Is(topology.PortRange{Start: 22, End: 22})}},
				{ID: id(topology.KindChain, "sg%d-3", b), Action: topology.ActionDrop},
			}})
			t.Bridges = append(t.Bridges, topology.Bridge{ID: bid, Name: fmt.Sprintf("b%d", b)})
			for v := range 10 {
				h := port % hosts
				port++
				t.Ports = append(t.Ports, topology.Port{ID: id(topology.KindPort, "b%d-vm%d", b, v), Name: fmt.Sprintf("b%d-vm%d", b, v),
					Bridge: bid, Host: id(topology.KindHost, "h%d", h), Interface: fmt.Sprintf("tap%d", port), OutboundFilter: sg})
			}
			sub := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(b / 256), byte(b % 256), 0}), 24)
			rp, bp := id(topology.KindPort, "r%d-b%d", r, b), id(topology.KindPort, "b%d-r%d", b, r)
			t.Ports = append(t.Ports,
				topology.Port{ID: rp, Name: fmt.Sprintf("r%d-b%d", r, b), Router: rid, Peer: bp, Subnets: []netip.Prefix{sub},
					Address: sub.Addr().Next(), MAC: topology.MAC{2, 0, 0, byte(b >> 8), byte(b), 1}},
				topology.Port{ID: bp, Name: fmt.Sprintf("b%d-r%d", b, r), Bridge: bid, Peer: rp})
			t.Routes = append(t.Routes, topology.Route{ID: id(topology.KindRoute, "r%d-b%d", r, b), Router: rid, Dst: sub,
				NextHop: topology.NextHopPort, NextHopPort: rp})
		}
	}
	return t
}

// Hosts returns a topology of n hosts "h<h>" in one VXLAN tunnel zone
// "z", each at HostAddr(h): the underlay of Generate's deployments.
func Hosts(n int) *topology.Topology {
	t := &topology.Topology{Hosts: make([]topology.Host, 0, n)}
	zone := topology.TunnelZone{ID: topology.NameID(topology.KindTunnelZone, "z"), Name: "z", Type: topology.TunnelZoneVXLAN}
	for h := range n {
		name := fmt.Sprintf("h%d", h)
		hid := topology.NameID(topology.KindHost, name)
		t.Hosts = append(t.Hosts, topology.Host{ID: hid, Name: name})
		zone.Members = append(zone.Members, topology.TunnelZoneMember{Host: hid, Addr: HostAddr(h)})
	}
	t.TunnelZones = []topology.TunnelZone{zone}
	return t
}

// HostAddr is host h's tunnel-zone address (of Generate's host "h<h>"),
// in 100.64.0.0/10.
func HostAddr(h int) netip.Addr {
	return netip.AddrFrom4([4]byte{100, byte(64 + h>>16), byte(h >> 8), byte(h)})
}

// Load writes t to st in commits of about batch objects, as an operator's
// tool would: hosts, tunnel zones, chains, bridges, routers, ports (peered
// ports in the same commit), routes, then every other kind in one last
// group (a generated topology has none), and returns the number of
// commits. A topology whose chains name ports (in-ports) needs one commit:
// nsdb.PutAll.
func Load(ctx context.Context, st nsdb.Store, t *topology.Topology, batch int) (int, error) {
	var ops []nsdb.Op
	commits := 0
	flush := func(force bool) error {
		if len(ops) == 0 || (!force && len(ops) < batch) {
			return nil
		}
		_, err := st.Commit(ctx, ops...)
		ops = ops[:0]
		commits++
		return err
	}
	rank := map[topology.Kind]int{topology.KindHost: 0, topology.KindTunnelZone: 1, topology.KindChain: 2,
		topology.KindBridge: 3, topology.KindRouter: 4, topology.KindPort: 5, topology.KindRoute: 6}
	peers := make(map[topology.ID]*topology.Port)
	for i := range t.Ports {
		peers[t.Ports[i].ID] = &t.Ports[i]
	}
	done := make(map[topology.ID]bool)
	for r := range 8 {
		for o := range t.Objects() {
			k, ok := rank[o.ObjectKind()]
			if !ok {
				k = 7
			}
			if k != r || done[o.ObjectID()] {
				continue
			}
			done[o.ObjectID()] = true
			ops = append(ops, nsdb.Put(o))
			if p, ok := o.(*topology.Port); ok && !p.Peer.IsZero() {
				if q, ok := peers[p.Peer]; ok && !done[q.ID] {
					done[q.ID] = true
					ops = append(ops, nsdb.Put(q))
				}
			}
			if err := flush(false); err != nil {
				return commits, err
			}
		}
	}
	return commits, flush(true)
}

// Flat returns a flat topology of bridges×ports VM ports: bridges "net-<b>"
// of ports "vm-<b>-<p>" (interface "tap-vm-<b>-<p>", no address) bound
// round-robin to 100 hosts "host-<h>" in one VXLAN zone; no router, chain
// or route. It is the simplest large file: its size is all ports.
func Flat(bridges, ports int) *topology.Topology {
	id := topology.NameID
	t := &topology.Topology{}
	z := topology.TunnelZone{ID: id(topology.KindTunnelZone, "underlay"), Name: "underlay", Type: topology.TunnelZoneVXLAN}
	for h := range 100 {
		name := fmt.Sprintf("host-%d", h)
		t.Hosts = append(t.Hosts, topology.Host{ID: id(topology.KindHost, name), Name: name})
		z.Members = append(z.Members, topology.TunnelZoneMember{Host: id(topology.KindHost, name), Addr: netip.AddrFrom4([4]byte{10, 255, byte(h >> 8), byte(h)})})
	}
	t.TunnelZones = []topology.TunnelZone{z}
	t.Ports = make([]topology.Port, 0, bridges*ports)
	for b := range bridges {
		bname := fmt.Sprintf("net-%d", b)
		t.Bridges = append(t.Bridges, topology.Bridge{ID: id(topology.KindBridge, bname), Name: bname})
		for p := range ports {
			pname := fmt.Sprintf("vm-%d-%d", b, p)
			t.Ports = append(t.Ports, topology.Port{ID: id(topology.KindPort, pname), Name: pname, Bridge: id(topology.KindBridge, bname),
				Host: t.Hosts[(b*ports+p)%len(t.Hosts)].ID, Interface: "tap-" + pname})
		}
	}
	return t
}

// WriteFile writes t to a topology file at path (see topology/topofile).
func WriteFile(path string, t *topology.Topology) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := topofile.Write(f, t); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
