package neutron

import (
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// CreateFloatingIP adds a floating IP with ID id on an external network:
// its address is allocated unless given, and it is associated with a port
// if f names one.
func (m *Model) CreateFloatingIP(id topology.ID, f FloatingIPFields) (*FloatingIP, error) {
	if _, dup := m.FloatingIPs[id]; dup || id.IsZero() {
		return nil, conflict("FloatingIPExists", "Floating IP %s already exists.", id)
	}
	if f.NetworkID == nil {
		return nil, badRequest("Failed to parse request. Required attribute 'floating_network_id' not specified")
	}
	n, err := m.Network(*f.NetworkID)
	if err != nil {
		return nil, err
	}
	if !n.External {
		return nil, badRequest("Bad floatingip request: Network %s is not a valid external network.", n.ID)
	}
	fip := &FloatingIP{ID: id, NetworkID: n.ID, ProjectID: strOr(f.ProjectID, ""), Description: strOr(f.Description, "")}
	if f.Addr != nil {
		s := m.subnetOf(n.ID, *f.Addr)
		if s == nil {
			return nil, badRequest("Bad floatingip request: Invalid IP address %s: it is in no subnet of network %s.", *f.Addr, n.ID)
		}
		if m.inUse(s, topology.ID{})[*f.Addr] || *f.Addr == s.Gateway {
			return nil, conflict("IpAddressInUse", "Unable to complete operation for network %s. The IP address %s is in use.", n.ID, *f.Addr)
		}
		fip.Addr = *f.Addr
	} else {
		var last error = badRequest("Bad floatingip request: No IPv4 subnet found on external network %s.", n.ID)
		for _, s := range m.SubnetsOf(n.ID) {
			a, err := m.allocate(s, m.inUse(s, topology.ID{}))
			if err == nil {
				fip.Addr, last = a, nil
				break
			}
			last = err
		}
		if last != nil {
			return nil, last
		}
	}
	if f.PortID != nil && !f.PortID.IsZero() {
		if err := m.associate(fip, *f.PortID, f.FixedAddr); err != nil {
			return nil, err
		}
	}
	m.FloatingIPs[id] = fip
	return fip, nil
}

// FloatingIP returns the floating IP with that ID, or a
// FloatingIPNotFound error.
func (m *Model) FloatingIP(id topology.ID) (*FloatingIP, error) {
	if f, ok := m.FloatingIPs[id]; ok {
		return f, nil
	}
	return nil, notFound("FloatingIPNotFound", "Floating IP %s could not be found", id)
}

// UpdateFloatingIP associates the floating IP with a port (or, with the
// zero port ID, disassociates it) and changes its description.
func (m *Model) UpdateFloatingIP(id topology.ID, f FloatingIPFields) (*FloatingIP, error) {
	fip, err := m.FloatingIP(id)
	if err != nil {
		return nil, err
	}
	if f.NetworkID != nil && *f.NetworkID != fip.NetworkID || f.Addr != nil && *f.Addr != fip.Addr {
		return nil, badRequest("Cannot update read-only attribute floating_network_id or floating_ip_address")
	}
	x := *fip
	x.Description = strOr(f.Description, x.Description)
	switch {
	case f.PortID != nil && f.PortID.IsZero():
		x.PortID, x.FixedAddr, x.RouterID = topology.ID{}, netip.Addr{}, topology.ID{}
	case f.PortID != nil:
		if err := m.associate(&x, *f.PortID, f.FixedAddr); err != nil {
			return nil, err
		}
	}
	*fip = x
	return fip, nil
}

// associate maps fip to a fixed IP of port (its first one unless fixed is
// given), through the router that has a gateway on fip's network and an
// interface on the fixed IP's subnet.
func (m *Model) associate(fip *FloatingIP, port topology.ID, fixed *netip.Addr) error {
	p, err := m.Port(port)
	if err != nil {
		return err
	}
	var ip *FixedIP
	for i := range p.FixedIPs {
		if fixed == nil || p.FixedIPs[i].Addr == *fixed {
			ip = &p.FixedIPs[i]
			break
		}
	}
	if ip == nil {
		if fixed == nil {
			return badRequest("Bad floatingip request: Port %s does not have any IP addresses, so a floating IP cannot be associated with it.", p.ID)
		}
		return badRequest("Bad floatingip request: Port %s does not have fixed ip %s.", p.ID, *fixed)
	}
	for _, o := range m.FloatingIPs {
		if o.ID != fip.ID && o.PortID == p.ID && o.FixedAddr == ip.Addr {
			return conflict("FloatingIPPortAlreadyAssociated", "Cannot associate floating IP %s (%s) with port %s using fixed IP %s, as that fixed IP already has a floating IP on external network %s.",
				fip.Addr, fip.ID, p.ID, ip.Addr, o.NetworkID)
		}
	}
	for _, r := range m.SortedRouters() {
		if r.Gateway == nil || r.Gateway.NetworkID != fip.NetworkID {
			continue
		}
		for _, q := range m.Interfaces(r.ID) {
			for _, qip := range q.FixedIPs {
				if qip.SubnetID == ip.SubnetID {
					fip.PortID, fip.FixedAddr, fip.RouterID = p.ID, ip.Addr, r.ID
					return nil
				}
			}
		}
	}
	return notFound("ExternalGatewayForFloatingIPNotFound", "External network %s is not reachable from subnet %s. Therefore, cannot associate Port %s with a Floating IP.",
		fip.NetworkID, ip.SubnetID, p.ID)
}

// DeleteFloatingIP deletes a floating IP.
func (m *Model) DeleteFloatingIP(id topology.ID) error {
	if _, err := m.FloatingIP(id); err != nil {
		return err
	}
	delete(m.FloatingIPs, id)
	return nil
}
