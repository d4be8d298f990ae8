package neutronapi

import (
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/neutron"
)

// The decoders of request bodies, one per resource: Neutron's attributes
// to the model's fields. On create a few attributes more are accepted
// (the owner, the project); every decoder refuses unknown attributes.

func project(a *attrs, create bool) *string {
	t, p := a.str("tenant_id"), a.str("project_id")
	if !create {
		if t != nil || p != nil {
			a.fail("project_id", "cannot update read-only attribute project_id")
		}
		return nil
	}
	if p != nil {
		return p
	}
	return t
}

// mustBeOff accepts keys a client may send with their default value only
// (features hivenet does not have).
func (a *attrs) mustBeOff(key string, off ...string) {
	v, ok := a.get(key)
	if !ok || isNull(v) {
		return
	}
	for _, o := range off {
		if string(v) == o {
			return
		}
	}
	a.fail(key, "%s is not supported", key)
}

func decodeNetwork(body []byte, create bool) (neutron.NetworkFields, error) {
	a, err := parseBody(body, "network")
	if err != nil {
		return neutron.NetworkFields{}, err
	}
	f := neutron.NetworkFields{Name: a.str("name"), Description: a.str("description"), ProjectID: project(a, create),
		AdminStateUp: a.boolean("admin_state_up"), Shared: a.boolean("shared"), External: a.boolean("router:external"),
		MTU: a.integer("mtu"), PortSecurity: a.boolean("port_security_enabled")}
	a.ignore("availability_zone_hints", "provider:network_type", "provider:physical_network", "provider:segmentation_id")
	return f, a.done()
}

func decodeSubnet(body []byte, create bool) (neutron.SubnetFields, error) {
	a, err := parseBody(body, "subnet")
	if err != nil {
		return neutron.SubnetFields{}, err
	}
	f := neutron.SubnetFields{Name: a.str("name"), Description: a.str("description"), ProjectID: project(a, create),
		IPVersion: a.integer("ip_version"), CIDR: a.cidr("cidr"), Gateway: a.optAddr("gateway_ip"),
		EnableDHCP: a.boolean("enable_dhcp")}
	if create {
		f.NetworkID = a.id("network_id")
	}
	var dns []string
	if a.list("dns_nameservers", &dns, maxDNS) {
		f.DNS = &[]netip.Addr{}
		for _, d := range dns {
			if ip, ok := a.addr("dns_nameservers", d); ok {
				*f.DNS = append(*f.DNS, ip)
			}
		}
	}
	f.HostRoutes = a.routes("host_routes", maxHostRoutes)
	var pools []struct{ Start, End string }
	if a.list("allocation_pools", &pools, maxPools) {
		f.Pools = &[]neutron.Pool{}
		for _, p := range pools {
			s, ok1 := a.addr("allocation_pools", p.Start)
			e, ok2 := a.addr("allocation_pools", p.End)
			if ok1 && ok2 {
				*f.Pools = append(*f.Pools, neutron.Pool{Start: s, End: e})
			}
		}
	}
	a.mustBeOff("subnetpool_id")
	a.mustBeOff("ipv6_ra_mode")
	a.mustBeOff("ipv6_address_mode")
	a.mustBeOff("use_default_subnet_pool", "false")
	a.mustBeOff("segment_id")
	a.mustBeOff("service_types", "[]")
	return f, a.done()
}

// routes decodes [{"destination": cidr, "nexthop": ip}].
func (a *attrs) routes(key string, limit int) *[]neutron.Route {
	var rs []struct{ Destination, Nexthop string }
	if !a.list(key, &rs, limit) {
		return nil
	}
	out := []neutron.Route{}
	for _, r := range rs {
		d, ok1 := a.prefix(key, r.Destination)
		n, ok2 := a.addr(key, r.Nexthop)
		if !ok1 || !ok2 {
			return nil
		}
		out = append(out, neutron.Route{Destination: d, NextHop: n})
	}
	return &out
}

func decodePort(body []byte, create bool) (neutron.PortFields, error) {
	a, err := parseBody(body, "port")
	if err != nil {
		return neutron.PortFields{}, err
	}
	f := neutron.PortFields{Name: a.str("name"), Description: a.str("description"), ProjectID: project(a, create),
		AdminStateUp: a.boolean("admin_state_up"), FixedIPs: a.fixedIPs("fixed_ips"), DeviceOwner: a.str("device_owner"),
		DeviceID: a.str("device_id"), SecurityGroups: a.ids("security_groups", maxGroups),
		PortSecurity: a.boolean("port_security_enabled"), Host: a.str("binding:host_id"), Profile: a.dict("binding:profile")}
	if create {
		f.NetworkID = a.id("network_id")
	}
	if s := a.str("mac_address"); s != nil {
		if m, ok := a.mac("mac_address", *s); ok {
			f.MAC = &m
		}
	}
	var pairs []map[string]string
	if a.list("allowed_address_pairs", &pairs, maxPairs) {
		f.AllowedPairs = &[]neutron.AddressPair{}
		for _, p := range pairs {
			var pair neutron.AddressPair
			for k, v := range p {
				switch k {
				case "ip_address":
					pair.Prefix, _ = a.prefix("allowed_address_pairs", v)
				case "mac_address":
					pair.MAC, _ = a.mac("allowed_address_pairs", v)
				default:
					a.fail("allowed_address_pairs", "unknown key '%s'", k)
				}
			}
			if !pair.Prefix.IsValid() {
				a.fail("allowed_address_pairs", "each pair needs an ip_address")
			}
			*f.AllowedPairs = append(*f.AllowedPairs, pair)
		}
	}
	a.mustBeOff("binding:vnic_type", `"normal"`)
	a.mustBeOff("extra_dhcp_opts", "[]")
	return f, a.done()
}

func decodeRouter(body []byte, create bool) (neutron.RouterFields, error) {
	a, err := parseBody(body, "router")
	if err != nil {
		return neutron.RouterFields{}, err
	}
	f := neutron.RouterFields{Name: a.str("name"), Description: a.str("description"), ProjectID: project(a, create),
		AdminStateUp: a.boolean("admin_state_up"), Routes: a.routes("routes", maxRoutes)}
	if v, ok := a.get("external_gateway_info"); ok {
		var g *neutron.GatewayFields
		if !isNull(v) && string(v) != "{}" {
			g = a.gateway(v)
		}
		f.Gateway = &g
	}
	a.mustBeOff("distributed", "false")
	a.mustBeOff("ha", "false")
	a.ignore("availability_zone_hints")
	return f, a.done()
}

// gateway decodes external_gateway_info.
func (a *attrs) gateway(v json.RawMessage) *neutron.GatewayFields {
	in := &attrs{used: map[string]bool{}}
	if err := json.Unmarshal(v, &in.raw); err != nil || in.raw == nil {
		a.fail("external_gateway_info", "'%s' is not a dictionary", v)
		return nil
	}
	g := &neutron.GatewayFields{}
	if id := in.id("network_id"); id != nil {
		g.NetworkID = *id
	} else if in.err == nil {
		in.fail("external_gateway_info", "network_id is required")
	}
	g.EnableSNAT = in.boolean("enable_snat")
	if ips := in.fixedIPs("external_fixed_ips"); ips != nil {
		g.FixedIPs = *ips
	}
	if err := in.done(); err != nil {
		a.err = fmt.Errorf("%w (in external_gateway_info)", err)
		return nil
	}
	return g
}

func decodeFloatingIP(body []byte, create bool) (neutron.FloatingIPFields, error) {
	a, err := parseBody(body, "floatingip")
	if err != nil {
		return neutron.FloatingIPFields{}, err
	}
	f := neutron.FloatingIPFields{Description: a.str("description"), ProjectID: project(a, create),
		PortID: a.optID("port_id"), FixedAddr: a.optAddr("fixed_ip_address")}
	if f.FixedAddr != nil && !f.FixedAddr.IsValid() {
		f.FixedAddr = nil
	}
	if create {
		f.NetworkID = a.id("floating_network_id")
		if ip := a.optAddr("floating_ip_address"); ip != nil && ip.IsValid() {
			f.Addr = ip
		}
		a.ignore("subnet_id")
	}
	return f, a.done()
}

func decodeSecurityGroup(body []byte, create bool) (neutron.SecurityGroupFields, error) {
	a, err := parseBody(body, "security_group")
	if err != nil {
		return neutron.SecurityGroupFields{}, err
	}
	f := neutron.SecurityGroupFields{Name: a.str("name"), Description: a.str("description"), ProjectID: project(a, create)}
	a.mustBeOff("stateful", "true")
	return f, a.done()
}

func decodeRule(body []byte) (neutron.RuleFields, error) {
	a, err := parseBody(body, "security_group_rule")
	if err != nil {
		return neutron.RuleFields{}, err
	}
	f := neutron.RuleFields{GroupID: a.id("security_group_id"), ProjectID: project(a, true), Description: a.str("description"),
		Direction: a.str("direction"), EtherType: a.str("ethertype"), PortMin: a.integer("port_range_min"),
		PortMax: a.integer("port_range_max")}
	if v, ok := a.raw["protocol"]; ok && !isNull(v) {
		var n json.Number
		if json.Unmarshal(v, &n) == nil {
			a.used["protocol"] = true
			f.Protocol = ptr(n.String())
		} else {
			f.Protocol = a.str("protocol")
		}
	} else {
		a.get("protocol")
	}
	if p := a.cidr("remote_ip_prefix"); p != nil {
		f.RemotePrefix = p
	}
	if g := a.optID("remote_group_id"); g != nil && !g.IsZero() {
		f.RemoteGroup = g
	}
	a.mustBeOff("remote_address_group_id")
	return f, a.done()
}

// decodeInterface decodes add/remove_router_interface's body,
// {"subnet_id": ...} or {"port_id": ...} (not wrapped).
func decodeInterface(body []byte) (subnet, port topology.ID, err error) {
	a := &attrs{used: map[string]bool{}}
	if err := strictJSON(body, &a.raw); err != nil || a.raw == nil {
		return subnet, port, badBody("the body must be a JSON object with subnet_id or port_id")
	}
	if s := a.id("subnet_id"); s != nil {
		subnet = *s
	}
	if p := a.id("port_id"); p != nil {
		port = *p
	}
	return subnet, port, a.done()
}
