package harness

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// State is everything the harness remembers between packets, as named
// values: what the test sets with SetState and reads with State. Lists are
// sorted by their String form.
type State struct {
	// MACs are the bridges' MAC tables.
	MACs []MACEntry
	// IP4MACs are the bridges' IPv4-MAC tables (learned from gratuitous
	// ARP).
	IP4MACs []IP4MACEntry
	// ARP are the routers' ARP tables.
	ARP []ARPEntry
	// Inactive lists the exterior ports that are not active (every other
	// exterior port is, and publishes its routes).
	Inactive []string
	// Conns are the connection-tracking keys: a packet matching one
	// entering Device is a return flow.
	Conns []Conn
	// NATs are the NAT keys and their bindings, the load balancers'
	// mappings included (keys of the load balancer's device; sticky ones
	// map a client address to a backend).
	NATs []NAT
}

// MACEntry maps VLAN/MAC to a port in a bridge's MAC table.
type MACEntry struct {
	Bridge string
	VLAN   uint16
	MAC    topology.MAC
	Port   string
}

// String returns the entry as "owner key -> value".
func (e MACEntry) String() string {
	return fmt.Sprintf("%s vlan %d %s -> %s", e.Bridge, e.VLAN, e.MAC, e.Port)
}

// IP4MACEntry maps an address to a MAC in a bridge's IPv4-MAC table.
type IP4MACEntry struct {
	Bridge string
	IP     netip.Addr
	MAC    topology.MAC
}

// String returns the entry as "owner key -> value".
func (e IP4MACEntry) String() string { return fmt.Sprintf("%s %s -> %s", e.Bridge, e.IP, e.MAC) }

// ARPEntry maps an address to a MAC in a router's ARP table.
type ARPEntry struct {
	Router string
	IP     netip.Addr
	MAC    topology.MAC
}

// String returns the entry as "owner key -> value".
func (e ARPEntry) String() string { return fmt.Sprintf("%s %s -> %s", e.Router, e.IP, e.MAC) }

// Conn is a connection-tracking key on a device (the bridge or router
// whose exterior port the connection's forward packet left through).
type Conn struct {
	Device   string
	Proto    uint8
	Src, Dst netip.AddrPort
}

// String returns "device proto src->dst".
func (c Conn) String() string {
	return fmt.Sprintf("%s %s %s->%s", c.Device, protoName(c.Proto), c.Src, c.Dst)
}

// NAT is a NAT key on a device (a router, or a load balancer) and the
// address and port it translates to.
type NAT struct {
	Type     flowstate.NATKeyType
	Device   string
	Proto    uint8
	Src, Dst netip.AddrPort
	To       netip.AddrPort
}

// String returns "device type proto src->dst => to".
func (n NAT) String() string {
	return fmt.Sprintf("%s %s %s %s->%s => %s", n.Device, n.Type, protoName(n.Proto), n.Src, n.Dst, n.To)
}

func protoName(p uint8) string {
	switch p {
	case flowstate.ProtoTCP:
		return "tcp"
	case flowstate.ProtoUDP:
		return "udp"
	case flowstate.ProtoICMP:
		return "icmp"
	}
	return fmt.Sprintf("proto-%d", p)
}

// State returns the harness's state.
func (h *Harness) State() State {
	var s State
	n := h.names
	for k, p := range h.tables.macs {
		s.MACs = append(s.MACs, MACEntry{Bridge: n.name(k.bridge), VLAN: k.vlan, MAC: k.mac, Port: n.name(p)})
	}
	for k, m := range h.tables.ip4macs {
		s.IP4MACs = append(s.IP4MACs, IP4MACEntry{Bridge: n.name(k.dev), IP: k.ip, MAC: m})
	}
	for k, e := range h.tables.arp {
		s.ARP = append(s.ARP, ARPEntry{Router: n.name(k.dev), IP: k.ip, MAC: e.MAC})
	}
	for _, id := range h.exterior {
		if !h.tables.active[id] {
			s.Inactive = append(s.Inactive, n.name(id))
		}
	}
	h.svc.Conns().Range(func(k flowstate.ConnKey, _ struct{}) bool {
		s.Conns = append(s.Conns, Conn{Device: n.name(k.Device), Proto: k.Proto,
			Src: netip.AddrPortFrom(k.SrcIP.Addr(), k.SrcPort), Dst: netip.AddrPortFrom(k.DstIP.Addr(), k.DstPort)})
		return true
	})
	h.svc.NATs().Range(func(k flowstate.NATKey, b flowstate.NATBinding) bool {
		s.NATs = append(s.NATs, NAT{Type: k.Type, Device: n.name(k.Device), Proto: k.Proto,
			Src: netip.AddrPortFrom(k.SrcIP.Addr(), k.SrcPort), Dst: netip.AddrPortFrom(k.DstIP.Addr(), k.DstPort),
			To: netip.AddrPortFrom(b.IP.Addr(), b.Port)})
		return true
	})
	sortByString(s.MACs)
	sortByString(s.IP4MACs)
	sortByString(s.ARP)
	slices.Sort(s.Inactive)
	sortByString(s.Conns)
	sortByString(s.NATs)
	return s
}

func sortByString[T fmt.Stringer](s []T) {
	slices.SortFunc(s, func(a, b T) int { return cmp.Compare(a.String(), b.String()) })
}

// SetState replaces the harness's state with s (Config.Cold's preloading
// does not apply). Conntrack and NAT keys idle from now on, as keys no
// installed flow references. The NAT ports of SNAT keys set here are not
// known to the harness's leaser. On error nothing changes.
func (h *Harness) SetState(s State) error {
	t := newTables()
	for _, id := range h.exterior {
		t.active[id] = true
	}
	n := h.names
	for _, e := range s.MACs {
		b, err := n.id(topology.KindBridge, e.Bridge)
		if err != nil {
			return err
		}
		p, err := n.id(topology.KindPort, e.Port)
		if err != nil {
			return err
		}
		t.macs[macKey{b, e.VLAN, e.MAC}] = p
	}
	for _, e := range s.IP4MACs {
		b, err := n.id(topology.KindBridge, e.Bridge)
		if err != nil {
			return err
		}
		t.ip4macs[ipKey{b, e.IP}] = e.MAC
	}
	for _, e := range s.ARP {
		r, err := n.id(topology.KindRouter, e.Router)
		if err != nil {
			return err
		}
		t.arp[ipKey{r, e.IP}] = simulation.ARPEntry{MAC: e.MAC}
	}
	for _, name := range s.Inactive {
		p, err := h.exteriorPort(name)
		if err != nil {
			return err
		}
		t.active[p.ID] = false
	}
	conns := make([]flowstate.ConnKey, 0, len(s.Conns))
	for _, c := range s.Conns {
		k, err := h.connKey(c.Device, c.Proto, c.Src, c.Dst)
		if err != nil {
			return fmt.Errorf("conntrack key %v: %w", c, err)
		}
		conns = append(conns, k)
	}
	nats := make([]flowstate.NATEntry, 0, len(s.NATs))
	for _, x := range s.NATs {
		k, err := h.connKey(x.Device, x.Proto, x.Src, x.Dst)
		if err != nil {
			return fmt.Errorf("NAT key %v: %w", x, err)
		}
		b, ok := flowstate.IPv4From(x.To.Addr())
		if !x.Type.Valid() || !ok {
			return fmt.Errorf("%w: NAT key %v: bad type or translation", ErrBadState, x)
		}
		nats = append(nats, flowstate.NATEntry{Key: flowstate.NATKey{ConnKey: k, Type: x.Type},
			Binding: flowstate.NATBinding{IP: b, Port: x.To.Port()}})
	}
	h.tables = t
	h.svc.Abort()
	h.clearFlowState()
	for _, k := range conns {
		h.svc.Conns().Import(k, struct{}{})
	}
	for _, e := range nats {
		h.svc.NATs().Import(e.Key, e.Binding)
	}
	return nil
}

// connKey resolves a named connection-tracking key.
func (h *Harness) connKey(device string, proto uint8, src, dst netip.AddrPort) (flowstate.ConnKey, error) {
	var k flowstate.ConnKey
	var err error
	for _, kind := range []topology.Kind{topology.KindRouter, topology.KindBridge, topology.KindLoadBalancer} {
		if k.Device, err = h.names.id(kind, device); err == nil {
			break
		}
	}
	if err != nil {
		return k, fmt.Errorf("%w: no router, bridge or load balancer named %q", ErrUnknownName, device)
	}
	s, ok1 := flowstate.IPv4From(src.Addr())
	d, ok2 := flowstate.IPv4From(dst.Addr())
	if !ok1 || !ok2 {
		return k, fmt.Errorf("%w: addresses must be IPv4", ErrBadState)
	}
	k.SrcIP, k.DstIP, k.SrcPort, k.DstPort, k.Proto = s, d, src.Port(), dst.Port(), proto
	return k, nil
}

// clearFlowState empties the conntrack and NAT tables.
func (h *Harness) clearFlowState() {
	var ck []flowstate.ConnKey
	h.svc.Conns().Range(func(k flowstate.ConnKey, _ struct{}) bool { ck = append(ck, k); return true })
	for _, k := range ck {
		h.svc.Conns().Delete(k)
	}
	var nk []flowstate.NATKey
	h.svc.NATs().Range(func(k flowstate.NATKey, _ flowstate.NATBinding) bool { nk = append(nk, k); return true })
	for _, k := range nk {
		h.svc.NATs().Delete(k)
	}
}
