package topology

import (
	"strconv"
)

func (b *Bridge) Validate() error { return validateObject(b) }
func (b *Bridge) validate(ps *problems) {
	requireID(ps, b)
	if b.VNI != 0 && (b.VNI < 10000 || b.VNI >= 1<<24) {
		ps.add(b, "vni", ErrInvalidField, "VNI "+strconv.Itoa(int(b.VNI))+" is outside 10000-16777215")
	}
}

func (r *Router) Validate() error       { return validateObject(r) }
func (r *Router) validate(ps *problems) { requireID(ps, r) }

func (p *Port) Validate() error { return validateObject(p) }
func (p *Port) validate(ps *problems) {
	requireID(ps, p)
	switch {
	case p.Bridge.IsZero() && p.Router.IsZero():
		ps.add(p, "bridge", ErrInvalidField, "a port belongs to exactly one bridge or router; neither is set")
	case !p.Bridge.IsZero() && !p.Router.IsZero():
		ps.add(p, "router", ErrInvalidField, "a port belongs to exactly one bridge or router; both are set")
	}
	if !p.VTEP.IsZero() && p.Bridge.IsZero() {
		ps.add(p, "vtep", ErrInvalidField, "a VTEP port must belong to a bridge")
	}
	if !p.Peer.IsZero() && p.Peer == p.ID {
		ps.add(p, "peer", ErrSelfPeer, "")
	}
	if p.Host.IsZero() != (p.Interface == "") {
		field := "interface"
		if p.Host.IsZero() {
			field = "host"
		}
		ps.add(p, field, ErrInvalidField, "host and interface bind a port together; set both or neither")
	}
	if !p.Peer.IsZero() && (!p.Host.IsZero() || p.Interface != "" || !p.VTEP.IsZero()) {
		ps.add(p, "peer", ErrBoundAndPeered, "")
	}
	checkVLAN(ps, p, "vlan", p.VLAN)
	if !p.Router.IsZero() {
		if p.VLAN != 0 {
			ps.add(p, "vlan", ErrInvalidField, "only bridge ports carry a VLAN id")
		}
		for i, s := range p.Subnets {
			checkPrefix(ps, p, "subnets["+strconv.Itoa(i)+"]", s, true)
		}
		checkIPv4(ps, p, "address", p.Address, len(p.Subnets) > 0)
		if p.Address.IsValid() && p.Address.Is4() && !p.Subnet().IsValid() {
			ps.add(p, "address", ErrAddrOutsideSubnet, p.Address.String()+" is in none of the port's subnets")
		}
		if !p.MAC.IsUnicast() {
			ps.add(p, "mac", ErrInvalidField, "a router port needs a unicast MAC, not "+p.MAC.String())
		}
		if p.MTU != 0 && p.MTU < MinMTU {
			ps.add(p, "mtu", ErrInvalidField, "an MTU is at least "+strconv.Itoa(MinMTU)+" bytes (IPv4's minimum), not "+strconv.Itoa(int(p.MTU)))
		}
	} else if p.MTU != 0 {
		ps.add(p, "mtu", ErrInvalidField, "only router ports have an MTU")
	} else if len(p.Subnets) > 0 || p.Address.IsValid() || !p.MAC.IsZero() {
		ps.add(p, "address", ErrInvalidField, "only router ports have subnets, an address and a MAC")
	}
}

func (r *Route) Validate() error { return validateObject(r) }
func (r *Route) validate(ps *problems) {
	requireID(ps, r)
	requireRef(ps, r, "router", r.Router)
	checkPrefix(ps, r, "dst", r.Dst, true)
	checkPrefix(ps, r, "src", r.Src, false)
	checkIPv4(ps, r, "gateway", r.Gateway, false)
	switch r.NextHop {
	case NextHopPort:
		requireRef(ps, r, "next-hop-port", r.NextHopPort)
	case NextHopBlackhole, NextHopReject, NextHopLocal:
	default:
		ps.add(r, "next-hop", ErrInvalidField, "must be blackhole, reject, port or local")
	}
}

func (g *PortGroup) Validate() error       { return validateObject(g) }
func (g *PortGroup) validate(ps *problems) { requireID(ps, g) }

func (g *IPAddrGroup) Validate() error { return validateObject(g) }
func (g *IPAddrGroup) validate(ps *problems) {
	requireID(ps, g)
	for i, a := range g.Addrs {
		if !a.IsValid() {
			ps.add(g, "addrs["+strconv.Itoa(i)+"]", ErrInvalidField, "missing")
		}
	}
}

func (l *LoadBalancer) Validate() error       { return validateObject(l) }
func (l *LoadBalancer) validate(ps *problems) { requireID(ps, l) }

func (p *Pool) Validate() error { return validateObject(p) }
func (p *Pool) validate(ps *problems) {
	requireID(ps, p)
	requireRef(ps, p, "load-balancer", p.LoadBalancer)
	if p.Persistence > PersistenceSourceIP {
		ps.add(p, "persistence", ErrInvalidField, "unknown session persistence")
	}
}

func (m *PoolMember) Validate() error { return validateObject(m) }
func (m *PoolMember) validate(ps *problems) {
	requireID(ps, m)
	requireRef(ps, m, "pool", m.Pool)
	checkIPv4(ps, m, "addr", m.Addr, true)
	if m.Port == 0 {
		ps.add(m, "port", ErrInvalidField, "missing")
	}
	if m.Status > MemberMonitored {
		ps.add(m, "status", ErrInvalidField, "unknown status")
	}
}

func (v *VIP) Validate() error { return validateObject(v) }
func (v *VIP) validate(ps *problems) {
	requireID(ps, v)
	requireRef(ps, v, "pool", v.Pool)
	checkIPv4(ps, v, "addr", v.Addr, true)
	if v.Port == 0 {
		ps.add(v, "port", ErrInvalidField, "missing")
	}
}

func (h *HealthMonitor) Validate() error { return validateObject(h) }
func (h *HealthMonitor) validate(ps *problems) {
	requireID(ps, h)
	if h.Timeout > h.Delay && h.Delay != 0 {
		ps.add(h, "timeout", ErrInvalidField, "timeout exceeds the delay between probes")
	}
}

func (z *TunnelZone) Validate() error { return validateObject(z) }
func (z *TunnelZone) validate(ps *problems) {
	requireID(ps, z)
	if z.Type == TunnelZoneInvalid || z.Type > TunnelZoneVTEP {
		ps.add(z, "type", ErrInvalidField, "must be gre, vxlan or vtep")
	}
	hosts := make(map[ID]bool, len(z.Members))
	for i, m := range z.Members {
		f := "members[" + strconv.Itoa(i) + "]"
		requireRef(ps, z, f+".host", m.Host)
		checkIPv4(ps, z, f+".addr", m.Addr, true)
		if hosts[m.Host] {
			ps.add(z, f+".host", ErrDuplicateID, "host is a member twice")
		}
		hosts[m.Host] = true
	}
}

func (h *Host) Validate() error       { return validateObject(h) }
func (h *Host) validate(ps *problems) { requireID(ps, h) }

func (v *VTEP) Validate() error { return validateObject(v) }
func (v *VTEP) validate(ps *problems) {
	requireID(ps, v)
	checkIPv4(ps, v, "management-ip", v.ManagementIP, true)
	for i, b := range v.Bindings {
		f := "bindings[" + strconv.Itoa(i) + "]"
		if b.PortName == "" {
			ps.add(v, f+".port-name", ErrInvalidField, "missing")
		}
		checkVLAN(ps, v, f+".vlan", b.VLAN)
		requireRef(ps, v, f+".bridge", b.Bridge)
	}
}

func (d *DHCPSubnet) Validate() error { return validateObject(d) }
func (d *DHCPSubnet) validate(ps *problems) {
	requireID(ps, d)
	requireRef(ps, d, "bridge", d.Bridge)
	checkPrefix(ps, d, "subnet", d.Subnet, true)
	checkIPv4(ps, d, "server-addr", d.ServerAddr, false)
	checkIPv4(ps, d, "gateway", d.Gateway, false)
	if d.Subnet.IsValid() && d.ServerAddr.IsValid() && !d.Subnet.Contains(d.ServerAddr) {
		ps.add(d, "server-addr", ErrAddrOutsideSubnet, d.ServerAddr.String()+" is outside "+d.Subnet.String())
	}
	for i, h := range d.Hosts {
		f := "hosts[" + strconv.Itoa(i) + "]"
		checkIPv4(ps, d, f+".addr", h.Addr, true)
		if !h.MAC.IsUnicast() {
			ps.add(d, f+".mac", ErrInvalidField, "needs a unicast MAC")
		}
		if d.Subnet.IsValid() && h.Addr.IsValid() && !d.Subnet.Contains(h.Addr) {
			ps.add(d, f+".addr", ErrAddrOutsideSubnet, h.Addr.String()+" is outside "+d.Subnet.String())
		}
		for j, o := range h.Options {
			of := f + ".options[" + strconv.Itoa(j) + "]"
			if o.Code == 0 || o.Code == 255 {
				ps.add(d, of+".code", ErrInvalidField, "DHCP option codes run from 1 to 254 (0 is padding, 255 the end)")
			}
			if len(o.Value) > 255 {
				ps.add(d, of+".value", ErrInvalidField, "a DHCP option value holds at most 255 bytes, not "+strconv.Itoa(len(o.Value)))
			}
		}
	}
	if d.MTU != 0 && d.MTU < MinMTU {
		ps.add(d, "mtu", ErrInvalidField, "an MTU is at least "+strconv.Itoa(MinMTU)+" bytes (IPv4's minimum), not "+strconv.Itoa(int(d.MTU)))
	}
}

func (b *BGPPeer) Validate() error { return validateObject(b) }
func (b *BGPPeer) validate(ps *problems) {
	requireID(ps, b)
	requireRef(ps, b, "router", b.Router)
	checkIPv4(ps, b, "addr", b.Addr, true)
	if b.ASNumber == 0 {
		ps.add(b, "as-number", ErrInvalidField, "missing")
	}
}

func (b *BGPNetwork) Validate() error { return validateObject(b) }
func (b *BGPNetwork) validate(ps *problems) {
	requireID(ps, b)
	requireRef(ps, b, "router", b.Router)
	checkPrefix(ps, b, "subnet", b.Subnet, true)
}
