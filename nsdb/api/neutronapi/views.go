package neutronapi

import (
	"net/netip"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/neutron"
)

// Views: the model's objects in Neutron's JSON shapes, as generic maps so
// that lists filter and project fields (?name=, ?fields=) on any
// attribute. Absent optional values are JSON null, as in Neutron.

type view = map[string]any

func idOrNull(id topology.ID) any {
	if id.IsZero() {
		return nil
	}
	return id.String()
}

func addrOrNull(a netip.Addr) any {
	if !a.IsValid() {
		return nil
	}
	return a.String()
}

func withProject(v view, project string) view {
	v["tenant_id"], v["project_id"] = project, project
	v["tags"] = []string{}
	return v
}

func networkView(m *neutron.Model, n *neutron.Network) view {
	subnets := []string{}
	for _, s := range m.SubnetsOf(n.ID) {
		subnets = append(subnets, s.ID.String())
	}
	return withProject(view{"id": n.ID.String(), "name": n.Name, "description": n.Description,
		"admin_state_up": !n.AdminDown, "status": "ACTIVE", "subnets": subnets, "shared": n.Shared,
		"router:external": n.External, "mtu": n.MTU, "port_security_enabled": !n.NoPortSecurity,
		"availability_zone_hints": []string{}, "availability_zones": []string{}, "ipv4_address_scope": nil,
		"ipv6_address_scope": nil, "l2_adjacency": true}, n.ProjectID)
}

func subnetView(_ *neutron.Model, s *neutron.Subnet) view {
	dns := []string{}
	for _, d := range s.DNS {
		dns = append(dns, d.String())
	}
	routes := []view{}
	for _, r := range s.HostRoutes {
		routes = append(routes, view{"destination": r.Destination.String(), "nexthop": r.NextHop.String()})
	}
	pools := []view{}
	for _, p := range s.Pools {
		pools = append(pools, view{"start": p.Start.String(), "end": p.End.String()})
	}
	return withProject(view{"id": s.ID.String(), "name": s.Name, "description": s.Description, "network_id": s.NetworkID.String(),
		"ip_version": 4, "cidr": s.CIDR.String(), "gateway_ip": addrOrNull(s.Gateway), "enable_dhcp": !s.DHCPDisabled,
		"dns_nameservers": dns, "host_routes": routes, "allocation_pools": pools, "ipv6_ra_mode": nil,
		"ipv6_address_mode": nil, "subnetpool_id": nil, "service_types": []string{}, "segment_id": nil}, s.ProjectID)
}

func portView(_ *neutron.Model, p *neutron.Port) view {
	ips := []view{}
	for _, ip := range p.FixedIPs {
		ips = append(ips, view{"subnet_id": ip.SubnetID.String(), "ip_address": ip.Addr.String()})
	}
	groups := []string{}
	for _, g := range p.SecurityGroups {
		groups = append(groups, g.String())
	}
	pairs := []view{}
	for _, a := range p.AllowedPairs {
		ip, mac := a.Prefix.String(), a.MAC
		if a.Prefix.IsSingleIP() {
			ip = a.Prefix.Addr().String()
		}
		if mac.IsZero() {
			mac = p.MAC
		}
		pairs = append(pairs, view{"ip_address": ip, "mac_address": mac.String()})
	}
	var profile any = view{}
	if len(p.Profile) > 0 {
		profile = p.Profile
	}
	status, vif := "DOWN", "unbound"
	if p.Host != "" {
		vif = "ovs"
		if !p.AdminDown {
			status = "ACTIVE"
		}
	}
	if !p.IsVM() && !p.AdminDown {
		status = "ACTIVE"
	}
	return withProject(view{"id": p.ID.String(), "name": p.Name, "description": p.Description, "network_id": p.NetworkID.String(),
		"mac_address": p.MAC.String(), "admin_state_up": !p.AdminDown, "status": status, "device_id": p.DeviceID,
		"device_owner": p.DeviceOwner, "fixed_ips": ips, "security_groups": groups, "port_security_enabled": !p.NoPortSecurity,
		"allowed_address_pairs": pairs, "binding:host_id": p.Host, "binding:profile": profile, "binding:vif_type": vif,
		"binding:vif_details": view{}, "binding:vnic_type": "normal", "extra_dhcp_opts": []view{}}, p.ProjectID)
}

func routerView(m *neutron.Model, r *neutron.Router) view {
	var gw any
	if r.Gateway != nil {
		ips := []view{}
		if p := m.Ports[r.Gateway.PortID]; p != nil {
			for _, ip := range p.FixedIPs {
				ips = append(ips, view{"subnet_id": ip.SubnetID.String(), "ip_address": ip.Addr.String()})
			}
		}
		gw = view{"network_id": r.Gateway.NetworkID.String(), "enable_snat": !r.Gateway.SNATDisabled, "external_fixed_ips": ips}
	}
	routes := []view{}
	for _, rt := range r.Routes {
		routes = append(routes, view{"destination": rt.Destination.String(), "nexthop": rt.NextHop.String()})
	}
	return withProject(view{"id": r.ID.String(), "name": r.Name, "description": r.Description, "admin_state_up": !r.AdminDown,
		"status": "ACTIVE", "external_gateway_info": gw, "routes": routes, "distributed": false, "ha": false,
		"availability_zone_hints": []string{}, "availability_zones": []string{}}, r.ProjectID)
}

func floatingIPView(_ *neutron.Model, f *neutron.FloatingIP) view {
	status := "DOWN"
	if !f.PortID.IsZero() {
		status = "ACTIVE"
	}
	return withProject(view{"id": f.ID.String(), "description": f.Description, "floating_network_id": f.NetworkID.String(),
		"floating_ip_address": f.Addr.String(), "port_id": idOrNull(f.PortID), "fixed_ip_address": addrOrNull(f.FixedAddr),
		"router_id": idOrNull(f.RouterID), "status": status, "port_details": nil}, f.ProjectID)
}

func groupView(m *neutron.Model, g *neutron.SecurityGroup) view {
	rules := []view{}
	for _, r := range m.RulesOf(g.ID) {
		rules = append(rules, ruleView(m, r))
	}
	return withProject(view{"id": g.ID.String(), "name": g.Name, "description": g.Description,
		"security_group_rules": rules, "stateful": true}, g.ProjectID)
}

func ruleView(_ *neutron.Model, r *neutron.SecurityGroupRule) view {
	var proto, lo, hi, prefix any
	if r.Protocol != nil {
		proto = neutron.ProtocolName(*r.Protocol)
	}
	if r.PortMin != nil {
		lo = int(*r.PortMin)
	}
	if r.PortMax != nil {
		hi = int(*r.PortMax)
	}
	if r.RemotePrefix.IsValid() {
		prefix = r.RemotePrefix.String()
	}
	v := view{"id": r.ID.String(), "security_group_id": r.GroupID.String(), "description": r.Description,
		"direction": r.Direction, "ethertype": r.EtherType, "protocol": proto, "port_range_min": lo, "port_range_max": hi,
		"remote_ip_prefix": prefix, "remote_group_id": idOrNull(r.RemoteGroup), "remote_address_group_id": nil}
	withProject(v, r.ProjectID)
	delete(v, "tags")
	return v
}

func interfaceView(info neutron.InterfaceInfo) view {
	subnets := []string{}
	for _, s := range info.SubnetIDs {
		subnets = append(subnets, s.String())
	}
	var first any
	if len(subnets) > 0 {
		first = subnets[0]
	}
	return view{"id": info.RouterID.String(), "tenant_id": info.ProjectID, "project_id": info.ProjectID,
		"port_id": info.PortID.String(), "network_id": info.NetworkID.String(), "subnet_id": first, "subnet_ids": subnets}
}
