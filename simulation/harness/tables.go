package harness

import (
	"net/netip"

	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

type macKey struct {
	bridge topology.ID
	vlan   uint16
	mac    topology.MAC
}

type ipKey struct {
	dev topology.ID
	ip  netip.Addr
}

// tables is the harness's simulation.State: MAC, IPv4-MAC and ARP tables
// and port liveness, without expiry or reference counting.
type tables struct {
	macs    map[macKey]topology.ID
	ip4macs map[ipKey]topology.MAC
	arp     map[ipKey]simulation.ARPEntry
	active  map[topology.ID]bool
}

var _ simulation.State = (*tables)(nil)

func newTables() *tables {
	return &tables{
		macs:    map[macKey]topology.ID{},
		ip4macs: map[ipKey]topology.MAC{},
		arp:     map[ipKey]simulation.ARPEntry{},
		active:  map[topology.ID]bool{},
	}
}

func (t *tables) MACPort(bridge topology.ID, vlan uint16, mac topology.MAC) (topology.ID, bool) {
	p, ok := t.macs[macKey{bridge, vlan, mac}]
	return p, ok
}

func (t *tables) IP4MAC(bridge topology.ID, ip netip.Addr) (topology.MAC, bool) {
	m, ok := t.ip4macs[ipKey{bridge, ip}]
	return m, ok
}

func (t *tables) ARPEntry(router topology.ID, ip netip.Addr, e *simulation.ARPEntry) bool {
	v, ok := t.arp[ipKey{router, ip}]
	if ok {
		*e = v
	}
	return ok
}

func (t *tables) PortActive(port topology.ID) bool { return t.active[port] }

// apply performs the state writes a simulation requested.
func (t *tables) apply(r *simulation.Result) {
	for _, l := range r.Learned {
		t.macs[macKey{l.Bridge, l.VLAN, l.MAC}] = l.Port
	}
	for _, w := range r.ARPWrites {
		t.arp[ipKey{w.Router, w.IP}] = simulation.ARPEntry{MAC: w.MAC}
	}
	for _, w := range r.IP4MACWrites {
		t.ip4macs[ipKey{w.Bridge, w.IP}] = w.MAC
	}
}
