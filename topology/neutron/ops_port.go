package neutron

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"

	"github.com/hivenet/hivenet/topology"
)

// CreatePort adds a port with ID id: its MAC and fixed IPs are allocated
// unless given; a VM port with port security and no security groups given
// gets its project's default group (made on first use).
func (m *Model) CreatePort(id topology.ID, f PortFields) (*Port, error) {
	if _, dup := m.Ports[id]; dup || id.IsZero() {
		return nil, conflict("PortExists", "Port %s already exists.", id)
	}
	if f.NetworkID == nil {
		return nil, badRequest("Failed to parse request. Required attribute 'network_id' not specified")
	}
	n, err := m.Network(*f.NetworkID)
	if err != nil {
		return nil, err
	}
	p := &Port{ID: id, NetworkID: n.ID, ProjectID: strOr(f.ProjectID, n.ProjectID), NoPortSecurity: n.NoPortSecurity}
	if f.MAC == nil {
		p.MAC = m.newMAC(n.ID)
	}
	if err := m.applyPort(p, f, true); err != nil {
		return nil, err
	}
	if f.SecurityGroups == nil && !p.NoPortSecurity && p.IsVM() {
		p.SecurityGroups = []topology.ID{m.defaultGroup(p.ProjectID).ID}
	}
	m.Ports[id] = p
	return p, nil
}

// applyPort applies f to p, checking the result against the model.
func (m *Model) applyPort(p *Port, f PortFields, create bool) error {
	p.Name = strOr(f.Name, p.Name)
	p.Description = strOr(f.Description, p.Description)
	p.AdminDown = !boolOr(f.AdminStateUp, !p.AdminDown)
	p.DeviceOwner = strOr(f.DeviceOwner, p.DeviceOwner)
	p.DeviceID = strOr(f.DeviceID, p.DeviceID)
	p.Host = strOr(f.Host, p.Host)
	if f.Profile != nil {
		var prof map[string]any
		if len(*f.Profile) > 0 && string(*f.Profile) != "null" && json.Unmarshal(*f.Profile, &prof) != nil {
			return invalidInput("binding:profile must be a dictionary.")
		}
		p.Profile = nil
		if len(prof) > 0 {
			p.Profile = slices.Clone(*f.Profile)
		}
	}
	if f.MAC != nil {
		if !f.MAC.IsUnicast() {
			return invalidInput("'%s' is not a valid MAC address.", *f.MAC)
		}
		if m.macTaken(p.NetworkID, *f.MAC, p.ID) {
			return conflict("MacAddressInUse", "Unable to complete operation for network %s. The mac address %s is in use.", p.NetworkID, *f.MAC)
		}
		p.MAC = *f.MAC
	}
	if create || f.FixedIPs != nil {
		ips, err := m.assignIPs(p.NetworkID, p.ID, f.FixedIPs)
		if err != nil {
			return err
		}
		p.FixedIPs = ips
	}
	if f.SecurityGroups != nil {
		p.SecurityGroups = nil
		for _, g := range *f.SecurityGroups {
			if _, ok := m.SecurityGroups[g]; !ok {
				return notFound("SecurityGroupNotFound", "Security group %s does not exist", g)
			}
			if !slices.Contains(p.SecurityGroups, g) {
				p.SecurityGroups = append(p.SecurityGroups, g)
			}
		}
	}
	if f.AllowedPairs != nil {
		p.AllowedPairs = nil
		for _, a := range *f.AllowedPairs {
			if !a.Prefix.Addr().Is4() {
				return invalidInput("Allowed address pair %s is not IPv4.", a.Prefix)
			}
			if !a.MAC.IsZero() && !a.MAC.IsUnicast() {
				return invalidInput("'%s' is not a valid MAC address.", a.MAC)
			}
			p.AllowedPairs = append(p.AllowedPairs, AddressPair{Prefix: a.Prefix.Masked(), MAC: a.MAC})
		}
	}
	if f.PortSecurity != nil {
		if !*f.PortSecurity && len(p.SecurityGroups) > 0 {
			if create || f.SecurityGroups != nil {
				return invalidInput("Port security must be enabled and port must have an IP address in order to use security groups.")
			}
			return conflict("PortSecurityPortHasSecurityGroup", "Port has security group associated. Cannot disable port security or ip address until security group is removed")
		}
		p.NoPortSecurity = !*f.PortSecurity
	}
	if p.NoPortSecurity && len(p.AllowedPairs) > 0 {
		return conflict("AddressPairAndPortSecurityRequired", "Port Security must be enabled in order to have allowed address pairs on a port.")
	}
	if p.NoPortSecurity && len(p.SecurityGroups) > 0 {
		return invalidInput("Port security must be enabled and port must have an IP address in order to use security groups.")
	}
	return nil
}

// Port returns the port with that ID, or a PortNotFound error.
func (m *Model) Port(id topology.ID) (*Port, error) {
	if p, ok := m.Ports[id]; ok {
		return p, nil
	}
	return nil, notFound("PortNotFound", "Port %s could not be found.", id)
}

// UpdatePort changes the fields f gives; the network is fixed.
func (m *Model) UpdatePort(id topology.ID, f PortFields) (*Port, error) {
	p, err := m.Port(id)
	if err != nil {
		return nil, err
	}
	if f.NetworkID != nil && *f.NetworkID != p.NetworkID {
		return nil, badRequest("Cannot update read-only attribute network_id")
	}
	x := *p
	x.FixedIPs, x.SecurityGroups, x.AllowedPairs = slices.Clone(p.FixedIPs), slices.Clone(p.SecurityGroups), slices.Clone(p.AllowedPairs)
	if err := m.applyPort(&x, f, false); err != nil {
		return nil, err
	}
	if f.FixedIPs != nil {
		if err := m.checkFloatingTargets(&x); err != nil {
			return nil, err
		}
	}
	*p = x
	return p, nil
}

// checkFloatingTargets refuses to take away a fixed IP a floating IP maps
// to.
func (m *Model) checkFloatingTargets(p *Port) error {
	for _, f := range m.FloatingIPs {
		if f.PortID == p.ID && !slices.ContainsFunc(p.FixedIPs, func(ip FixedIP) bool { return ip.Addr == f.FixedAddr }) {
			return conflict("FloatingIPPortAlreadyAssociated", "Cannot remove fixed IP %s of port %s: floating IP %s maps to it.", f.FixedAddr, p.ID, f.Addr)
		}
	}
	return nil
}

// DeletePort deletes a port through the port API: router interface and
// gateway ports go with their router's interface or gateway instead.
// Floating IPs mapped to the port are disassociated.
func (m *Model) DeletePort(id topology.ID) error {
	p, err := m.Port(id)
	if err != nil {
		return err
	}
	if p.DeviceOwner == OwnerRouterInterface || p.DeviceOwner == OwnerRouterGateway {
		return conflict("L3PortInUse", "Port %s has owner %s and therefore cannot be deleted directly via the port API.", id, p.DeviceOwner)
	}
	m.removePort(id)
	return nil
}

// removePort deletes a port and disassociates its floating IPs.
func (m *Model) removePort(id topology.ID) {
	for _, f := range m.FloatingIPs {
		if f.PortID == id {
			f.PortID, f.FixedAddr, f.RouterID = topology.ID{}, netip.Addr{}, topology.ID{}
		}
	}
	delete(m.Ports, id)
}

// RouterOwner reports whether the port is owned by a router (an
// interface or a gateway), and which.
func (p *Port) RouterOwner() (topology.ID, bool) {
	if p.DeviceOwner != OwnerRouterInterface && p.DeviceOwner != OwnerRouterGateway {
		return topology.ID{}, false
	}
	id, err := topology.ParseID(strings.TrimSpace(p.DeviceID))
	return id, err == nil
}
