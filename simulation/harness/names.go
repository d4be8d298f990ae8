package harness

import (
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// VM is the machine behind an exterior bridge port, named after the port.
type VM struct {
	// Name is the port's name.
	Name   string
	Port   topology.ID
	Bridge topology.ID
	// MAC and Addr come from the DHCP host entry of the port's bridge named
	// after the port. Without one, MAC is topofile.DefaultMAC of the port
	// and Addr is invalid.
	MAC  topology.MAC
	Addr netip.Addr
}

// VMs returns the VMs of a snapshot, one per exterior bridge port (VTEP
// ports excluded), sorted by port ID.
func VMs(s *topology.Snapshot) []VM {
	hosts := map[topology.ID]map[string]topology.DHCPHost{}
	for o := range s.Objects(topology.KindDHCPSubnet) {
		d := o.(*topology.DHCPSubnet)
		if hosts[d.Bridge] == nil {
			hosts[d.Bridge] = map[string]topology.DHCPHost{}
		}
		for _, h := range d.Hosts {
			hosts[d.Bridge][h.Name] = h
		}
	}
	vms := make([]VM, 0, s.Len(topology.KindPort))
	for o := range s.Objects(topology.KindPort) {
		p := o.(*topology.Port)
		if p.IsRouterPort() || p.Kind() != topology.PortExterior || !p.VTEP.IsZero() {
			continue
		}
		v := VM{Name: p.Name, Port: p.ID, Bridge: p.Bridge, MAC: topofile.DefaultMAC(p.ID)}
		if h, ok := hosts[p.Bridge][p.Name]; ok {
			v.MAC, v.Addr = h.MAC, h.Addr
		}
		vms = append(vms, v)
	}
	return vms
}

// names indexes a snapshot's objects by name and kind, and the other way.
type names struct {
	ids   map[topology.Kind]map[string]topology.ID
	names map[topology.ID]string
}

func newNames(s *topology.Snapshot) *names {
	total := 0
	for _, k := range topology.Kinds() {
		total += s.Len(k)
	}
	// Sized up front: 100,000 ports would rehash them a dozen times.
	n := &names{ids: map[topology.Kind]map[string]topology.ID{}, names: make(map[topology.ID]string, total)}
	for _, k := range topology.Kinds() {
		for o := range s.Objects(k) {
			name := o.ObjectName()
			if name == "" {
				continue
			}
			if n.ids[k] == nil {
				n.ids[k] = make(map[string]topology.ID, s.Len(k))
			}
			n.ids[k][name] = o.ObjectID()
			n.names[o.ObjectID()] = name
		}
	}
	return n
}

// id returns the ID of the object of kind k named name.
func (n *names) id(k topology.Kind, name string) (topology.ID, error) {
	if id, ok := n.ids[k][name]; ok {
		return id, nil
	}
	return topology.ID{}, fmt.Errorf("%w: no %v named %q", ErrUnknownName, k, name)
}

// name returns an object's name, or its ID as text when it has none.
func (n *names) name(id topology.ID) string {
	if s, ok := n.names[id]; ok {
		return s
	}
	if id.IsZero() {
		return ""
	}
	return id.String()
}
