package neutron

import (
	"slices"

	"github.com/hivenet/hivenet/topology"
)

// CreateRouter adds a router with ID id (with its gateway port, if f
// gives a gateway).
func (m *Model) CreateRouter(id topology.ID, f RouterFields) (*Router, error) {
	if _, dup := m.Routers[id]; dup || id.IsZero() {
		return nil, conflict("RouterExists", "Router %s already exists.", id)
	}
	err := m.atomically(func(c *Model) error {
		c.Routers[id] = &Router{ID: id, ProjectID: strOr(f.ProjectID, "")}
		_, err := c.updateRouter(id, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m.Routers[id], nil
}

// Router returns the router with that ID, or a RouterNotFound error.
func (m *Model) Router(id topology.ID) (*Router, error) {
	if r, ok := m.Routers[id]; ok {
		return r, nil
	}
	return nil, notFound("RouterNotFound", "Router %s could not be found", id)
}

// UpdateRouter changes the fields f gives: setting, changing or clearing
// the gateway makes or removes its port on the external network.
func (m *Model) UpdateRouter(id topology.ID, f RouterFields) (*Router, error) {
	var r *Router
	err := m.atomically(func(c *Model) error {
		var err error
		r, err = c.updateRouter(id, f)
		return err
	})
	return r, err
}

func (m *Model) updateRouter(id topology.ID, f RouterFields) (*Router, error) {
	r, err := m.Router(id)
	if err != nil {
		return nil, err
	}
	r.Name = strOr(f.Name, r.Name)
	r.Description = strOr(f.Description, r.Description)
	r.AdminDown = !boolOr(f.AdminStateUp, !r.AdminDown)
	if f.Gateway != nil {
		if err := m.setGateway(r, *f.Gateway); err != nil {
			return nil, err
		}
	}
	if f.Routes != nil {
		for _, rt := range *f.Routes {
			if !rt.Destination.Addr().Is4() || !m.routerReaches(r, rt) {
				return nil, &Error{Class: ErrBadRequest, Type: "InvalidRoutes",
					Message: "Invalid format for routes: " + rt.Destination.String() + " via " + rt.NextHop.String() + ", the nexthop does not belong to router's subnets"}
			}
		}
		r.Routes = slices.Clone(*f.Routes)
	}
	return r, nil
}

// routerReaches reports whether a route's next hop is on a subnet of one
// of the router's ports.
func (m *Model) routerReaches(r *Router, rt Route) bool {
	for _, p := range m.routerPorts(r) {
		for _, ip := range p.FixedIPs {
			if s := m.Subnets[ip.SubnetID]; s != nil && s.CIDR.Contains(rt.NextHop) && ip.Addr != rt.NextHop {
				return true
			}
		}
	}
	return false
}

// routerPorts returns a router's interface ports and its gateway port.
func (m *Model) routerPorts(r *Router) []*Port {
	ps := m.Interfaces(r.ID)
	if r.Gateway != nil {
		if gp := m.Ports[r.Gateway.PortID]; gp != nil {
			ps = append(ps, gp)
		}
	}
	return ps
}

func (m *Model) setGateway(r *Router, g *GatewayFields) error {
	if g != nil {
		n, err := m.Network(g.NetworkID)
		if err != nil {
			return err
		}
		if !n.External {
			return badRequest("Bad router request: Network %s is not an external network.", n.ID)
		}
	}
	if r.Gateway != nil && (g == nil || g.NetworkID != r.Gateway.NetworkID) {
		for _, f := range m.SortedFloatingIPs() {
			if f.RouterID == r.ID {
				return conflict("RouterExternalGatewayInUseByFloatingIp", "Gateway cannot be updated for router %s, since a gateway to external network %s is required by one or more floating IPs.", r.ID, r.Gateway.NetworkID)
			}
		}
		old := r.Gateway
		r.Gateway = nil
		if err := m.checkRoutes(r); err != nil {
			r.Gateway = old
			return err
		}
		delete(m.Ports, old.PortID)
	}
	if g == nil {
		return nil
	}
	if r.Gateway != nil { // same network: SNAT and addresses
		r.Gateway.SNATDisabled = !boolOr(g.EnableSNAT, !r.Gateway.SNATDisabled)
		if g.FixedIPs != nil {
			_, err := m.UpdatePort(r.Gateway.PortID, PortFields{FixedIPs: &g.FixedIPs})
			return err
		}
		return nil
	}
	owner, dev, no, sgs := OwnerRouterGateway, r.ID.String(), false, []topology.ID{}
	f := PortFields{NetworkID: &g.NetworkID, DeviceOwner: &owner, DeviceID: &dev, PortSecurity: &no, SecurityGroups: &sgs, ProjectID: new(string)}
	if g.FixedIPs != nil {
		f.FixedIPs = &g.FixedIPs
	}
	p, err := m.CreatePort(m.newID(), f)
	if err != nil {
		return err
	}
	if len(p.FixedIPs) == 0 {
		delete(m.Ports, p.ID)
		return badRequest("Bad router request: No IPv4 subnet found on external network %s.", g.NetworkID)
	}
	r.Gateway = &Gateway{NetworkID: g.NetworkID, PortID: p.ID, SNATDisabled: !boolOr(g.EnableSNAT, true)}
	return nil
}

// checkRoutes refuses a change that leaves an extra route without its
// next hop.
func (m *Model) checkRoutes(r *Router) error {
	for _, rt := range r.Routes {
		if !m.routerReaches(r, rt) {
			return conflict("RouterInterfaceInUseByRoute", "Router %s still has a route to %s via %s, whose next hop the change would make unreachable.", r.ID, rt.Destination, rt.NextHop)
		}
	}
	return nil
}

// DeleteRouter deletes a router without interfaces, with its gateway
// port.
func (m *Model) DeleteRouter(id topology.ID) error {
	r, err := m.Router(id)
	if err != nil {
		return err
	}
	if len(m.Interfaces(id)) > 0 {
		return conflict("RouterInUse", "Router %s still has ports", id)
	}
	if r.Gateway != nil {
		delete(m.Ports, r.Gateway.PortID)
	}
	delete(m.Routers, id)
	return nil
}

// InterfaceInfo is what adding or removing a router interface answers.
type InterfaceInfo struct {
	RouterID, PortID, NetworkID topology.ID
	SubnetIDs                   []topology.ID
	ProjectID                   string
}

// AddInterface attaches a router to a subnet (a new port at the subnet's
// gateway IP) or to an existing port (exactly one of subnet and port is
// non-zero).
func (m *Model) AddInterface(router, subnet, port topology.ID) (InterfaceInfo, error) {
	var info InterfaceInfo
	err := m.atomically(func(c *Model) error {
		var err error
		info, err = c.addInterface(router, subnet, port)
		return err
	})
	return info, err
}

func (m *Model) addInterface(router, subnet, port topology.ID) (InterfaceInfo, error) {
	r, err := m.Router(router)
	if err != nil {
		return InterfaceInfo{}, err
	}
	if subnet.IsZero() == port.IsZero() {
		return InterfaceInfo{}, badRequest("Bad router request: Either subnet_id or port_id must be specified.")
	}
	var p *Port
	if !port.IsZero() {
		if p, err = m.Port(port); err != nil {
			return InterfaceInfo{}, err
		}
		if p.DeviceID != "" || p.DeviceOwner != "" {
			return InterfaceInfo{}, conflict("PortInUse", "Unable to complete operation on port %s for network %s. Port already has an attached device %s.", p.ID, p.NetworkID, p.DeviceID)
		}
		if len(p.FixedIPs) == 0 {
			return InterfaceInfo{}, badRequest("Bad router request: Router port must have at least one fixed IP.")
		}
		if err := m.checkInterfaceSubnets(r, p.FixedIPs); err != nil {
			return InterfaceInfo{}, err
		}
		p.DeviceOwner, p.DeviceID, p.SecurityGroups, p.AllowedPairs = OwnerRouterInterface, r.ID.String(), nil, nil
	} else {
		s, err := m.Subnet(subnet)
		if err != nil {
			return InterfaceInfo{}, err
		}
		if !s.Gateway.IsValid() {
			return InterfaceInfo{}, badRequest("Bad router request: Subnet for router interface must have a gateway IP.")
		}
		ips := []IPRequest{{SubnetID: s.ID, Addr: s.Gateway}}
		if err := m.checkInterfaceSubnets(r, []FixedIP{{SubnetID: s.ID, Addr: s.Gateway}}); err != nil {
			return InterfaceInfo{}, err
		}
		owner, dev, no, sgs := OwnerRouterInterface, r.ID.String(), false, []topology.ID{}
		p, err = m.CreatePort(m.newID(), PortFields{NetworkID: &s.NetworkID, FixedIPs: &ips, DeviceOwner: &owner, DeviceID: &dev,
			PortSecurity: &no, SecurityGroups: &sgs, ProjectID: &r.ProjectID})
		if err != nil {
			return InterfaceInfo{}, err
		}
	}
	return m.interfaceInfo(r, p), nil
}

func (m *Model) interfaceInfo(r *Router, p *Port) InterfaceInfo {
	info := InterfaceInfo{RouterID: r.ID, PortID: p.ID, NetworkID: p.NetworkID, ProjectID: r.ProjectID}
	for _, ip := range p.FixedIPs {
		info.SubnetIDs = append(info.SubnetIDs, ip.SubnetID)
	}
	return info
}

// checkInterfaceSubnets refuses a second interface on a subnet, and
// subnets overlapping the router's others.
func (m *Model) checkInterfaceSubnets(r *Router, ips []FixedIP) error {
	for _, ip := range ips {
		s := m.Subnets[ip.SubnetID]
		if s == nil {
			continue
		}
		for _, q := range m.routerPorts(r) {
			for _, qip := range q.FixedIPs {
				o := m.Subnets[qip.SubnetID]
				switch {
				case o == nil:
				case o.ID == s.ID:
					return badRequest("Bad router request: Router already has a port on subnet %s.", s.ID)
				case o.CIDR.Overlaps(s.CIDR):
					return badRequest("Bad router request: Cidr %s of subnet %s overlaps with cidr %s of subnet %s.", s.CIDR, s.ID, o.CIDR, o.ID)
				}
			}
		}
	}
	return nil
}

// RemoveInterface detaches a router from a subnet or a port (either or
// both given) and deletes the interface port; floating IPs mapped through
// it keep it in use.
func (m *Model) RemoveInterface(router, subnet, port topology.ID) (InterfaceInfo, error) {
	r, err := m.Router(router)
	if err != nil {
		return InterfaceInfo{}, err
	}
	if subnet.IsZero() && port.IsZero() {
		return InterfaceInfo{}, badRequest("Bad router request: Either subnet_id or port_id must be specified.")
	}
	var p *Port
	for _, q := range m.Interfaces(router) {
		onSubnet := slices.ContainsFunc(q.FixedIPs, func(ip FixedIP) bool { return ip.SubnetID == subnet })
		if (port.IsZero() || q.ID == port) && (subnet.IsZero() || onSubnet) {
			p = q
			break
		}
	}
	if p == nil {
		if port.IsZero() {
			return InterfaceInfo{}, notFound("RouterInterfaceNotFoundForSubnet", "Router %s has no interface on subnet %s", router, subnet)
		}
		return InterfaceInfo{}, notFound("RouterInterfaceNotFound", "Router %s does not have an interface with id %s", router, port)
	}
	for _, f := range m.SortedFloatingIPs() {
		if f.RouterID != router {
			continue
		}
		for _, ip := range p.FixedIPs {
			if s := m.Subnets[ip.SubnetID]; s != nil && s.CIDR.Contains(f.FixedAddr) {
				return InterfaceInfo{}, conflict("RouterInterfaceInUseByFloatingIP", "Router interface for subnet %s on router %s cannot be deleted, as it is required by one or more floating IPs.", s.ID, router)
			}
		}
	}
	info := m.interfaceInfo(r, p)
	delete(m.Ports, p.ID)
	if err := m.checkRoutes(r); err != nil {
		m.Ports[p.ID] = p
		return InterfaceInfo{}, err
	}
	return info, nil
}
