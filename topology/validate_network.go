package topology

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Classes of the network-consistency problems Validate reports besides the
// structural ones.
var (
	// ErrGatewayOutsideSubnet: a route's gateway is not in any subnet of
	// the port it leaves by, so it could never be resolved.
	ErrGatewayOutsideSubnet = fmt.Errorf("route gateway outside its port's subnets")
	// ErrDuplicateMAC: two router ports share a MAC address.
	ErrDuplicateMAC = fmt.Errorf("duplicate MAC address")
	// ErrDuplicateDHCPHost: two host entries of one DHCP subnet share a MAC
	// or an address.
	ErrDuplicateDHCPHost = fmt.Errorf("duplicate DHCP host entry")
	// ErrDuplicateTunnelAddr: two hosts have the same underlay address.
	ErrDuplicateTunnelAddr = fmt.Errorf("duplicate tunnel address")
)

// validateNetwork adds the problems that make a topology load but not
// work: gateways that cannot be reached, addresses and MACs that two
// objects claim, names that C-string tools (ZooKeeper paths, OVSDB) cut.
func (t *Topology) validateNetwork(ps *problems, byID map[ID]Object) {
	for o := range t.Objects() {
		if n := o.ObjectName(); strings.ContainsRune(n, 0) {
			ps.add(o, "name", ErrInvalidField, fmt.Sprintf("name %q holds a NUL byte", n))
		}
	}
	for i := range t.Routes {
		r := &t.Routes[i]
		if r.NextHop != NextHopPort || !r.HasGateway() || !r.Gateway.Is4() {
			continue
		}
		p, ok := byID[r.NextHopPort].(*Port)
		if !ok || p.Router != r.Router || len(p.Subnets) == 0 {
			continue // a foreign port is reported as such
		}
		if !slices.ContainsFunc(p.Subnets, func(s netip.Prefix) bool { return s.Contains(r.Gateway) }) {
			ps.add(r, "gateway", ErrGatewayOutsideSubnet, fmt.Sprintf("gateway %s is in no subnet of port %s (%s)", r.Gateway, quoteName(p), prefixes(p.Subnets)))
		}
	}
	macs := make(map[MAC]*Port)
	for i := range t.Ports {
		p := &t.Ports[i]
		if p.Router.IsZero() || p.MAC.IsZero() {
			continue
		}
		if prev, dup := macs[p.MAC]; dup {
			ps.add(p, "mac", ErrDuplicateMAC, fmt.Sprintf("%s is also router port %s's MAC", p.MAC, quoteName(prev)))
		} else {
			macs[p.MAC] = p
		}
	}
	for i := range t.DHCPSubnets {
		d := &t.DHCPSubnets[i]
		byMAC := make(map[MAC]int)
		byAddr := make(map[netip.Addr]int)
		for j, h := range d.Hosts {
			field := "hosts[" + strconv.Itoa(j) + "]"
			if k, dup := byMAC[h.MAC]; dup {
				ps.add(d, field+".mac", ErrDuplicateDHCPHost, fmt.Sprintf("%s is also hosts[%d]'s MAC", h.MAC, k))
			} else {
				byMAC[h.MAC] = j
			}
			if !h.Addr.IsValid() {
				continue
			}
			if k, dup := byAddr[h.Addr]; dup {
				ps.add(d, field+".addr", ErrDuplicateDHCPHost, fmt.Sprintf("%s is also hosts[%d]'s address", h.Addr, k))
			} else {
				byAddr[h.Addr] = j
			}
		}
	}
	addrs := make(map[netip.Addr]ID)
	for i := range t.TunnelZones {
		z := &t.TunnelZones[i]
		for j, m := range z.Members {
			if !m.Addr.IsValid() {
				continue
			}
			if h, dup := addrs[m.Addr]; dup && h != m.Host {
				ps.add(z, "members["+strconv.Itoa(j)+"].addr", ErrDuplicateTunnelAddr,
					fmt.Sprintf("host %s and host %s both use %s", peerName(m.Host, byID), peerName(h, byID), m.Addr))
			} else {
				addrs[m.Addr] = m.Host
			}
		}
	}
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
