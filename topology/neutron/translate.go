package neutron

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/hivenet/hivenet/topology"
)

// Env is what a translation needs of the native world.
type Env struct {
	// ProviderRouter is the router external networks are linked to (see
	// the package documentation), or the zero ID for none.
	ProviderRouter topology.ID
	// Hosts maps host names (ports' binding:host_id) to the IDs of the
	// hosts that exist. A port bound to a host missing here stays
	// unbound until the host exists and the model is translated again.
	Hosts map[string]topology.ID
}

// SeedKind says which state table a seed goes to.
type SeedKind uint8

// Seed kinds.
const (
	// SeedMAC maps MAC to Port in Bridge's MAC table (VLAN 0).
	SeedMAC SeedKind = iota + 1
	// SeedIP4MAC maps Addr to MAC in Bridge's IPv4-MAC table.
	SeedIP4MAC
)

// Seed is a persistent state-table entry a translation asks for: what the
// bridges know of their ports before any packet is seen (and the external
// networks of floating IPs).
type Seed struct {
	Kind   SeedKind
	Bridge topology.ID
	MAC    topology.MAC
	Port   topology.ID
	Addr   netip.Addr
}

// Translation is a model's native objects and state-table seeds.
type Translation struct {
	topology.Topology
	Seeds []Seed
}

// translator builds one translation.
type translator struct {
	m      *Model
	env    Env
	out    *Translation
	dhcp   map[topology.ID]*topology.DHCPSubnet // by subnet
	groups map[topology.ID]*topology.IPAddrGroup
	pre    map[topology.ID][]topology.Rule // router → pre-routing rules
	post   map[topology.ID][]topology.Rule
	// routerPorts maps a Neutron router interface or gateway port to its
	// router port.
	routerPorts map[topology.ID]rport
	// Indexes of the model, each list in ID order: ports by network,
	// rules by group, interface ports by router.
	portsOf      map[topology.ID][]*Port
	rulesOf      map[topology.ID][]*SecurityGroupRule
	interfacesOf map[topology.ID][]*Port
}

// rport is a translated router port: its ID, address, subnet and MAC.
type rport struct {
	id     topology.ID
	addr   netip.Addr
	subnet netip.Prefix
	mac    topology.MAC
}

// Translate returns the native objects and seeds of a whole model (see the
// package documentation). It is deterministic: the same model and Env give
// the same translation, objects in ID order within each kind.
func Translate(m *Model, env Env) *Translation {
	t := &translator{m: m, env: env, out: &Translation{}, dhcp: map[topology.ID]*topology.DHCPSubnet{},
		groups: map[topology.ID]*topology.IPAddrGroup{}, pre: map[topology.ID][]topology.Rule{},
		post: map[topology.ID][]topology.Rule{}, routerPorts: map[topology.ID]rport{},
		portsOf: map[topology.ID][]*Port{}, rulesOf: map[topology.ID][]*SecurityGroupRule{}, interfacesOf: map[topology.ID][]*Port{}}
	ports := m.SortedPorts()
	for _, p := range ports {
		t.portsOf[p.NetworkID] = append(t.portsOf[p.NetworkID], p)
		if rid, ok := p.RouterOwner(); ok && p.DeviceOwner == OwnerRouterInterface {
			t.interfacesOf[rid] = append(t.interfacesOf[rid], p)
		}
	}
	for _, r := range m.SortedRules() {
		t.rulesOf[r.GroupID] = append(t.rulesOf[r.GroupID], r)
	}
	for _, n := range m.SortedNetworks() {
		t.out.Bridges = append(t.out.Bridges, topology.Bridge{ID: n.ID, Name: n.NativeName(), AdminDown: n.AdminDown})
	}
	for _, s := range m.SortedSubnets() {
		t.subnet(s)
	}
	for _, g := range m.SortedSecurityGroups() {
		t.securityGroup(g)
	}
	for _, p := range ports {
		t.port(p)
	}
	for _, r := range m.SortedRouters() {
		t.router(r)
	}
	for _, f := range m.SortedFloatingIPs() {
		t.floatingIP(f)
	}
	t.finish()
	return t.out
}

// subnet makes a subnet's DHCP subnet and, on an external network, its
// link to the provider router.
func (t *translator) subnet(s *Subnet) {
	n := t.m.Networks[s.NetworkID]
	if n == nil {
		return
	}
	d := &topology.DHCPSubnet{ID: s.ID, Bridge: n.ID, Subnet: s.CIDR, ServerAddr: s.Gateway, Gateway: s.Gateway,
		DNSServers: slices.Clone(s.DNS), MTU: uint16(n.MTU), Disabled: s.DHCPDisabled}
	for _, r := range s.HostRoutes {
		d.Routes = append(d.Routes, topology.DHCPRoute{Dst: r.Destination, Gateway: r.NextHop})
	}
	for _, p := range t.portsOf[n.ID] {
		for _, ip := range p.FixedIPs {
			if p.DeviceOwner == OwnerDHCP && ip.SubnetID == s.ID {
				d.ServerAddr = ip.Addr
			}
		}
	}
	t.dhcp[s.ID] = d
	if !n.External || t.env.ProviderRouter.IsZero() || !s.Gateway.IsValid() {
		return
	}
	rp, bp := DeriveID(s.ID, "provider-port"), DeriveID(s.ID, "provider-peer")
	name := NativeName(s.Name, "subnet", s.ID)
	t.out.Ports = append(t.out.Ports,
		topology.Port{ID: rp, Name: name + "-provider", Router: t.env.ProviderRouter, Peer: bp,
			Subnets: []netip.Prefix{s.CIDR}, Address: s.Gateway, MAC: derivedMAC(rp)},
		topology.Port{ID: bp, Name: name + "-provider-peer", Bridge: n.ID, Peer: rp})
}

// finish assembles what several objects contributed to: DHCP subnets,
// address groups, router chains; and sorts every kind by ID.
func (t *translator) finish() {
	for _, d := range t.dhcp {
		t.out.DHCPSubnets = append(t.out.DHCPSubnets, *d)
	}
	for _, g := range t.groups {
		slices.SortFunc(g.Addrs, netip.Addr.Compare)
		g.Addrs = slices.Compact(g.Addrs)
		t.out.IPAddrGroups = append(t.out.IPAddrGroups, *g)
	}
	for _, r := range t.m.SortedRouters() {
		if _, ok := t.routerOf(r.ID); !ok {
			continue
		}
		t.out.Chains = append(t.out.Chains,
			topology.Chain{ID: DeriveID(r.ID, "pre"), Name: r.NativeName() + "-pre", Rules: t.pre[r.ID]},
			topology.Chain{ID: DeriveID(r.ID, "post"), Name: r.NativeName() + "-post", Rules: t.post[r.ID]})
	}
	byID := func(a, b topology.ID) int { return cmp.Compare(string(a[:]), string(b[:])) }
	slices.SortFunc(t.out.Bridges, func(a, b topology.Bridge) int { return byID(a.ID, b.ID) })
	slices.SortFunc(t.out.Routers, func(a, b topology.Router) int { return byID(a.ID, b.ID) })
	slices.SortFunc(t.out.Ports, func(a, b topology.Port) int { return byID(a.ID, b.ID) })
	slices.SortFunc(t.out.Chains, func(a, b topology.Chain) int { return byID(a.ID, b.ID) })
	slices.SortFunc(t.out.Routes, func(a, b topology.Route) int { return byID(a.ID, b.ID) })
	slices.SortFunc(t.out.IPAddrGroups, func(a, b topology.IPAddrGroup) int { return byID(a.ID, b.ID) })
	slices.SortFunc(t.out.DHCPSubnets, func(a, b topology.DHCPSubnet) int { return byID(a.ID, b.ID) })
	slices.SortFunc(t.out.Seeds, compareSeeds)
	t.out.Seeds = slices.Compact(t.out.Seeds)
}

func compareSeeds(a, b Seed) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(string(a.Bridge[:]), string(b.Bridge[:])),
		a.Addr.Compare(b.Addr), cmp.Compare(string(a.MAC[:]), string(b.MAC[:])), cmp.Compare(string(a.Port[:]), string(b.Port[:])))
}

// routerOf reports whether the model's router id is translated.
func (t *translator) routerOf(id topology.ID) (*Router, bool) {
	r, ok := t.m.Routers[id]
	return r, ok
}

// Rule building.

func rule(chain topology.ID, role string, a topology.Action, c topology.Condition) topology.Rule {
	return topology.Rule{ID: DeriveID(chain, role), Type: topology.RuleLiteral, Action: a, Condition: c}
}

func jump(chain topology.ID, role string, to topology.ID) topology.Rule {
	return topology.Rule{ID: DeriveID(chain, role), Type: topology.RuleJump, Action: topology.ActionJump, JumpChain: to}
}

func host32(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, 32) }

const etherIPv4, etherARP = 0x0800, 0x0806
