package agent

import (
	"net"
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// Tunnel MTU defaults, the reference's values.
const (
	// DefaultUnderlayMTU is the underlay MTU assumed when none is
	// configured or found.
	DefaultUnderlayMTU = 1500
	// DefaultTunnelOverhead is what VXLAN over IPv4 adds to an inner IP
	// packet: outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14).
	DefaultTunnelOverhead = 50
)

// TunnelMTU returns the largest IP packet this host's overlay tunnels carry
// without fragmenting: the underlay MTU (Config.UnderlayMTU, or the MTU of
// the interface holding the host's tunnel-zone address) minus
// Config.TunnelOverhead. DHCP offers VMs no larger interface MTU. It is
// also published as hivenet_agent_tunnel_mtu.
func (a *Agent) TunnelMTU() uint16 {
	if v := a.tunnelMTU.Load(); v != 0 {
		return uint16(v)
	}
	return uint16(a.tunnelMTUFor(DefaultUnderlayMTU))
}

func (a *Agent) tunnelMTUFor(underlay int) int {
	return min(max(underlay-a.cfg.TunnelOverhead, topology.MinMTU), 65535)
}

// updateTunnelMTU recomputes the tunnel MTU for the host's tunnel-zone
// address in s; the interface is looked up again only when the address
// changes. It runs on the topology goroutine.
func (a *Agent) updateTunnelMTU(s *topology.Snapshot) {
	under := a.cfg.UnderlayMTU
	if under <= 0 {
		addr := localUnderlay(s, a.host)
		if addr == a.underlay && a.tunnelMTU.Load() != 0 {
			return
		}
		a.underlay = addr
		under = DefaultUnderlayMTU
		if n, ifc, ok := interfaceMTU(addr); ok {
			under = n
			a.log.Info("underlay interface found", "addr", addr, "interface", ifc, "mtu", n)
		} else if addr.IsValid() {
			a.log.Info("no local interface holds the underlay address: assuming the default MTU", "addr", addr, "mtu", under)
		}
	}
	mtu := uint32(a.tunnelMTUFor(under))
	if old := a.tunnelMTU.Swap(mtu); old != mtu {
		a.log.Info("tunnel MTU", "mtu", mtu, "underlay_mtu", under, "overhead", a.cfg.TunnelOverhead)
	}
}

// localUnderlay returns this host's address in the first of its tunnel
// zones that lists it.
func localUnderlay(s *topology.Snapshot, host topology.ID) netip.Addr {
	for _, zid := range s.HostZones(host) {
		if z, ok := s.TunnelZone(zid); ok {
			if a, ok := z.MemberAddr(host); ok {
				return a
			}
		}
	}
	return netip.Addr{}
}

// interfaceMTU returns the MTU and name of the local interface holding
// addr.
func interfaceMTU(addr netip.Addr) (int, string, bool) {
	if !addr.IsValid() {
		return 0, "", false
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return 0, "", false
	}
	for _, ifc := range ifs {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, x := range addrs {
			if n, ok := x.(*net.IPNet); ok {
				if a, ok := netip.AddrFromSlice(n.IP); ok && a.Unmap() == addr {
					return ifc.MTU, ifc.Name, true
				}
			}
		}
	}
	return 0, "", false
}
