package neutron

import (
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// port translates a port: every port but a floating IP's is a bridge port
// with the port's ID; a router's interface or gateway port is also a router
// port peered with it; a VM port gets its binding, its security chains,
// DHCP host entries and seeds.
func (t *translator) port(p *Port) {
	n := t.m.Networks[p.NetworkID]
	if n == nil || p.DeviceOwner == OwnerFloatingIP || p.DeviceOwner == OwnerDHCP {
		return
	}
	bp := topology.Port{ID: p.ID, Name: p.NativeName(), Bridge: n.ID, AdminDown: p.AdminDown}
	if rid, ok := p.RouterOwner(); ok {
		if _, ok := t.routerOf(rid); ok && len(p.FixedIPs) > 0 {
			rp := topology.Port{ID: DeriveID(p.ID, "router-port"), Name: bp.Name + "-router", Router: rid, Peer: p.ID,
				Address: p.FixedIPs[0].Addr, MAC: p.MAC, AdminDown: p.AdminDown}
			for _, ip := range p.FixedIPs {
				if s := t.m.Subnets[ip.SubnetID]; s != nil {
					rp.Subnets = append(rp.Subnets, s.CIDR)
				}
			}
			if len(rp.Subnets) > 0 && rp.Subnets[0].Contains(rp.Address) {
				bp.Peer = rp.ID
				t.out.Ports = append(t.out.Ports, rp)
				t.routerPorts[p.ID] = rport{id: rp.ID, addr: rp.Address, subnet: rp.Subnets[0], mac: rp.MAC}
			}
		}
		t.out.Ports = append(t.out.Ports, bp)
		return
	}
	if hid, ok := t.env.Hosts[p.Host]; ok && p.Host != "" {
		bp.Host, bp.Interface = hid, p.Interface()
	}
	for _, ip := range p.FixedIPs {
		if d := t.dhcp[ip.SubnetID]; d != nil {
			d.Hosts = append(d.Hosts, topology.DHCPHost{MAC: p.MAC, Addr: ip.Addr, Name: bp.Name})
		}
		t.out.Seeds = append(t.out.Seeds, Seed{Kind: SeedIP4MAC, Bridge: n.ID, Addr: ip.Addr, MAC: p.MAC})
	}
	t.out.Seeds = append(t.out.Seeds, Seed{Kind: SeedMAC, Bridge: n.ID, MAC: p.MAC, Port: p.ID})
	if !p.NoPortSecurity {
		bp.InboundFilter, bp.OutboundFilter = t.portChains(p, bp.Name)
		for _, g := range p.SecurityGroups {
			if ag := t.groups[g]; ag != nil {
				for _, ip := range p.FixedIPs {
					ag.Addrs = append(ag.Addrs, ip.Addr)
				}
				for _, a := range p.AllowedPairs {
					if a.Prefix.Bits() == 32 {
						ag.Addrs = append(ag.Addrs, a.Prefix.Addr())
					}
				}
			}
		}
	}
	t.out.Ports = append(t.out.Ports, bp)
}

// portChains makes a VM port's chains and returns the inbound (traffic
// from the VM) and outbound (traffic to the VM) ones.
func (t *translator) portChains(p *Port, name string) (in, out topology.ID) {
	in, out, spoof := DeriveID(p.ID, "in"), DeriveID(p.ID, "out"), DeriveID(p.ID, "spoof")
	mac := topology.Is(topology.MACMatch{MAC: p.MAC})

	// Anti-spoofing: frames from the VM's MAC with one of its addresses
	// (ARP included: the sender address is the source) or an allowed
	// pair's, and DHCP requests, which have no address yet, return to the
	// inbound chain; everything else is dropped.
	var sr []topology.Rule
	for _, ip := range p.FixedIPs {
		sr = append(sr, rule(spoof, "ip:"+ip.Addr.String(), topology.ActionReturn,
			topology.Condition{EthSrc: mac, NwSrc: topology.Is(host32(ip.Addr))}))
	}
	for _, a := range p.AllowedPairs {
		pm := mac
		if !a.MAC.IsZero() {
			pm = topology.Is(topology.MACMatch{MAC: a.MAC})
		}
		sr = append(sr, rule(spoof, "pair:"+a.Prefix.String()+"/"+pm.Value.MAC.String(), topology.ActionReturn,
			topology.Condition{EthSrc: pm, NwSrc: topology.Is(a.Prefix)}))
	}
	sr = append(sr, rule(spoof, "dhcp", topology.ActionReturn, topology.Condition{EthSrc: mac,
		EtherType: topology.Is[uint16](etherIPv4), NwProto: topology.Is[uint8](17),
		TpSrc: topology.Is(topology.PortRange{Start: 68, End: 68}), TpDst: topology.Is(topology.PortRange{Start: 67, End: 67})}))
	sr = append(sr, rule(spoof, "drop", topology.ActionDrop, topology.Condition{}))

	ir := []topology.Rule{
		jump(in, "spoof", spoof),
		rule(in, "return-flow", topology.ActionAccept, topology.Condition{MatchReturnFlow: true}),
	}
	or := []topology.Rule{rule(out, "return-flow", topology.ActionAccept, topology.Condition{MatchReturnFlow: true})}
	for _, g := range p.SecurityGroups {
		if _, ok := t.groups[g]; ok {
			ir = append(ir, jump(in, "group:"+g.String(), DeriveID(g, Egress)))
			or = append(or, jump(out, "group:"+g.String(), DeriveID(g, Ingress)))
		}
	}
	arp := topology.Condition{EtherType: topology.Is[uint16](etherARP)}
	ir = append(ir, rule(in, "arp", topology.ActionAccept, arp), rule(in, "drop", topology.ActionDrop, topology.Condition{}))
	or = append(or, rule(out, "arp", topology.ActionAccept, arp), rule(out, "drop", topology.ActionDrop, topology.Condition{}))
	t.out.Chains = append(t.out.Chains,
		topology.Chain{ID: in, Name: name + "-in", Rules: ir},
		topology.Chain{ID: out, Name: name + "-out", Rules: or},
		topology.Chain{ID: spoof, Name: name + "-spoof", Rules: sr})
	return in, out
}

// securityGroup makes a group's address group and its ingress and egress
// chains, one accept rule per IPv4 rule (and one for the later fragments
// of a rule on L4 ports).
func (t *translator) securityGroup(g *SecurityGroup) {
	name := g.NativeName()
	t.groups[g.ID] = &topology.IPAddrGroup{ID: g.ID, Name: name}
	chains := map[string]*topology.Chain{
		Ingress: {ID: DeriveID(g.ID, Ingress), Name: name + "-ingress"},
		Egress:  {ID: DeriveID(g.ID, Egress), Name: name + "-egress"},
	}
	for _, r := range t.rulesOf[g.ID] {
		c := chains[r.Direction]
		if c == nil || r.EtherType != IPv4 {
			continue
		}
		cond, ok := t.ruleCondition(r)
		if !ok {
			continue
		}
		c.Rules = append(c.Rules, topology.Rule{ID: r.ID, Type: topology.RuleLiteral, Action: topology.ActionAccept, Condition: cond})
		if cond.HasL4() {
			frag := cond
			frag.TpSrc, frag.TpDst, frag.FragmentPolicy = topology.Cond[topology.PortRange]{}, topology.Cond[topology.PortRange]{}, topology.FragmentNonHeader
			c.Rules = append(c.Rules, topology.Rule{ID: DeriveID(r.ID, "fragments"), Type: topology.RuleLiteral, Action: topology.ActionAccept, Condition: frag})
		}
	}
	t.out.Chains = append(t.out.Chains, *chains[Ingress], *chains[Egress])
}

// ruleCondition is the condition of a security group rule's accept rule;
// false when the rule names a remote group the model lacks.
func (t *translator) ruleCondition(r *SecurityGroupRule) (topology.Condition, bool) {
	c := topology.Condition{EtherType: topology.Is[uint16](etherIPv4)}
	if r.Protocol != nil {
		c.NwProto = topology.Is(*r.Protocol)
		switch {
		case *r.Protocol == 1:
			if r.PortMin != nil {
				c.TpSrc = topology.Is(topology.PortRange{Start: *r.PortMin, End: *r.PortMin})
			}
			if r.PortMax != nil {
				c.TpDst = topology.Is(topology.PortRange{Start: *r.PortMax, End: *r.PortMax})
			}
		case r.PortMin != nil:
			hi := *r.PortMin
			if r.PortMax != nil {
				hi = *r.PortMax
			}
			c.TpDst = topology.Is(topology.PortRange{Start: *r.PortMin, End: hi})
		}
	}
	remote := topology.Cond[netip.Prefix]{}
	if r.RemotePrefix.IsValid() && r.RemotePrefix.Bits() > 0 {
		remote = topology.Is(r.RemotePrefix)
	}
	group := topology.Cond[topology.ID]{}
	if !r.RemoteGroup.IsZero() {
		if _, ok := t.m.SecurityGroups[r.RemoteGroup]; !ok {
			return c, false
		}
		group = topology.Is(r.RemoteGroup)
	}
	if r.Direction == Ingress {
		c.NwSrc, c.IPAddrGroupSrc = remote, group
	} else {
		c.NwDst, c.IPAddrGroupDst = remote, group
	}
	return c, true
}
