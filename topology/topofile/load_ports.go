package topofile

import (
	"fmt"
	"net/netip"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hivenet/hivenet/topology"
)

// Ports: their fields, a router port's addresses, and the peer links
// resolved once every port of the file is known.

// peerDecl is a port's peer: key, resolved once every port is known.
type peerDecl struct {
	port topology.ID
	idx  int
	name string
	at   place
	path string
	loc  *objLoc
}

func (d *decoder) port(m *mapping, owner topology.ID, onRouter bool) {
	id, name := d.named(m, topology.KindPort)
	pi := len(d.t.Ports)
	p := topology.Port{ID: id, Name: name}
	if onRouter {
		p.Router = owner
	} else {
		p.Bridge = owner
	}
	m.flag("admin-down", &p.AdminDown)
	m.flag("service-container", &p.ServiceContainer)
	getUint(m, "tunnel-key", &p.TunnelKey, 32)
	getUint(m, "vlan", &p.VLAN, 16)
	m.str("interface", &p.Interface)
	m.ref("inbound-filter", topology.KindChain, func(x topology.ID) { d.t.Ports[pi].InboundFilter = x })
	m.ref("outbound-filter", topology.KindChain, func(x topology.ID) { d.t.Ports[pi].OutboundFilter = x })
	m.ref("host", topology.KindHost, func(x topology.ID) { d.t.Ports[pi].Host = x })
	m.ref("vtep", topology.KindVTEP, func(x topology.ID) { d.t.Ports[pi].VTEP = x })
	m.refList("port-groups", topology.KindPortGroup, func(x []topology.ID) { d.t.Ports[pi].PortGroups = x })
	if d.one != nil {
		m.ref("peer", topology.KindPort, func(x topology.ID) { d.t.Ports[pi].Peer = x })
	} else if s, n, ok := m.scalar("peer", jsonString); ok {
		d.peers = append(d.peers, peerDecl{port: id, idx: pi, name: s, at: at(n), path: join(m.path, "peer"), loc: m.loc})
	}
	if onRouter {
		d.routerPortAddrs(m, &p)
		getUint(m, "mtu", &p.MTU, 16)
		p.MAC = DefaultMAC(id)
		if v, ok := get(m, "mac", macValue); ok {
			p.MAC = v
		}
	}
	d.t.Ports = append(d.t.Ports, p)
}

// routerPortAddrs reads address: (a.b.c.d/n sets the address and the first
// subnet; a bare address sets the address only) and subnets: (further
// subnets).
func (d *decoder) routerPortAddrs(m *mapping, p *topology.Port) {
	if s, n, ok := m.scalar("address", jsonString); ok {
		ap := join(m.path, "address")
		if strings.Contains(s, "/") {
			pfx, err := netip.ParsePrefix(s)
			if err != nil {
				d.fail(n, ap, badValue("%q is not an address with a prefix length (a.b.c.d/n)", s))
			} else {
				p.Address = pfx.Addr()
				p.Subnets = append(p.Subnets, pfx.Masked())
				m.loc.set("subnets[0]", ap, n)
			}
		} else if a, err := parseAddr(s); err != nil {
			d.fail(n, ap, err)
		} else {
			p.Address = a
		}
	}
	elems, sp := m.seq("subnets")
	for i, e := range elems {
		ep := index(sp, i)
		if !d.expect(e, yaml.ScalarNode, ep) || !d.typed(e, ep, jsonString) {
			continue
		}
		pfx, err := parsePrefix(scalarValue(e))
		if err != nil {
			d.fail(e, ep, err)
			continue
		}
		m.loc.set(index("subnets", len(p.Subnets)), ep, e)
		p.Subnets = append(p.Subnets, pfx)
	}
}

// resolvePeers resolves every peer: key and makes peering symmetric: when
// port a names b and b names no peer, b's peer becomes a. Two ports that
// disagree are reported.
func (d *decoder) resolvePeers() {
	type resolved struct {
		decl   peerDecl
		target topology.ID
	}
	portIdx := make(map[topology.ID]int, len(d.t.Ports))
	for i := len(d.t.Ports) - 1; i >= 0; i-- {
		portIdx[d.t.Ports[i].ID] = i
	}
	var rs []resolved
	declared := make(map[topology.ID]topology.ID, len(d.peers))
	for _, pd := range d.peers {
		if tid, ok := d.resolve(topology.KindPort, pd.name, pd.at, pd.path); ok {
			rs = append(rs, resolved{pd, tid})
			declared[pd.port] = tid
		}
	}
	claimed := make(map[topology.ID]topology.ID)
	for _, r := range rs {
		a, b := r.decl.port, r.target
		d.t.Ports[r.decl.idx].Peer = b
		if a == b {
			continue // self-peering: validation reports it
		}
		if bPeer, ok := declared[b]; ok {
			if bPeer != a {
				d.failAt(r.decl.at, r.decl.path, fmt.Errorf("%w: port %q names %s as its peer, not this port",
					ErrPeerConflict, r.decl.name, d.nameOf(bPeer)))
			}
			continue
		}
		if prev, ok := claimed[b]; ok && prev != a {
			d.failAt(r.decl.at, r.decl.path, fmt.Errorf("%w: port %q is already the peer of %s",
				ErrPeerConflict, r.decl.name, d.nameOf(prev)))
			continue
		}
		claimed[b] = a
		bi, inFile := portIdx[b]
		if !inFile {
			continue // a port outside the file: the store sets its side
		}
		d.t.Ports[bi].Peer = a
		for _, l := range d.locs[b] {
			if l.kind == topology.KindPort {
				l.setAt("peer", r.decl.path, r.decl.at)
			}
		}
	}
}

// nameOf quotes the name of the object with id, or formats the ID.
func (d *decoder) nameOf(id topology.ID) string {
	for _, l := range d.locs[id] {
		if l.name != "" {
			return fmt.Sprintf("%q", l.name)
		}
	}
	return id.String()
}
