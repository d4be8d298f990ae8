package dhcp

import (
	"bytes"

	"github.com/hivenet/hivenet/topology"
)

// Table is the DHCP configuration of a topology indexed by bridge and
// client MAC: the static host entries of every enabled DHCP subnet. It is
// immutable and safe for concurrent use; build one per topology snapshot
// (the agent rebuilds it only when DHCP subnets change).
type Table struct {
	hosts   map[hostKey]entry
	bridges map[topology.ID]struct{}
}

type hostKey struct {
	bridge topology.ID
	mac    topology.MAC
}

type entry struct {
	subnet *topology.DHCPSubnet
	host   *topology.DHCPHost
}

// NewTable indexes the enabled DHCP subnets of s. When several subnets of
// one bridge have an entry for the same MAC, the subnet with the lowest ID
// serves it.
func NewTable(s *topology.Snapshot) *Table {
	t := &Table{hosts: map[hostKey]entry{}, bridges: map[topology.ID]struct{}{}}
	if s == nil {
		return t
	}
	for o := range s.Objects(topology.KindDHCPSubnet) {
		d, ok := o.(*topology.DHCPSubnet)
		if !ok || d.Disabled {
			continue
		}
		t.bridges[d.Bridge] = struct{}{}
		for i := range d.Hosts {
			h := &d.Hosts[i]
			k := hostKey{d.Bridge, h.MAC}
			if e, ok := t.hosts[k]; ok && bytes.Compare(e.subnet.ID[:], d.ID[:]) < 0 {
				continue
			}
			t.hosts[k] = entry{subnet: d, host: h}
		}
	}
	return t
}

// Lookup returns the subnet and host entry serving mac on bridge.
func (t *Table) Lookup(bridge topology.ID, mac topology.MAC) (*topology.DHCPSubnet, *topology.DHCPHost, bool) {
	if t == nil {
		return nil, nil, false
	}
	e, ok := t.hosts[hostKey{bridge, mac}]
	return e.subnet, e.host, ok
}

// Serves reports whether bridge has an enabled DHCP subnet.
func (t *Table) Serves(bridge topology.ID) bool {
	if t == nil {
		return false
	}
	_, ok := t.bridges[bridge]
	return ok
}

// Len returns the number of host entries served.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.hosts)
}
