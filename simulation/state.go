package simulation

import (
	"net/netip"
	"time"

	"github.com/hivenet/hivenet/topology"
)

// State is the simulator's read view of the replicated state tables and of
// port liveness. The agent adapts its NSDB tables to it; tests use MapState.
// Implementations are called from the simulating goroutine and must not
// block; they must not allocate on lookups if simulation is to stay
// allocation-free.
type State interface {
	// MACPort returns the port the bridge's MAC table maps vlan/mac to.
	MACPort(bridge topology.ID, vlan uint16, mac topology.MAC) (topology.ID, bool)
	// IP4MAC returns the MAC the bridge's IPv4-MAC table maps ip to.
	IP4MAC(bridge topology.ID, ip netip.Addr) (topology.MAC, bool)
	// ARPEntry reports whether the router's ARP table has an entry for ip,
	// and if so stores it in *e. The entry is returned through a pointer
	// because a 56-byte result goes through the stack twice (the callee's
	// result slot, then the caller's variable), and the second copy's wide
	// loads wait for the first copy's stores to reach the cache.
	ARPEntry(router topology.ID, ip netip.Addr, e *ARPEntry) bool
	// PortActive reports whether an exterior port is bound and active on
	// some host (its routes are published).
	PortActive(port topology.ID) bool
}

// ARPEntry is a router's ARP-table entry. A zero Stale or Expiry time means
// "never".
type ARPEntry struct {
	MAC topology.MAC
	// Stale is when the entry should be refreshed; it is still used.
	Stale time.Time
	// Expiry is when the entry stops being used.
	Expiry time.Time
}

// expired reports whether e is no longer usable at now.
func (e *ARPEntry) expired(now time.Time) bool {
	return !e.Expiry.IsZero() && !now.Before(e.Expiry)
}

// stale reports whether e should be refreshed at now.
func (e *ARPEntry) stale(now time.Time) bool {
	return !e.Stale.IsZero() && !now.Before(e.Stale)
}

// emptyState is the State of an Input without one: every table empty, no
// port active.
type emptyState struct{}

func (emptyState) MACPort(topology.ID, uint16, topology.MAC) (topology.ID, bool) {
	return topology.ID{}, false
}
func (emptyState) IP4MAC(topology.ID, netip.Addr) (topology.MAC, bool) { return topology.MAC{}, false }
func (emptyState) ARPEntry(topology.ID, netip.Addr, *ARPEntry) bool    { return false }
func (emptyState) PortActive(topology.ID) bool                         { return false }

// MapState is a map-based State for tests, tools and simple harnesses:
// MAC tables, IPv4-MAC tables, ARP tables and port liveness, without
// expiry or reference counting. The zero value is not usable; call
// NewMapState. It is not safe for concurrent use with writes.
type MapState struct {
	macs    keyTable[topology.ID]
	ip4macs keyTable[topology.MAC]
	arp     keyTable[ARPEntry]
	active  map[topology.ID]bool
}

// NewMapState returns an empty MapState.
func NewMapState() *MapState {
	return &MapState{active: make(map[topology.ID]bool)}
}

// MACPort implements State.
func (s *MapState) MACPort(bridge topology.ID, vlan uint16, mac topology.MAC) (topology.ID, bool) {
	if i := s.macs.find(macTableKey(bridge, vlan, mac)); i >= 0 {
		return s.macs.vals[i], true
	}
	return topology.ID{}, false
}

// IP4MAC implements State.
func (s *MapState) IP4MAC(bridge topology.ID, ip netip.Addr) (topology.MAC, bool) {
	if i := s.ip4macs.find(addrTableKey(bridge, ip)); i >= 0 {
		return s.ip4macs.vals[i], true
	}
	return topology.MAC{}, false
}

// ARPEntry implements State.
func (s *MapState) ARPEntry(router topology.ID, ip netip.Addr, e *ARPEntry) bool {
	if i := s.arp.find(addrTableKey(router, ip)); i >= 0 {
		*e = s.arp.vals[i]
		return true
	}
	return false
}

// PortActive implements State.
func (s *MapState) PortActive(port topology.ID) bool { return s.active[port] }

// LearnMAC maps vlan/mac to port in bridge's MAC table.
func (s *MapState) LearnMAC(bridge topology.ID, vlan uint16, mac topology.MAC, port topology.ID) {
	s.macs.put(macTableKey(bridge, vlan, mac), port)
}

// ForgetMAC removes vlan/mac from bridge's MAC table.
func (s *MapState) ForgetMAC(bridge topology.ID, vlan uint16, mac topology.MAC) {
	s.macs.delete(macTableKey(bridge, vlan, mac))
}

// SetIP4MAC maps ip to mac in bridge's IPv4-MAC table.
func (s *MapState) SetIP4MAC(bridge topology.ID, ip netip.Addr, mac topology.MAC) {
	s.ip4macs.put(addrTableKey(bridge, ip), mac)
}

// SetARP stores a router ARP entry that never goes stale or expires.
func (s *MapState) SetARP(router topology.ID, ip netip.Addr, mac topology.MAC) {
	s.SetARPEntry(router, ip, ARPEntry{MAC: mac})
}

// SetARPEntry stores a router ARP entry.
func (s *MapState) SetARPEntry(router topology.ID, ip netip.Addr, e ARPEntry) {
	s.arp.put(addrTableKey(router, ip), e)
}

// DeleteARP removes a router ARP entry.
func (s *MapState) DeleteARP(router topology.ID, ip netip.Addr) {
	s.arp.delete(addrTableKey(router, ip))
}

// SetActive marks an exterior port active or inactive.
func (s *MapState) SetActive(port topology.ID, active bool) { s.active[port] = active }

// Apply performs the state writes a simulation requested: MAC learnings,
// ARP-table and IPv4-MAC-table writes (without reference counting or
// expiry).
func (s *MapState) Apply(r *Result) {
	for _, l := range r.Learned {
		s.LearnMAC(l.Bridge, l.VLAN, l.MAC, l.Port)
	}
	for _, w := range r.ARPWrites {
		s.SetARP(w.Router, w.IP, w.MAC)
	}
	for _, w := range r.IP4MACWrites {
		s.SetIP4MAC(w.Bridge, w.IP, w.MAC)
	}
}
