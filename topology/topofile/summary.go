package topofile

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/hivenet/hivenet/topology"
)

// Summarize writes a readable summary of t: hosts and tunnel zones, bridges
// with their ports, bindings and DHCP, routers with their ports and whole
// routing tables (implicit local and connected routes included), the NAT
// rules of their filters, chains with one rule per line, load balancers,
// groups and VTEPs.
func Summarize(w io.Writer, t *topology.Topology) error {
	// The tab writer writes a line in several pieces: buffered, they
	// cost one system call per 64 KiB rather than a few per line.
	bw := bufio.NewWriterSize(w, 64<<10)
	s := &summary{t: t, tw: tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)}
	// The three indexes read t only: on a large topology, building them
	// side by side takes the time of the largest.
	var wg sync.WaitGroup
	wg.Go(func() { s.f = NewFormatter(t) })
	wg.Go(func() { s.x = newSummaryIndex(t) })
	s.snap = topology.NewSnapshot(withoutVMPorts(t))
	wg.Wait()
	s.header()
	s.hosts()
	s.bridges()
	s.routers()
	s.chains()
	s.loadBalancers()
	s.groups()
	s.vteps()
	if err := s.tw.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}

// withoutVMPorts returns t without its exterior bridge ports: the summary
// reads its snapshot for routing tables, chains, tunnel zones, health
// monitors and interior ports' peers, none of which depends on them, and
// they are most of a large deployment's objects.
func withoutVMPorts(t *topology.Topology) *topology.Topology {
	sub := *t
	sub.Ports = make([]topology.Port, 0, len(t.Ports)/8)
	for i := range t.Ports {
		if p := &t.Ports[i]; p.Bridge.IsZero() || p.Kind() != topology.PortExterior {
			sub.Ports = append(sub.Ports, *p)
		}
	}
	return &sub
}

type summary struct {
	t    *topology.Topology
	f    *Formatter
	snap *topology.Snapshot
	x    *summaryIndex
	tw   *tabwriter.Writer
}

// line writes one line of tab-aligned columns; trailing empty columns are
// dropped so that lines carry no padding.
func (s *summary) line(indent int, cols ...string) {
	for len(cols) > 1 && cols[len(cols)-1] == "" {
		cols = cols[:len(cols)-1]
	}
	fmt.Fprintln(s.tw, strings.Repeat("  ", indent)+strings.Join(cols, "\t"))
}

// heading writes a line that is not part of any column block.
func (s *summary) heading(indent int, parts ...string) {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	fmt.Fprintln(s.tw, strings.Repeat("  ", indent)+strings.Join(kept, "  "))
}

func (s *summary) section(title string, n int) bool {
	if n == 0 {
		return false
	}
	s.line(0, "")
	s.line(0, title)
	return true
}

func (s *summary) name(k topology.Kind, id topology.ID) string { return s.f.Name(k, id) }

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func (s *summary) header() {
	t := s.t
	rules := 0
	for _, c := range t.Chains {
		rules += len(c.Rules)
	}
	s.line(0, fmt.Sprintf("Topology: %s, %s, %s, %s, %s, %s (%s)", plural(len(t.Hosts), "host"),
		plural(len(t.TunnelZones), "tunnel zone"), plural(len(t.Bridges), "bridge"), plural(len(t.Routers), "router"),
		plural(len(t.Ports), "port"), plural(len(t.Chains), "chain"), plural(rules, "rule")))
}

func (s *summary) hosts() {
	if s.section("Hosts", len(s.t.Hosts)) {
		for _, h := range s.t.Hosts {
			var zones, ports []string
			for _, z := range s.snap.HostZones(h.ID) {
				tz, _ := s.snap.TunnelZone(z)
				a, _ := tz.MemberAddr(h.ID)
				zones = append(zones, s.name(topology.KindTunnelZone, z)+" "+a.String())
			}
			for _, p := range s.x.portsByHost[h.ID] {
				ports = append(ports, s.name(topology.KindPort, p.ID)+"="+p.Interface)
			}
			extra := ""
			if h.FloodingProxyWeight.Set {
				extra = "flooding-proxy-weight " + uintString(h.FloodingProxyWeight.Value)
			}
			cols := []string{s.name(topology.KindHost, h.ID)}
			if len(s.t.TunnelZones) > 0 {
				cols = append(cols, strings.Join(zones, ", "))
			}
			s.line(1, append(cols, strings.Join(ports, " "), extra)...)
		}
	}
	if s.section("Tunnel zones", len(s.t.TunnelZones)) {
		for _, z := range s.t.TunnelZones {
			var ms []string
			for _, m := range z.Members {
				ms = append(ms, s.name(topology.KindHost, m.Host)+" "+m.Addr.String())
			}
			s.line(1, s.name(topology.KindTunnelZone, z.ID), z.Type.String(), strings.Join(ms, ", "))
		}
	}
}

// filters describes a device's filter chains.
func (s *summary) filters(in, out topology.ID, inName, outName string) string {
	var parts []string
	if !in.IsZero() {
		parts = append(parts, inName+" "+s.name(topology.KindChain, in))
	}
	if !out.IsZero() {
		parts = append(parts, outName+" "+s.name(topology.KindChain, out))
	}
	return strings.Join(parts, ", ")
}

func (s *summary) portLine(p *topology.Port) []string {
	attach := p.Kind().String()
	switch p.Kind() {
	case topology.PortExterior:
		if !p.VTEP.IsZero() {
			attach += " vtep " + s.name(topology.KindVTEP, p.VTEP)
		} else {
			attach += " " + s.name(topology.KindHost, p.Host) + "/" + p.Interface
		}
	case topology.PortInterior:
		attach += " peer " + s.name(topology.KindPort, p.Peer)
		if peer, ok := s.snap.Port(p.Peer); ok {
			if peer.IsRouterPort() {
				attach += " (router " + s.name(topology.KindRouter, peer.Router) + ")"
			} else {
				attach += " (bridge " + s.name(topology.KindBridge, peer.Bridge) + ")"
			}
		}
	}
	var extra []string
	if f := s.filters(p.InboundFilter, p.OutboundFilter, "in", "out"); f != "" {
		extra = append(extra, f)
	}
	if p.VLAN != 0 {
		extra = append(extra, "vlan "+uintString(p.VLAN))
	}
	var groups []string
	for _, g := range p.PortGroups {
		groups = append(groups, s.name(topology.KindPortGroup, g))
	}
	if len(groups) > 0 {
		extra = append(extra, "groups "+strings.Join(groups, " "))
	}
	if p.AdminDown {
		extra = append(extra, "DOWN")
	}
	return []string{attach, strings.Join(extra, "; ")}
}

func (s *summary) bridges() {
	if !s.section("Bridges", len(s.t.Bridges)) {
		return
	}
	for i := range s.t.Bridges {
		b := &s.t.Bridges[i]
		head := []string{s.name(topology.KindBridge, b.ID)}
		var attrs []string
		if b.VNI != 0 {
			attrs = append(attrs, "vni "+uintString(b.VNI))
		}
		if f := s.filters(b.InboundFilter, b.OutboundFilter, "in", "out"); f != "" {
			attrs = append(attrs, f)
		}
		if b.AdminDown {
			attrs = append(attrs, "DOWN")
		}
		s.heading(1, append(head, strings.Join(attrs, "; "))...)
		for _, p := range s.x.portsByBridge[b.ID] {
			s.line(2, append([]string{s.name(topology.KindPort, p.ID)}, s.portLine(p)...)...)
		}
		for _, d := range s.x.dhcpByBridge[b.ID] {
			desc := []string{"dhcp " + d.Subnet.String()}
			if d.ServerAddr.IsValid() {
				desc = append(desc, "server "+d.ServerAddr.String())
			}
			if d.Gateway.IsValid() {
				desc = append(desc, "gateway "+d.Gateway.String())
			}
			for _, a := range d.DNSServers {
				desc = append(desc, "dns "+a.String())
			}
			if d.MTU != 0 {
				desc = append(desc, "mtu "+uintString(d.MTU))
			}
			if d.Disabled {
				desc = append(desc, "DISABLED")
			}
			s.heading(2, strings.Join(desc, " "))
			for _, h := range d.Hosts {
				s.line(3, h.Name, h.MAC.String(), h.Addr.String())
			}
		}
	}
}

func (s *summary) routers() {
	if !s.section("Routers", len(s.t.Routers)) {
		return
	}
	explicit := make(map[topology.ID]bool, len(s.t.Routes))
	for _, r := range s.t.Routes {
		explicit[r.ID] = true
	}
	for i := range s.t.Routers {
		r := &s.t.Routers[i]
		var attrs []string
		if f := s.filters(r.InboundFilter, r.OutboundFilter, "pre-routing", "post-routing"); f != "" {
			attrs = append(attrs, f)
		}
		if !r.LoadBalancer.IsZero() {
			attrs = append(attrs, "load balancer "+s.name(topology.KindLoadBalancer, r.LoadBalancer))
		}
		if r.ASNumber != 0 {
			attrs = append(attrs, "AS "+uintString(r.ASNumber))
		}
		if r.AdminDown {
			attrs = append(attrs, "DOWN")
		}
		s.heading(1, s.name(topology.KindRouter, r.ID), strings.Join(attrs, "; "))
		s.heading(2, "ports")
		for _, p := range s.x.portsByRouter[r.ID] {
			addr := PortAddress(p)
			for _, sn := range p.Subnets {
				if sn != p.Subnet() {
					addr += " +" + sn.String()
				}
			}
			s.line(3, append([]string{s.name(topology.KindPort, p.ID), addr, p.MAC.String()}, s.portLine(p)...)...)
		}
		if rv, ok := s.snap.RouterView(r.ID); ok && rv.Routes.Len() > 0 {
			s.heading(2, "routes")
			routes := rv.Routes.Routes()
			slices.SortStableFunc(routes, func(a, b *topology.Route) int {
				return cmp.Or(cmp.Compare(b.Dst.Bits(), a.Dst.Bits()), a.Dst.Addr().Compare(b.Dst.Addr()))
			})
			for _, rt := range routes {
				origin := "implicit"
				if explicit[rt.ID] {
					origin = "static"
				}
				dst, via, _ := strings.Cut(s.f.Route(rt), " ")
				s.line(3, dst, origin, via)
			}
		}
		var nat []string
		for _, f := range []struct {
			where string
			chain topology.ID
		}{{"pre-routing", r.InboundFilter}, {"post-routing", r.OutboundFilter}} {
			c, ok := s.snap.Chain(f.chain)
			if !ok {
				continue
			}
			for k := range c.Rules {
				if c.Rules[k].Type == topology.RuleNAT {
					nat = append(nat, f.where+"\t"+s.f.Rule(&c.Rules[k]))
				}
			}
		}
		if len(nat) > 0 {
			s.heading(2, "nat")
			for _, n := range nat {
				s.line(3, n)
			}
		}
	}
}

func (s *summary) chains() {
	if !s.section("Chains", len(s.t.Chains)) {
		return
	}
	for i := range s.t.Chains {
		c := &s.t.Chains[i]
		s.heading(1, s.name(topology.KindChain, c.ID))
		for j := range c.Rules {
			s.line(2, fmt.Sprintf("%2d  %s", j, s.f.Rule(&c.Rules[j])))
		}
	}
}

func (s *summary) loadBalancers() {
	if !s.section("Load balancers", len(s.t.LoadBalancers)) {
		return
	}
	for _, lb := range s.t.LoadBalancers {
		var routers []string
		for _, r := range s.x.routersByLB[lb.ID] {
			routers = append(routers, "router "+s.name(topology.KindRouter, r.ID))
		}
		if lb.AdminDown {
			routers = append(routers, "DOWN")
		}
		s.line(1, s.name(topology.KindLoadBalancer, lb.ID), strings.Join(routers, ", "))
		for _, p := range s.x.poolsByLB[lb.ID] {
			desc := []string{"pool " + s.name(topology.KindPool, p.ID), p.Method.String(), "persistence " + p.Persistence.String()}
			if hm, ok := s.snap.HealthMonitor(p.HealthMonitor); ok {
				desc = append(desc, fmt.Sprintf("monitor %s (delay %ds, timeout %ds, %d retries)",
					s.name(topology.KindHealthMonitor, hm.ID), hm.Delay, hm.Timeout, hm.MaxRetries))
			}
			if p.AdminDown {
				desc = append(desc, "DOWN")
			}
			s.line(2, strings.Join(desc, ", "))
			for _, vip := range s.x.vipsByPool[p.ID] {
				s.line(3, fmt.Sprintf("vip %s:%d", vip.Addr, vip.Port), "persistence "+vip.Persistence.String())
			}
			for _, m := range s.x.membersByPool[p.ID] {
				state := m.Status.String()
				if m.AdminDown {
					state += " DOWN"
				}
				s.line(3, fmt.Sprintf("member %s:%d", m.Addr, m.Port), "weight "+uintString(m.Weight), state)
			}
		}
	}
}

func (s *summary) groups() {
	if s.section("Port groups", len(s.t.PortGroups)) {
		for _, g := range s.t.PortGroups {
			var ms []string
			for _, p := range s.x.portsByGroup[g.ID] {
				ms = append(ms, s.name(topology.KindPort, p.ID))
			}
			state := ""
			if g.Stateful {
				state = "stateful"
			}
			s.line(1, s.name(topology.KindPortGroup, g.ID), state, strings.Join(ms, " "))
		}
	}
	if s.section("IP address groups", len(s.t.IPAddrGroups)) {
		for _, g := range s.t.IPAddrGroups {
			var as []string
			for _, a := range g.Addrs {
				as = append(as, a.String())
			}
			s.line(1, s.name(topology.KindIPAddrGroup, g.ID), strings.Join(as, " "))
		}
	}
}

func (s *summary) vteps() {
	if !s.section("VTEPs", len(s.t.VTEPs)) {
		return
	}
	for _, v := range s.t.VTEPs {
		s.line(1, s.name(topology.KindVTEP, v.ID), fmt.Sprintf("%s:%d", v.ManagementIP, v.ManagementPort),
			"zone "+s.name(topology.KindTunnelZone, v.TunnelZone))
		for _, b := range v.Bindings {
			s.line(2, fmt.Sprintf("%s vlan %d", b.PortName, b.VLAN), "bridge "+s.name(topology.KindBridge, b.Bridge))
		}
	}
}
