package main

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// upstreamMAC is the source MAC of packets entering through an exterior
// router port (the neighbour outside the topology), unless -src-mac says
// otherwise.
var upstreamMAC = topology.MAC{0x02, 0x00, 0x00, 0x00, 0xee, 0x01}

// vm is what the command knows about the machine behind an exterior bridge
// port.
type vm struct {
	port *topology.Port
	mac  topology.MAC
	ip   netip.Addr // invalid when no DHCP host entry names the port
}

// world is a loaded topology with the VM inventory derived from it.
type world struct {
	t     *topology.Topology
	snap  *topology.Snapshot
	ports map[string]*topology.Port
	vms   []*vm // in topology order
}

func newWorld(t *topology.Topology) *world {
	w := &world{t: t, snap: topology.NewSnapshot(t), ports: map[string]*topology.Port{}}
	hosts := map[topology.ID]map[string]topology.DHCPHost{}
	for _, d := range t.DHCPSubnets {
		if hosts[d.Bridge] == nil {
			hosts[d.Bridge] = map[string]topology.DHCPHost{}
		}
		for _, h := range d.Hosts {
			hosts[d.Bridge][h.Name] = h
		}
	}
	for i := range t.Ports {
		p, _ := w.snap.Port(t.Ports[i].ID)
		if p == nil {
			continue
		}
		w.ports[p.Name] = p
		if p.IsRouterPort() || p.Kind() != topology.PortExterior || !p.VTEP.IsZero() {
			continue
		}
		v := &vm{port: p, mac: topofile.DefaultMAC(p.ID)}
		if h, ok := hosts[p.Bridge][p.Name]; ok {
			v.mac, v.ip = h.MAC, h.Addr
		}
		w.vms = append(w.vms, v)
	}
	return w
}

func (w *world) port(name string) (*topology.Port, error) {
	p, ok := w.ports[name]
	if !ok {
		return nil, fmt.Errorf("%w: no port named %q", errUsage, name)
	}
	if p.Kind() != topology.PortExterior {
		return nil, fmt.Errorf("%w: port %q is %v, not exterior: packets enter the virtual network through exterior ports", errUsage, name, p.Kind())
	}
	return p, nil
}

func (w *world) vmOf(p *topology.Port) *vm {
	for _, v := range w.vms {
		if v.port.ID == p.ID {
			return v
		}
	}
	return nil
}

// frame builds the packet described by the flags, entering at in.
func (w *world) frame(o *options, in *topology.Port) ([]byte, error) {
	var srcMAC topology.MAC
	var srcIP netip.Addr
	switch v := w.vmOf(in); {
	case v != nil:
		srcMAC, srcIP = v.mac, v.ip
	case in.IsRouterPort():
		srcMAC = upstreamMAC
	}
	var err error
	if o.srcMAC != "" {
		if srcMAC, err = topology.ParseMAC(o.srcMAC); err != nil {
			return nil, fmt.Errorf("%w: -src-mac: %w", errUsage, err)
		}
	}
	if o.srcIP != "" {
		if srcIP, err = netip.ParseAddr(o.srcIP); err != nil {
			return nil, fmt.Errorf("%w: -src-ip: %w", errUsage, err)
		}
	}
	var m packet.Match
	var dstIP netip.Addr
	var payload []byte
	m.SetIPTTL(uint8(o.ttl))
	switch {
	case o.icmp != "":
		if dstIP, err = netip.ParseAddr(o.icmp); err != nil {
			return nil, fmt.Errorf("%w: -icmp-echo: %w", errUsage, err)
		}
		m.SetEtherType(packet.EtherTypeIPv4)
		m.SetIPProto(packet.ProtoICMP)
		m.SetICMPType(packet.ICMPEchoRequest)
		m.SetICMPID(0x4876)
		payload = []byte("hivenet trace")
	case o.tcp != "" || o.udp != "":
		spec, proto := o.tcp, packet.ProtoTCP
		if spec == "" {
			spec, proto = o.udp, packet.ProtoUDP
		}
		src, dst, err := parseFlow(spec)
		if err != nil {
			return nil, err
		}
		if src.Addr().IsValid() {
			srcIP = src.Addr()
		}
		dstIP = dst.Addr()
		m.SetEtherType(packet.EtherTypeIPv4)
		m.SetIPProto(proto)
		m.SetSrcPort(src.Port())
		m.SetDstPort(dst.Port())
		if proto == packet.ProtoTCP {
			m.SetTCPFlags(0x002) // SYN
		}
	case o.arp != "":
		if dstIP, err = netip.ParseAddr(o.arp); err != nil || !dstIP.Is4() {
			return nil, fmt.Errorf("%w: -arp-request needs an IPv4 address", errUsage)
		}
		m.SetEtherType(packet.EtherTypeARP)
		m.SetARPOp(packet.ARPRequest)
		m.SetARPSHA(srcMAC)
		m.SetARPTPA(dstIP)
	}
	if !srcIP.Is4() {
		return nil, fmt.Errorf("%w: no IPv4 source address known for port %q: pass -src-ip", errUsage, in.Name)
	}
	if !dstIP.Is4() {
		return nil, fmt.Errorf("%w: the destination must be an IPv4 address", errUsage)
	}
	if o.arp != "" {
		m.SetARPSPA(srcIP)
	} else {
		m.SetIPSrc(srcIP)
		m.SetIPDst(dstIP)
	}
	dstMAC := topology.BroadcastMAC
	switch {
	case o.dstMAC != "":
		if dstMAC, err = topology.ParseMAC(o.dstMAC); err != nil {
			return nil, fmt.Errorf("%w: -dst-mac: %w", errUsage, err)
		}
	case o.arp == "":
		if dstMAC, err = w.defaultDstMAC(in, srcIP, dstIP); err != nil {
			return nil, err
		}
	}
	m.SetEthSrc(srcMAC)
	m.SetEthDst(dstMAC)
	if o.vlan != 0 {
		m.PushVLAN(packet.VLAN{TPID: packet.EtherTypeVLAN, ID: uint16(o.vlan)})
	}
	return packet.AppendFrame(nil, &m, payload)
}

// parseFlow parses "src:port->dst:port"; src may be ":port".
func parseFlow(s string) (src, dst netip.AddrPort, err error) {
	a, b, ok := strings.Cut(s, "->")
	if !ok {
		return src, dst, fmt.Errorf("%w: %q is not src:port->dst:port", errUsage, s)
	}
	if strings.HasPrefix(a, ":") {
		var p netip.AddrPort
		if p, err = netip.ParseAddrPort("0.0.0.0" + a); err != nil {
			return src, dst, fmt.Errorf("%w: %q: %w", errUsage, s, err)
		}
		src = netip.AddrPortFrom(netip.Addr{}, p.Port())
	} else if src, err = netip.ParseAddrPort(a); err != nil {
		return src, dst, fmt.Errorf("%w: %q: %w", errUsage, s, err)
	}
	if dst, err = netip.ParseAddrPort(b); err != nil {
		return src, dst, fmt.Errorf("%w: %q: %w", errUsage, s, err)
	}
	return src, dst, nil
}

// defaultDstMAC picks the destination MAC of a packet from src to dst
// entering at in: the port's own MAC for an exterior router port; on a
// bridge, the router port or VM owning dst, else the gateway (the linked
// router port whose subnet holds src).
func (w *world) defaultDstMAC(in *topology.Port, src, dst netip.Addr) (topology.MAC, error) {
	if in.IsRouterPort() {
		return in.MAC, nil
	}
	bv, ok := w.snap.BridgeView(in.Bridge)
	if !ok {
		return topology.MAC{}, fmt.Errorf("port %q: its bridge does not exist", in.Name)
	}
	if mac, ok := bv.RouterIPs[dst]; ok {
		return mac, nil
	}
	for _, v := range w.vms {
		if v.port.Bridge == in.Bridge && v.ip == dst {
			return v.mac, nil
		}
	}
	for _, id := range bv.Ports {
		bp, _ := w.snap.Port(id)
		if bp == nil || bp.Peer.IsZero() {
			continue
		}
		if rp, ok := w.snap.Port(bp.Peer); ok && rp.IsRouterPort() {
			for _, s := range rp.Subnets {
				if s.Contains(src) {
					return rp.MAC, nil
				}
			}
		}
	}
	return topology.MAC{}, fmt.Errorf("%w: no default destination MAC for %s on port %q: pass -dst-mac", errUsage, dst, in.Name)
}

// state seeds the state tables as documented in the package comment.
func (w *world) state(o *options) (*simulation.MapState, error) {
	st := simulation.NewMapState()
	for _, p := range w.ports {
		if p.Kind() == topology.PortExterior {
			st.SetActive(p.ID, true)
		}
	}
	learn := map[string]bool{}
	switch o.learned {
	case "":
		for _, v := range w.vms {
			learn[v.port.Name] = true
		}
	case "none":
	default:
		for _, name := range strings.Split(o.learned, ",") {
			name = strings.TrimSpace(name)
			p, ok := w.ports[name]
			if !ok || w.vmOf(p) == nil {
				return nil, fmt.Errorf("%w: -learned: %q is not a VM port", errUsage, name)
			}
			learn[name] = true
		}
	}
	for _, v := range w.vms {
		if !learn[v.port.Name] {
			continue
		}
		st.LearnMAC(v.port.Bridge, 0, v.mac, v.port.ID)
		if !v.ip.IsValid() {
			continue
		}
		// ARP entries in the routers linked to the VM's bridge.
		bv, ok := w.snap.BridgeView(v.port.Bridge)
		if !ok {
			continue
		}
		for _, id := range bv.Ports {
			bp, _ := w.snap.Port(id)
			if bp == nil || bp.Peer.IsZero() {
				continue
			}
			rp, ok := w.snap.Port(bp.Peer)
			if !ok || !rp.IsRouterPort() {
				continue
			}
			for _, s := range rp.Subnets {
				if s.Contains(v.ip) {
					st.SetARP(rp.Router, v.ip, v.mac)
				}
			}
		}
	}
	for _, s := range o.arpSeeds {
		name, ip, mac, err := parseARPSeed(s)
		if err != nil {
			return nil, err
		}
		var router topology.ID
		for _, r := range w.t.Routers {
			if r.Name == name {
				router = r.ID
			}
		}
		if router.IsZero() {
			return nil, fmt.Errorf("%w: -arp: no router named %q", errUsage, name)
		}
		st.SetARP(router, ip, mac)
	}
	return st, nil
}
