package neutron

import (
	"net/netip"
	"slices"

	"github.com/hivenet/hivenet/topology"
)

// DefaultMTU is a network's MTU when the request gives none: a 1500-byte
// underlay less the VXLAN overhead.
const DefaultMTU = 1450

// CreateNetwork adds a network with ID id.
func (m *Model) CreateNetwork(id topology.ID, f NetworkFields) (*Network, error) {
	if _, dup := m.Networks[id]; dup || id.IsZero() {
		return nil, conflict("NetworkExists", "Network %s already exists.", id)
	}
	n := &Network{ID: id, MTU: DefaultMTU}
	if err := n.apply(f); err != nil {
		return nil, err
	}
	n.ProjectID = strOr(f.ProjectID, "")
	m.Networks[id] = n
	return n, nil
}

func (n *Network) apply(f NetworkFields) error {
	n.Name = strOr(f.Name, n.Name)
	n.Description = strOr(f.Description, n.Description)
	n.AdminDown = !boolOr(f.AdminStateUp, !n.AdminDown)
	n.Shared = boolOr(f.Shared, n.Shared)
	n.External = boolOr(f.External, n.External)
	n.NoPortSecurity = !boolOr(f.PortSecurity, !n.NoPortSecurity)
	if f.MTU != nil {
		if *f.MTU < 68 || *f.MTU > 9000 {
			return invalidInput("'%d' is not a valid MTU (68-9000).", *f.MTU)
		}
		n.MTU = *f.MTU
	}
	return nil
}

// Network returns the network with that ID, or a NetworkNotFound error.
func (m *Model) Network(id topology.ID) (*Network, error) {
	if n, ok := m.Networks[id]; ok {
		return n, nil
	}
	return nil, notFound("NetworkNotFound", "Network %s could not be found.", id)
}

// UpdateNetwork changes the fields f gives.
func (m *Model) UpdateNetwork(id topology.ID, f NetworkFields) (*Network, error) {
	n, err := m.Network(id)
	if err != nil {
		return nil, err
	}
	if f.External != nil && !*f.External && n.External && m.externalInUse(id) {
		return nil, conflict("ExternalNetworkInUse", "External network %s cannot be updated to be non-external, since it has existing gateway ports or floating IPs.", id)
	}
	x := *n
	if err := x.apply(f); err != nil {
		return nil, err
	}
	*n = x
	return n, nil
}

func (m *Model) externalInUse(network topology.ID) bool {
	for _, r := range m.Routers {
		if r.Gateway != nil && r.Gateway.NetworkID == network {
			return true
		}
	}
	for _, f := range m.FloatingIPs {
		if f.NetworkID == network {
			return true
		}
	}
	return false
}

// DeleteNetwork deletes a network with its subnets and DHCP ports; ports
// and floating IPs on it keep it in use.
func (m *Model) DeleteNetwork(id topology.ID) error {
	if _, err := m.Network(id); err != nil {
		return err
	}
	inUse := slices.ContainsFunc(m.PortsOf(id), func(p *Port) bool { return p.DeviceOwner != OwnerDHCP })
	for _, f := range m.FloatingIPs {
		inUse = inUse || f.NetworkID == id
	}
	if inUse {
		return conflict("NetworkInUse", "Unable to complete operation on network %s. There are one or more ports still in use on the network.", id)
	}
	for _, p := range m.PortsOf(id) {
		delete(m.Ports, p.ID)
	}
	for _, s := range m.SubnetsOf(id) {
		delete(m.Subnets, s.ID)
	}
	delete(m.Networks, id)
	return nil
}

// CreateSubnet adds an IPv4 subnet with ID id.
func (m *Model) CreateSubnet(id topology.ID, f SubnetFields) (*Subnet, error) {
	if _, dup := m.Subnets[id]; dup || id.IsZero() {
		return nil, conflict("SubnetExists", "Subnet %s already exists.", id)
	}
	if f.NetworkID == nil {
		return nil, badRequest("Failed to parse request. Required attribute 'network_id' not specified")
	}
	n, err := m.Network(*f.NetworkID)
	if err != nil {
		return nil, err
	}
	if f.IPVersion != nil && *f.IPVersion != 4 {
		return nil, invalidInput("ip_version %d is not supported: hivenet networks are IPv4.", *f.IPVersion)
	}
	if f.SubnetPoolID != nil || f.IPv6Modes != nil {
		return nil, badRequest("Subnet pools and IPv6 address modes are not supported.")
	}
	if f.CIDR == nil {
		return nil, badRequest("Bad subnets request: a subnetpool must be specified in the absence of a cidr.")
	}
	cidr := f.CIDR.Masked()
	if !cidr.Addr().Is4() {
		return nil, invalidInput("'%s' is not an IPv4 subnet: hivenet networks are IPv4.", *f.CIDR)
	}
	for _, o := range m.SubnetsOf(n.ID) {
		if o.CIDR.Overlaps(cidr) {
			return nil, badRequest("Invalid input for operation: Requested subnet with cidr: %s for network: %s overlaps with another subnet.", cidr, n.ID)
		}
	}
	s := &Subnet{ID: id, NetworkID: n.ID, CIDR: cidr, ProjectID: strOr(f.ProjectID, n.ProjectID)}
	if f.Gateway == nil {
		s.Gateway, _ = hostRange(cidr)
	}
	if err := m.applySubnet(s, f); err != nil {
		return nil, err
	}
	m.Subnets[id] = s
	return s, nil
}

func (m *Model) applySubnet(s *Subnet, f SubnetFields) error {
	s.Name = strOr(f.Name, s.Name)
	s.Description = strOr(f.Description, s.Description)
	if f.Gateway != nil {
		s.Gateway = *f.Gateway
	}
	s.DHCPDisabled = !boolOr(f.EnableDHCP, !s.DHCPDisabled)
	if f.DNS != nil {
		s.DNS = slices.Clone(*f.DNS)
	}
	if f.HostRoutes != nil {
		s.HostRoutes = slices.Clone(*f.HostRoutes)
	}
	switch {
	case f.Pools != nil:
		s.Pools = slices.Clone(*f.Pools)
	case s.Pools == nil:
		s.Pools = defaultPools(s.CIDR, s.Gateway)
	}
	return checkSubnetAddrs(s)
}

// Subnet returns the subnet with that ID, or a SubnetNotFound error.
func (m *Model) Subnet(id topology.ID) (*Subnet, error) {
	if s, ok := m.Subnets[id]; ok {
		return s, nil
	}
	return nil, notFound("SubnetNotFound", "Subnet %s could not be found.", id)
}

// UpdateSubnet changes the fields f gives; the network, CIDR and IP
// version are fixed.
func (m *Model) UpdateSubnet(id topology.ID, f SubnetFields) (*Subnet, error) {
	s, err := m.Subnet(id)
	if err != nil {
		return nil, err
	}
	if f.NetworkID != nil && *f.NetworkID != s.NetworkID || f.CIDR != nil && f.CIDR.Masked() != s.CIDR ||
		f.IPVersion != nil && *f.IPVersion != 4 {
		return nil, badRequest("Cannot update read-only attribute network_id, cidr or ip_version")
	}
	if f.Gateway != nil && *f.Gateway != s.Gateway {
		for _, p := range m.Ports {
			if p.DeviceOwner == OwnerRouterInterface && slices.Contains(p.FixedIPs, FixedIP{s.ID, s.Gateway}) {
				return nil, conflict("SubnetInUse", "Unable to complete operation on subnet %s: Gateway ip %s is used by router interface port %s.", id, s.Gateway, p.ID)
			}
		}
	}
	x := *s
	if err := m.applySubnet(&x, f); err != nil {
		return nil, err
	}
	*s = x
	return s, nil
}

// DeleteSubnet deletes a subnet no port or floating IP uses (DHCP ports
// lose their address on it).
func (m *Model) DeleteSubnet(id topology.ID) error {
	s, err := m.Subnet(id)
	if err != nil {
		return err
	}
	for _, p := range m.SortedPorts() {
		if p.DeviceOwner != OwnerDHCP && slices.ContainsFunc(p.FixedIPs, func(ip FixedIP) bool { return ip.SubnetID == id }) {
			return conflict("SubnetInUse", "Unable to complete operation on subnet %s: One or more ports have an IP allocation from this subnet.", id)
		}
	}
	for _, f := range m.FloatingIPs {
		if f.NetworkID == s.NetworkID && s.CIDR.Contains(f.Addr) {
			return conflict("SubnetInUse", "Unable to complete operation on subnet %s: Floating IP %s is allocated from this subnet.", id, f.Addr)
		}
	}
	for _, p := range m.PortsOf(s.NetworkID) {
		p.FixedIPs = slices.DeleteFunc(p.FixedIPs, func(ip FixedIP) bool { return ip.SubnetID == id })
	}
	delete(m.Subnets, id)
	return nil
}

// subnetOf returns the subnet of network that holds addr.
func (m *Model) subnetOf(network topology.ID, addr netip.Addr) *Subnet {
	for _, s := range m.SubnetsOf(network) {
		if s.CIDR.Contains(addr) {
			return s
		}
	}
	return nil
}
