package neutron

import (
	"cmp"
	"encoding/json"
	"io"
	"net/netip"
	"slices"

	"github.com/hivenet/hivenet/topology"
)

// Device owners of ports that are not VMs' (Neutron's names).
const (
	OwnerRouterInterface = "network:router_interface"
	OwnerRouterGateway   = "network:router_gateway"
	OwnerDHCP            = "network:dhcp"
	OwnerFloatingIP      = "network:floatingip"
)

// Network is a Neutron network. Flags are stored negated where Neutron's
// default is true, so that the zero value is Neutron's default.
type Network struct {
	ID          topology.ID `json:"id"`
	Name        string      `json:"name,omitempty"`
	Description string      `json:"description,omitempty"`
	ProjectID   string      `json:"project_id,omitempty"`
	AdminDown   bool        `json:"admin_down,omitempty"`
	Shared      bool        `json:"shared,omitempty"`
	// External is Neutron's router:external: routers have their gateway
	// and floating IPs their address on external networks.
	External bool `json:"external,omitempty"`
	MTU      int  `json:"mtu,omitempty"`
	// NoPortSecurity is the default of the network's new ports.
	NoPortSecurity bool `json:"no_port_security,omitempty"`
}

// Subnet is an IPv4 subnet of a network.
type Subnet struct {
	ID          topology.ID  `json:"id"`
	NetworkID   topology.ID  `json:"network_id"`
	Name        string       `json:"name,omitempty"`
	Description string       `json:"description,omitempty"`
	ProjectID   string       `json:"project_id,omitempty"`
	CIDR        netip.Prefix `json:"cidr"`
	// Gateway is the gateway IP; the zero Addr means none.
	Gateway      netip.Addr   `json:"gateway,omitzero"`
	DHCPDisabled bool         `json:"dhcp_disabled,omitempty"`
	DNS          []netip.Addr `json:"dns,omitempty"`
	HostRoutes   []Route      `json:"host_routes,omitempty"`
	// Pools are the ranges fixed IPs are allocated from.
	Pools []Pool `json:"pools,omitempty"`
}

// Route is a destination and a next hop: a subnet's host route, a router's
// extra route.
type Route struct {
	Destination netip.Prefix `json:"destination"`
	NextHop     netip.Addr   `json:"nexthop"`
}

// Pool is an inclusive range of addresses.
type Pool struct {
	Start netip.Addr `json:"start"`
	End   netip.Addr `json:"end"`
}

// Contains reports whether a is in the pool.
func (p Pool) Contains(a netip.Addr) bool { return p.Start.Compare(a) <= 0 && a.Compare(p.End) <= 0 }

// FixedIP is an address of a port on one of its network's subnets.
type FixedIP struct {
	SubnetID topology.ID `json:"subnet_id"`
	Addr     netip.Addr  `json:"ip_address"`
}

// AddressPair is an allowed address pair: traffic from the port may use
// this source prefix, with MAC (the port's own when zero).
type AddressPair struct {
	Prefix netip.Prefix `json:"prefix"`
	MAC    topology.MAC `json:"mac,omitzero"`
}

// Port is a Neutron port.
type Port struct {
	ID             topology.ID   `json:"id"`
	NetworkID      topology.ID   `json:"network_id"`
	Name           string        `json:"name,omitempty"`
	Description    string        `json:"description,omitempty"`
	ProjectID      string        `json:"project_id,omitempty"`
	MAC            topology.MAC  `json:"mac"`
	FixedIPs       []FixedIP     `json:"fixed_ips,omitempty"`
	DeviceOwner    string        `json:"device_owner,omitempty"`
	DeviceID       string        `json:"device_id,omitempty"`
	AdminDown      bool          `json:"admin_down,omitempty"`
	SecurityGroups []topology.ID `json:"security_groups,omitempty"`
	NoPortSecurity bool          `json:"no_port_security,omitempty"`
	AllowedPairs   []AddressPair `json:"allowed_address_pairs,omitempty"`
	// Host is binding:host_id, the name of the host the port is bound
	// to; Profile is binding:profile, whose "interface_name" names the
	// interface on that host (default: "tap" and the ID's first 11
	// characters, Nova's convention).
	Host    string          `json:"host,omitempty"`
	Profile json.RawMessage `json:"profile,omitempty"`
}

// IsVM reports whether the port is a VM's (or any device's that is not a
// router, DHCP server or floating IP): the ports that get security chains.
func (p *Port) IsVM() bool {
	switch p.DeviceOwner {
	case OwnerRouterInterface, OwnerRouterGateway, OwnerDHCP, OwnerFloatingIP:
		return false
	}
	return true
}

// Interface returns the name of the host interface the port is bound to.
func (p *Port) Interface() string {
	var prof struct {
		Interface string `json:"interface_name"`
	}
	if len(p.Profile) > 0 && json.Unmarshal(p.Profile, &prof) == nil && prof.Interface != "" {
		return prof.Interface
	}
	return "tap" + p.ID.String()[:11]
}

// Router is a Neutron router.
type Router struct {
	ID          topology.ID `json:"id"`
	Name        string      `json:"name,omitempty"`
	Description string      `json:"description,omitempty"`
	ProjectID   string      `json:"project_id,omitempty"`
	AdminDown   bool        `json:"admin_down,omitempty"`
	// Gateway is the external gateway, nil without one.
	Gateway *Gateway `json:"gateway,omitempty"`
	// Routes are the extra routes.
	Routes []Route `json:"routes,omitempty"`
}

// Gateway is a router's external gateway: a port on an external network.
type Gateway struct {
	NetworkID    topology.ID `json:"network_id"`
	PortID       topology.ID `json:"port_id"`
	SNATDisabled bool        `json:"snat_disabled,omitempty"`
}

// FloatingIP is an address of an external network mapped to a port's
// fixed IP by the router between them.
type FloatingIP struct {
	ID          topology.ID `json:"id"`
	ProjectID   string      `json:"project_id,omitempty"`
	Description string      `json:"description,omitempty"`
	NetworkID   topology.ID `json:"network_id"`
	Addr        netip.Addr  `json:"addr"`
	// PortID is the associated port, zero when not associated; FixedAddr
	// the port's address it maps to, RouterID the router that maps it.
	PortID    topology.ID `json:"port_id,omitzero"`
	FixedAddr netip.Addr  `json:"fixed_addr,omitzero"`
	RouterID  topology.ID `json:"router_id,omitzero"`
}

// SecurityGroup is a Neutron security group; its rules are objects of
// their own.
type SecurityGroup struct {
	ID          topology.ID `json:"id"`
	Name        string      `json:"name,omitempty"`
	Description string      `json:"description,omitempty"`
	ProjectID   string      `json:"project_id,omitempty"`
}

// Rule directions and ether types.
const (
	Ingress = "ingress"
	Egress  = "egress"
	IPv4    = "IPv4"
	IPv6    = "IPv6"
)

// SecurityGroupRule admits traffic into (ingress) or out of (egress) the
// ports of its group.
type SecurityGroupRule struct {
	ID          topology.ID `json:"id"`
	GroupID     topology.ID `json:"group_id"`
	ProjectID   string      `json:"project_id,omitempty"`
	Description string      `json:"description,omitempty"`
	Direction   string      `json:"direction"`
	EtherType   string      `json:"ethertype"`
	// Protocol is empty for any, else the IP protocol number (names are
	// resolved when the rule is made).
	Protocol *uint8 `json:"protocol,omitempty"`
	// PortMin and PortMax bound the destination port (TCP, UDP) or are
	// the ICMP type and code; nil is any.
	PortMin      *uint16      `json:"port_min,omitempty"`
	PortMax      *uint16      `json:"port_max,omitempty"`
	RemotePrefix netip.Prefix `json:"remote_prefix,omitzero"`
	RemoteGroup  topology.ID  `json:"remote_group,omitzero"`
}

// Model is a whole Neutron deployment: every object, by ID. Methods that
// change it keep it consistent (see the package documentation); one that
// fails leaves the model as it was.
type Model struct {
	Networks       map[topology.ID]*Network
	Subnets        map[topology.ID]*Subnet
	Ports          map[topology.ID]*Port
	Routers        map[topology.ID]*Router
	FloatingIPs    map[topology.ID]*FloatingIP
	SecurityGroups map[topology.ID]*SecurityGroup
	Rules          map[topology.ID]*SecurityGroupRule
	// Rand supplies the IDs and MACs the methods make up; nil means
	// crypto/rand.
	Rand io.Reader
}

// NewModel returns an empty model.
func NewModel() *Model {
	return &Model{
		Networks: map[topology.ID]*Network{}, Subnets: map[topology.ID]*Subnet{}, Ports: map[topology.ID]*Port{},
		Routers: map[topology.ID]*Router{}, FloatingIPs: map[topology.ID]*FloatingIP{},
		SecurityGroups: map[topology.ID]*SecurityGroup{}, Rules: map[topology.ID]*SecurityGroupRule{},
	}
}

// Len returns the number of objects in the model.
func (m *Model) Len() int {
	return len(m.Networks) + len(m.Subnets) + len(m.Ports) + len(m.Routers) + len(m.FloatingIPs) +
		len(m.SecurityGroups) + len(m.Rules)
}

// Clone returns a deep copy of m.
func (m *Model) Clone() *Model {
	c := NewModel()
	c.Rand = m.Rand
	for id, n := range m.Networks {
		x := *n
		c.Networks[id] = &x
	}
	for id, s := range m.Subnets {
		x := *s
		x.DNS, x.HostRoutes, x.Pools = slices.Clone(s.DNS), slices.Clone(s.HostRoutes), slices.Clone(s.Pools)
		c.Subnets[id] = &x
	}
	for id, p := range m.Ports {
		x := *p
		x.FixedIPs, x.SecurityGroups, x.AllowedPairs = slices.Clone(p.FixedIPs), slices.Clone(p.SecurityGroups), slices.Clone(p.AllowedPairs)
		x.Profile = slices.Clone(p.Profile)
		c.Ports[id] = &x
	}
	for id, r := range m.Routers {
		x := *r
		if r.Gateway != nil {
			g := *r.Gateway
			x.Gateway = &g
		}
		x.Routes = slices.Clone(r.Routes)
		c.Routers[id] = &x
	}
	for id, f := range m.FloatingIPs {
		x := *f
		c.FloatingIPs[id] = &x
	}
	for id, g := range m.SecurityGroups {
		x := *g
		c.SecurityGroups[id] = &x
	}
	for id, r := range m.Rules {
		x := *r
		c.Rules[id] = &x
	}
	return c
}

// sorted returns the values of a map in ID order, so that everything
// derived from a model is deterministic.
func sorted[T any](m map[topology.ID]*T) []*T {
	ids := make([]topology.ID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b topology.ID) int { return cmp.Compare(string(a[:]), string(b[:])) })
	out := make([]*T, len(ids))
	for i, id := range ids {
		out[i] = m[id]
	}
	return out
}

// SortedNetworks returns the networks in ID order; the other Sorted*
// methods do the same for their resources.
func (m *Model) SortedNetworks() []*Network { return sorted(m.Networks) }

// SortedSubnets returns the subnets in ID order.
func (m *Model) SortedSubnets() []*Subnet { return sorted(m.Subnets) }

// SortedPorts returns the ports in ID order.
func (m *Model) SortedPorts() []*Port { return sorted(m.Ports) }

// SortedRouters returns the routers in ID order.
func (m *Model) SortedRouters() []*Router { return sorted(m.Routers) }

// SortedFloatingIPs returns the floating IPs in ID order.
func (m *Model) SortedFloatingIPs() []*FloatingIP { return sorted(m.FloatingIPs) }

// SortedSecurityGroups returns the security groups in ID order.
func (m *Model) SortedSecurityGroups() []*SecurityGroup { return sorted(m.SecurityGroups) }

// SortedRules returns the security group rules in ID order.
func (m *Model) SortedRules() []*SecurityGroupRule { return sorted(m.Rules) }

// SubnetsOf returns the subnets of a network, in ID order.
func (m *Model) SubnetsOf(network topology.ID) []*Subnet {
	var out []*Subnet
	for _, s := range m.SortedSubnets() {
		if s.NetworkID == network {
			out = append(out, s)
		}
	}
	return out
}

// PortsOf returns the ports of a network, in ID order.
func (m *Model) PortsOf(network topology.ID) []*Port {
	var out []*Port
	for _, p := range m.SortedPorts() {
		if p.NetworkID == network {
			out = append(out, p)
		}
	}
	return out
}

// RulesOf returns the rules of a security group, in ID order.
func (m *Model) RulesOf(group topology.ID) []*SecurityGroupRule {
	var out []*SecurityGroupRule
	for _, r := range m.SortedRules() {
		if r.GroupID == group {
			out = append(out, r)
		}
	}
	return out
}

// Interfaces returns a router's interface ports, in ID order.
func (m *Model) Interfaces(router topology.ID) []*Port {
	var out []*Port
	rid := router.String()
	for _, p := range m.SortedPorts() {
		if p.DeviceOwner == OwnerRouterInterface && p.DeviceID == rid {
			out = append(out, p)
		}
	}
	return out
}

// atomically runs f on a copy of m and keeps the copy only if f succeeds,
// for changes of several objects that may fail halfway.
func (m *Model) atomically(f func(c *Model) error) error {
	c := m.Clone()
	if err := f(c); err != nil {
		return err
	}
	*m = *c
	return nil
}
