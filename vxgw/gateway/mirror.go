package gateway

import (
	"context"
	"net/netip"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw"
)

// The syncer's view of the NSDB: the objects it needs, the flooding proxy
// of the VTEP's tunnel zone and the MAC and IPv4-MAC tables of the bound
// bridges, each fed by a watch whose goroutine hands the changes to the
// syncer's loop. Only the loop touches these.

// portInfo is what the gateway needs of a port.
type portInfo struct {
	name               string
	bridge, host, vtep topology.ID
}

// bridgeTables are a bound bridge's state tables.
type bridgeTables struct {
	cancel context.CancelFunc
	mac    nsdb.Table[topology.MAC, topology.ID]
	ip4    nsdb.Table[netip.Addr, topology.MAC]
	// macs and ips mirror the tables (untagged MAC table).
	macs map[topology.MAC]topology.ID
	ips  map[netip.Addr]topology.MAC
	// macOf lists each MAC's addresses.
	addrs             map[topology.MAC]map[netip.Addr]struct{}
	macReady, ipReady bool
	// wroteMAC and wroteIP are the persistent entries written from the
	// VTEP's Ucast_Macs_Local by this instance.
	wroteMAC map[topology.MAC]bool
	wroteIP  map[netip.Addr]topology.MAC
}

// mirror is the NSDB as the syncer sees it.
type mirror struct {
	vtep    *topology.VTEP // nil until read, or once deleted
	bridges map[topology.ID]*topology.Bridge
	ports   map[topology.ID]portInfo
	zones   map[topology.ID]*topology.TunnelZone
	// fp is the flooding proxy of fpZone (nil: none).
	fp       *nsdb.FloodingProxy
	fpZone   topology.ID
	fpCancel context.CancelFunc
	tables   map[topology.ID]*bridgeTables
}

func newMirror() mirror {
	return mirror{bridges: map[topology.ID]*topology.Bridge{}, ports: map[topology.ID]portInfo{},
		zones: map[topology.ID]*topology.TunnelZone{}, tables: map[topology.ID]*bridgeTables{}}
}

// applyObjects folds a batch of the topology watch into the mirror.
func (m *mirror) applyObjects(vtepID topology.ID, evs []nsdb.Event) {
	for _, ev := range evs {
		switch ev.Kind {
		case topology.KindVTEP:
			if ev.ID != vtepID {
				continue
			}
			if ev.Deleted() {
				m.vtep = nil
			} else {
				m.vtep = ev.Object.(*topology.VTEP)
			}
		case topology.KindBridge:
			if ev.Deleted() {
				delete(m.bridges, ev.ID)
			} else {
				m.bridges[ev.ID] = ev.Object.(*topology.Bridge)
			}
		case topology.KindPort:
			if ev.Deleted() {
				delete(m.ports, ev.ID)
			} else {
				p := ev.Object.(*topology.Port)
				m.ports[ev.ID] = portInfo{name: p.Name, bridge: p.Bridge, host: p.Host, vtep: p.VTEP}
			}
		case topology.KindTunnelZone:
			if ev.Deleted() {
				delete(m.zones, ev.ID)
			} else {
				m.zones[ev.ID] = ev.Object.(*topology.TunnelZone)
			}
		}
	}
}

// bound returns the bridges bound to the VTEP.
func (m *mirror) bound() map[topology.ID]bool {
	out := map[topology.ID]bool{}
	if m.vtep != nil {
		for _, b := range m.vtep.Bindings {
			out[b.Bridge] = true
		}
	}
	return out
}

// switches returns the bound bridges that have a VNI, with it: the
// Logical_Switch rows the VTEP should have.
func (m *mirror) switches() map[topology.ID]uint32 {
	out := map[topology.ID]uint32{}
	for br := range m.bound() {
		if b, ok := m.bridges[br]; ok && b.VNI != 0 {
			out[br] = b.VNI
		}
	}
	return out
}

// needsPrepare reports whether the NSDB lacks a VNI or a VxLAN port that
// the bindings imply, or has a VxLAN port toward the VTEP of a bridge no
// longer bound.
func (m *mirror) needsPrepare() bool {
	if m.vtep == nil {
		return false
	}
	bound := m.bound()
	for br := range bound {
		b, ok := m.bridges[br]
		if !ok {
			continue // a dangling binding: the store clears it
		}
		if _, ok := m.ports[vxgw.PortID(br, m.vtep.ID)]; b.VNI == 0 || !ok {
			return true
		}
	}
	for _, p := range m.ports {
		if p.vtep == m.vtep.ID && !bound[p.bridge] {
			return true
		}
	}
	return false
}

// remoteEntry is one MAC the VTEP should reach through a tunnel.
type remoteEntry struct {
	loc, ip netip.Addr
}

// desiredRemote returns the Ucast_Macs_Remote entries of a bound bridge:
// every MAC of its MAC table on a port bound to a host that is a member of
// the VTEP's tunnel zone, with the member's address as locator and the
// lowest IPv4 address the IPv4-MAC table gives the MAC. MACs on VxLAN
// ports (this VTEP's own, or another VTEP's) and on ports without a host in
// the zone get no entry: the VTEP floods to the flooding proxy for them.
func (m *mirror) desiredRemote(br topology.ID) map[topology.MAC]remoteEntry {
	t := m.tables[br]
	if t == nil || m.vtep == nil {
		return nil
	}
	zone := m.zones[m.vtep.TunnelZone]
	if zone == nil {
		return map[topology.MAC]remoteEntry{}
	}
	out := make(map[topology.MAC]remoteEntry, len(t.macs))
	for mac, port := range t.macs {
		p, ok := m.ports[port]
		if !ok || !p.vtep.IsZero() || p.host.IsZero() || !mac.IsUnicast() {
			continue
		}
		loc, ok := zone.MemberAddr(p.host)
		if !ok {
			continue
		}
		e := remoteEntry{loc: loc}
		for ip := range t.addrs[mac] {
			if !e.ip.IsValid() || ip.Less(e.ip) {
				e.ip = ip
			}
		}
		out[mac] = e
	}
	return out
}

// floodingProxy returns the address of the VTEP's flooding proxy.
func (m *mirror) floodingProxy() (netip.Addr, bool) {
	if m.vtep == nil || m.fp == nil || m.fpZone != m.vtep.TunnelZone {
		return netip.Addr{}, false
	}
	return m.fp.Addr, true
}

// applyMACs folds a MAC table batch into t.
func (t *bridgeTables) applyMACs(evs []nsdb.TableEvent[topology.MAC, topology.ID]) {
	for _, ev := range evs {
		if ev.Deleted {
			delete(t.macs, ev.Key)
		} else {
			t.macs[ev.Key] = ev.Value
		}
	}
	t.macReady = true
}

// applyIPs folds an IPv4-MAC table batch into t.
func (t *bridgeTables) applyIPs(evs []nsdb.TableEvent[netip.Addr, topology.MAC]) {
	for _, ev := range evs {
		if old, ok := t.ips[ev.Key]; ok {
			if s := t.addrs[old]; s != nil {
				delete(s, ev.Key)
				if len(s) == 0 {
					delete(t.addrs, old)
				}
			}
		}
		if ev.Deleted {
			delete(t.ips, ev.Key)
			continue
		}
		t.ips[ev.Key] = ev.Value
		s := t.addrs[ev.Value]
		if s == nil {
			s = map[netip.Addr]struct{}{}
			t.addrs[ev.Value] = s
		}
		s[ev.Key] = struct{}{}
	}
	t.ipReady = true
}
