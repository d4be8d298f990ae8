package agent

import (
	"context"
	"net/netip"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// Underlay admission: the agent takes tunnelled packets only from the
// underlay addresses of the hosts that share a tunnel zone with it, on the
// overlay port of that zone's encapsulation. Everything else is dropped and
// counted by reason:
//
//   - dropTunnelSource: the outer source is not such an address (a forged
//     or misrouted datagram); the flow installed for it drops everything
//     that address tunnels in, whatever the key.
//   - dropForeignTunnel: a member sent a key that names a port bound on
//     another host (stale flows after a migration, or a misbehaving peer).
//   - dropUnknownTunnel: a member sent a key nobody announced.
//
// The flows delivering tunnelled packets match the outer source address
// besides the in-port and the key (translate.TunnelMask), so the check
// costs nothing per packet once a flow is installed: a packet from another
// source misses the flow and comes up. Every such flow carries the
// TagTunnelSource of its sender, invalidated when the address joins or
// leaves the zones this host shares.

// admitKey is an overlay port and an outer source address.
type admitKey struct {
	port datapath.PortNumber
	addr netip.Addr
}

// admission maps each (overlay port, source) the agent accepts tunnelled
// packets from to the member host with that address.
type admission map[admitKey]topology.ID

// zonePort returns the overlay port of z's encapsulation, if the datapath
// has it.
func zonePort(z *topology.TunnelZone, vxlan, gre datapath.PortNumber, hasGRE bool) (datapath.PortNumber, bool) {
	switch {
	case z.Type == topology.TunnelZoneVXLAN && vxlan != 0:
		return vxlan, true
	case z.Type == topology.TunnelZoneGRE && hasGRE:
		return gre, true
	}
	return 0, false
}

// admitted computes the admission of host self: the addresses of the
// other members of every tunnel zone self belongs to, on the overlay port
// of the zone's encapsulation.
func admitted(s *topology.Snapshot, self topology.ID, vxlan, gre datapath.PortNumber, hasGRE bool) admission {
	ad := make(admission)
	for _, zid := range s.HostZones(self) {
		z, ok := s.TunnelZone(zid)
		if !ok {
			continue
		}
		port, ok := zonePort(z, vxlan, gre, hasGRE)
		if !ok {
			continue
		}
		if _, ok := z.MemberAddr(self); !ok {
			continue
		}
		for _, m := range z.Members {
			if m.Host != self && m.Addr.IsValid() {
				ad[admitKey{port, m.Addr.Unmap()}] = m.Host
			}
		}
	}
	return ad
}

// admissionTags returns the TagTunnelSource of every address admitted on
// some port in one admission and not the same way in the other.
func admissionTags(old, cur admission) []simulation.Tag {
	var tags []simulation.Tag
	for k, h := range old {
		if nh, ok := cur[k]; !ok || nh != h {
			tags = append(tags, simulation.TagTunnelSource(k.addr))
		}
	}
	for k := range cur {
		if _, ok := old[k]; !ok {
			tags = append(tags, simulation.TagTunnelSource(k.addr))
		}
	}
	return tags
}

// admits reports whether the world accepts packets tunnelled in on port
// from src.
func (wd *world) admits(port datapath.PortNumber, src netip.Addr) bool {
	_, ok := wd.admit[admitKey{port, src.Unmap()}]
	return ok
}

// refuseSource drops a packet tunnelled in from a source the agent does
// not admit, and installs a short flow dropping everything that source
// tunnels in on that port.
func (w *worker) refuseSource(ctx context.Context, u *datapath.Upcall) {
	a := w.a
	a.m.drop(dropTunnelSource)
	src := u.Key.Tunnel.Src.Unmap()
	a.log.Debug("tunnelled packet from a non-member dropped", "src", src, "key", u.Key.Tunnel.ID, "in_port", u.Key.InPort)
	e := &flowEntry{tunnel: tunnelSource, tags: []simulation.Tag{simulation.TagTunnelSource(src)}, class: ClassShort}
	a.install(ctx, e, &u.Key, a.flows.begin(), a.now(), &w.req)
}

// unknownKeyReason names the drop of a packet a member tunnelled in with a
// key no local port has: the key of a port bound elsewhere, or unknown.
func (a *Agent) unknownKeyReason(snap *topology.Snapshot, key uint32) string {
	if a.active.hasKey(snap, key, a.host) {
		return dropForeignTunnel
	}
	return dropUnknownTunnel
}

// hasKey reports whether a port active on a host other than self has
// tunnel key key (announced, or kept in the port object).
func (am *activeMap) hasKey(snap *topology.Snapshot, key uint32, self topology.ID) bool {
	am.mu.RLock()
	defer am.mu.RUnlock()
	for id, st := range am.m {
		if st.Host == self {
			continue
		}
		k := st.TunnelKey
		if k == 0 {
			if p, ok := snap.Port(id); ok {
				k = p.TunnelKey
			}
		}
		if k == key {
			return true
		}
	}
	return false
}
