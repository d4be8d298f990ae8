package neutron

import (
	"crypto/rand"
	"io"
	"net/netip"
	"slices"

	"github.com/hivenet/hivenet/topology"
)

// newID returns a fresh random ID from m.Rand.
func (m *Model) newID() topology.ID {
	r := m.Rand
	if r == nil {
		r = rand.Reader
	}
	id, err := topology.NewID(r)
	if err != nil {
		panic("neutron: random source failed: " + err.Error())
	}
	return id
}

// newMAC returns a MAC with Neutron's prefix fa:16:3e that no port of
// network has.
func (m *Model) newMAC(network topology.ID) topology.MAC {
	r := m.Rand
	if r == nil {
		r = rand.Reader
	}
	for {
		mac := topology.MAC{0xfa, 0x16, 0x3e}
		if _, err := io.ReadFull(r, mac[3:]); err != nil {
			panic("neutron: random source failed: " + err.Error())
		}
		if !m.macTaken(network, mac, topology.ID{}) {
			return mac
		}
	}
}

func (m *Model) macTaken(network topology.ID, mac topology.MAC, except topology.ID) bool {
	for _, p := range m.Ports {
		if p.NetworkID == network && p.MAC == mac && p.ID != except {
			return true
		}
	}
	return false
}

// first and last usable addresses of an IPv4 prefix (network and broadcast
// excluded for prefixes shorter than /31).
func hostRange(p netip.Prefix) (netip.Addr, netip.Addr) {
	first := p.Masked().Addr()
	last := lastAddr(p)
	if p.Bits() < 31 {
		first, last = first.Next(), last.Prev()
	}
	return first, last
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// defaultPools are the host range of cidr without the gateway.
func defaultPools(cidr netip.Prefix, gw netip.Addr) []Pool {
	first, last := hostRange(cidr)
	if last.Less(first) {
		return nil
	}
	if !gw.IsValid() || gw.Less(first) || last.Less(gw) {
		return []Pool{{first, last}}
	}
	var out []Pool
	if first.Less(gw) {
		out = append(out, Pool{first, gw.Prev()})
	}
	if gw.Less(last) {
		out = append(out, Pool{gw.Next(), last})
	}
	return out
}

// checkSubnetAddrs checks a subnet's gateway and pools against its CIDR.
func checkSubnetAddrs(s *Subnet) error {
	first, last := hostRange(s.CIDR)
	if s.Gateway.IsValid() {
		if !s.Gateway.Is4() || !s.CIDR.Contains(s.Gateway) {
			return badRequest("Gateway IP %s is outside subnet %s.", s.Gateway, s.CIDR)
		}
		if s.CIDR.Bits() < 31 && (s.Gateway == s.CIDR.Addr() || s.Gateway == lastAddr(s.CIDR)) {
			return invalidInput("Gateway is not valid on subnet.")
		}
	}
	pools := slices.Clone(s.Pools)
	slices.SortFunc(pools, func(a, b Pool) int { return a.Start.Compare(b.Start) })
	for i, p := range pools {
		if !p.Start.Is4() || !p.End.Is4() || p.End.Less(p.Start) {
			return badRequest("Invalid allocation pool %s-%s.", p.Start, p.End)
		}
		if p.Start.Less(first) || last.Less(p.End) {
			return badRequest("The allocation pool %s-%s spans beyond the subnet cidr %s.", p.Start, p.End, s.CIDR)
		}
		if s.Gateway.IsValid() && p.Contains(s.Gateway) {
			return conflict("GatewayConflictWithAllocationPools", "Gateway ip %s conflicts with allocation pool %s-%s.", s.Gateway, p.Start, p.End)
		}
		if i > 0 && !pools[i-1].End.Less(p.Start) {
			return badRequest("Found overlapping allocation pools: %s-%s and %s-%s for subnet %s.",
				pools[i-1].Start, pools[i-1].End, p.Start, p.End, s.CIDR)
		}
	}
	for _, r := range s.HostRoutes {
		if !r.Destination.Addr().Is4() || !r.NextHop.Is4() {
			return badRequest("Host route %s via %s is not IPv4.", r.Destination, r.NextHop)
		}
	}
	for _, d := range s.DNS {
		if !d.Is4() {
			return badRequest("DNS server %s is not IPv4.", d)
		}
	}
	return nil
}

// inUse reports the addresses of a subnet held by ports (but except) and
// floating IPs.
func (m *Model) inUse(s *Subnet, except topology.ID) map[netip.Addr]bool {
	used := map[netip.Addr]bool{}
	for _, p := range m.Ports {
		if p.ID == except {
			continue
		}
		for _, ip := range p.FixedIPs {
			if ip.SubnetID == s.ID {
				used[ip.Addr] = true
			}
		}
	}
	for _, f := range m.FloatingIPs {
		if f.NetworkID == s.NetworkID && s.CIDR.Contains(f.Addr) {
			used[f.Addr] = true
		}
	}
	return used
}

// allocate returns the lowest free address of the subnet's pools.
func (m *Model) allocate(s *Subnet, used map[netip.Addr]bool) (netip.Addr, error) {
	pools := slices.Clone(s.Pools)
	slices.SortFunc(pools, func(a, b Pool) int { return a.Start.Compare(b.Start) })
	for _, p := range pools {
		for a := p.Start; a.IsValid() && !p.End.Less(a); a = a.Next() {
			if !used[a] {
				return a, nil
			}
		}
	}
	return netip.Addr{}, conflict("IpAddressGenerationFailure", "No more IP addresses available on network %s.", s.NetworkID)
}

// assignIPs resolves a port's requested fixed IPs on network (nil: one
// address on the network's first subnet) for the port with ID self.
func (m *Model) assignIPs(network, self topology.ID, reqs *[]IPRequest) ([]FixedIP, error) {
	subnets := m.SubnetsOf(network)
	if reqs == nil {
		if len(subnets) == 0 {
			return nil, nil
		}
		reqs = &[]IPRequest{{SubnetID: subnets[0].ID}}
	}
	var out []FixedIP
	taken := map[netip.Addr]bool{}
	for _, r := range *reqs {
		var s *Subnet
		switch {
		case !r.SubnetID.IsZero():
			s = m.Subnets[r.SubnetID]
			if s == nil {
				return nil, notFound("SubnetNotFound", "Subnet %s could not be found.", r.SubnetID)
			}
			if s.NetworkID != network {
				return nil, badRequest("Invalid input for fixed_ips: subnet %s is not on network %s.", s.ID, network)
			}
		case r.Addr.IsValid():
			for _, c := range subnets {
				if c.CIDR.Contains(r.Addr) {
					s = c
				}
			}
			if s == nil {
				return nil, badRequest("IP address %s is not a valid IP for any of the subnets on the specified network.", r.Addr)
			}
		default:
			return nil, badRequest("Invalid input for fixed_ips: each needs a subnet_id or an ip_address.")
		}
		used := m.inUse(s, self)
		for a := range taken {
			used[a] = true
		}
		addr := r.Addr
		if addr.IsValid() {
			if !addr.Is4() || !s.CIDR.Contains(addr) {
				return nil, badRequest("IP address %s is not a valid IP for the specified subnet.", addr)
			}
			if used[addr] {
				return nil, conflict("IpAddressAlreadyAllocated", "IP address %s already allocated in subnet %s", addr, s.ID)
			}
		} else {
			a, err := m.allocate(s, used)
			if err != nil {
				return nil, err
			}
			addr = a
		}
		taken[addr] = true
		out = append(out, FixedIP{SubnetID: s.ID, Addr: addr})
	}
	return out, nil
}
