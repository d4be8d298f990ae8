package agent

import (
	"net/netip"
	"sync"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/dhcp"
	"github.com/hivenet/hivenet/topology"
)

// bridgeVLAN names the MAC table of one VLAN of a bridge.
type bridgeVLAN struct {
	bridge topology.ID
	vlan   uint16
}

type (
	macTable  = nsdb.Table[topology.MAC, topology.ID]
	ip4Table  = nsdb.Table[netip.Addr, topology.MAC]
	arpTable  = nsdb.Table[netip.Addr, nsdb.ARPEntry]
	hostRoute struct {
		src, dst netip.Addr
		port     datapath.PortNumber
	}
)

// world is everything a simulation and its translation read, published
// as a whole after each topology change and never modified afterwards:
// workers load it once per packet.
type world struct {
	snap *topology.Snapshot
	macs map[bridgeVLAN]macTable
	ip4  map[topology.ID]ip4Table
	arp  map[topology.ID]arpTable
	// local maps the ports bound here to their datapath ports; byDP is
	// the reverse.
	local map[topology.ID]datapath.PortNumber
	byDP  map[datapath.PortNumber]topology.ID
	// keys are the tunnel keys of the local ports; byKey the reverse.
	keys  map[topology.ID]uint32
	byKey map[uint32]datapath.PortNumber
	// routes are the tunnel routes to the other hosts sharing a zone;
	// admit the sources tunnelled packets are accepted from.
	routes map[topology.ID]hostRoute
	admit  admission
	// vxlan and gre are the overlay tunnel ports (0 when absent), vtep
	// the tunnel port toward VTEPs.
	vxlan, gre, vtep datapath.PortNumber
	hasGRE, hasVTEP  bool
	// vtepPorts are the VxLAN ports toward VTEPs this host reaches;
	// vtepIn the reverse, by VTEP and VNI.
	vtepPorts map[topology.ID]vtepPort
	vtepIn    map[vtepVNI]topology.ID
	// dhcp is the DHCP configuration, rebuilt when DHCP subnets change.
	dhcp *dhcp.Table
}

func emptyWorld() *world {
	return &world{
		snap:      topology.NewSnapshot(&topology.Topology{}),
		macs:      map[bridgeVLAN]macTable{},
		ip4:       map[topology.ID]ip4Table{},
		arp:       map[topology.ID]arpTable{},
		local:     map[topology.ID]datapath.PortNumber{},
		byDP:      map[datapath.PortNumber]topology.ID{},
		keys:      map[topology.ID]uint32{},
		byKey:     map[uint32]datapath.PortNumber{},
		routes:    map[topology.ID]hostRoute{},
		vtepPorts: map[topology.ID]vtepPort{}, vtepIn: map[vtepVNI]topology.ID{},
		admit: admission{},
		dhcp:  dhcp.NewTable(nil),
	}
}

// activeMap mirrors the port "active" state keys of every port, and
// remembers, per port, the last other host seen announcing it: where a
// port bound here comes from, to ask for its flow state.
type activeMap struct {
	mu   sync.RWMutex
	m    map[topology.ID]nsdb.PortState
	prev map[topology.ID]topology.ID
}

// seen records that host announced port.
func (a *activeMap) seen(port, host topology.ID) {
	a.mu.Lock()
	a.prev[port] = host
	a.mu.Unlock()
}

// consume forgets where port came from, once its state was restored: a
// later binding here without another host announcing it in between
// restores from this host's own store.
func (a *activeMap) consume(port topology.ID) {
	a.mu.Lock()
	delete(a.prev, port)
	a.mu.Unlock()
}

// previous returns the last host other than this one seen announcing
// port.
func (a *activeMap) previous(port topology.ID) (topology.ID, bool) {
	a.mu.RLock()
	h, ok := a.prev[port]
	a.mu.RUnlock()
	return h, ok
}

func (a *activeMap) get(port topology.ID) (nsdb.PortState, bool) {
	a.mu.RLock()
	s, ok := a.m[port]
	a.mu.RUnlock()
	return s, ok
}

// set records port's state (ok false: inactive) and reports the previous
// one.
func (a *activeMap) set(port topology.ID, s nsdb.PortState, ok bool) (old nsdb.PortState, had bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old, had = a.m[port]
	if ok {
		a.m[port] = s
	} else {
		delete(a.m, port)
	}
	return old, had
}

// view is a worker's simulation.State and Locator over one world. Workers
// keep one view and repoint it at each packet, so using it does not
// allocate.
type view struct {
	w      *world
	active *activeMap
	vteps  *vtepAddrs
	self   topology.ID
	// miss lists the devices whose tables the simulation needed and w
	// does not have open (tabledemand.go).
	miss tableMisses
}

var (
	_ simulation.State  = (*view)(nil)
	_ translate.Locator = (*view)(nil)
)

// MACPort implements simulation.State.
func (v *view) MACPort(bridge topology.ID, vlan uint16, mac topology.MAC) (topology.ID, bool) {
	t, ok := v.w.macs[bridgeVLAN{bridge, vlan}]
	if !ok {
		v.missBridge(bridge)
		return topology.ID{}, false
	}
	return t.Lookup(mac)
}

// IP4MAC implements simulation.State.
func (v *view) IP4MAC(bridge topology.ID, ip netip.Addr) (topology.MAC, bool) {
	t, ok := v.w.ip4[bridge]
	if !ok {
		v.missBridge(bridge)
		return topology.MAC{}, false
	}
	return t.Lookup(ip)
}

// ARPEntry implements simulation.State. Unresolved entries (zero MAC) are
// absent.
func (v *view) ARPEntry(router topology.ID, ip netip.Addr, out *simulation.ARPEntry) bool {
	t, ok := v.w.arp[router]
	if !ok {
		v.missRouter(router)
		return false
	}
	e, ok := t.Lookup(ip)
	if !ok || e.MAC.IsZero() {
		return false
	}
	out.MAC, out.Stale, out.Expiry = e.MAC, e.Stale, e.Expiry
	return true
}

// PortActive implements simulation.State.
func (v *view) PortActive(port topology.ID) bool {
	if _, ok := v.w.local[port]; ok {
		return true
	}
	if _, ok := v.w.vtepPorts[port]; ok {
		return true
	}
	_, ok := v.active.get(port)
	return ok
}

// Locate implements Locator.
func (v *view) Locate(port topology.ID) (translate.Location, bool) {
	if n, ok := v.w.local[port]; ok {
		return translate.Location{Local: true, DPPort: n}, true
	}
	if vp, ok := v.w.vtepPorts[port]; ok {
		return v.locateVTEP(vp)
	}
	st, ok := v.active.get(port)
	if !ok || st.Host == v.self {
		return translate.Location{}, false
	}
	key := st.TunnelKey
	if key == 0 {
		if p, ok := v.w.snap.Port(port); ok {
			key = p.TunnelKey
		}
	}
	r, ok := v.w.routes[st.Host]
	if !ok || key == 0 {
		return translate.Location{}, false
	}
	return translate.Location{Tunnel: translate.Tunnel{Key: key, Src: r.src, Dst: r.dst, Port: r.port}}, true
}

// hostRoutes computes the tunnel routes from self to every host sharing a
// tunnel zone, preferring zones in ID order; zones whose encapsulation has
// no local tunnel port are skipped.
func hostRoutes(s *topology.Snapshot, self topology.ID, vxlan, gre datapath.PortNumber, hasGRE bool) map[topology.ID]hostRoute {
	routes := make(map[topology.ID]hostRoute)
	for _, zid := range s.HostZones(self) {
		z, ok := s.TunnelZone(zid)
		if !ok {
			continue
		}
		port, ok := zonePort(z, vxlan, gre, hasGRE)
		if !ok {
			continue
		}
		src, ok := z.MemberAddr(self)
		if !ok {
			continue
		}
		for _, m := range z.Members {
			if m.Host == self {
				continue
			}
			if _, done := routes[m.Host]; !done {
				routes[m.Host] = hostRoute{src: src, dst: m.Addr, port: port}
			}
		}
	}
	return routes
}
