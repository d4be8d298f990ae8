package simulation

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/hivenet/hivenet/topology"
)

// TagKind is the kind of a flow Tag.
type TagKind uint8

// Tag kinds (§3.6 of the behaviour notes).
const (
	_ TagKind = iota
	// TagKindDevice: any topology object the flow depends on (bridge,
	// router, port, chain, load balancer, pool, port group, ...).
	TagKindDevice
	// TagKindPortRx and TagKindPortTx: the flow enters / leaves a port.
	TagKindPortRx
	TagKindPortTx
	// TagKindDPPort: a local datapath port number (set by the agent).
	TagKindDPPort
	// TagKindTunnelKey: an overlay tunnel key (set by the agent).
	TagKindTunnelKey
	// TagKindTunnelRoute: an underlay (src, dst) pair (set by the agent).
	TagKindTunnelRoute
	// TagKindBridgePort: a bridge forwarded to one of its ports by a router
	// MAC (invalidated when the port is unlinked).
	TagKindBridgePort
	// TagKindBroadcast: a bridge flooded (invalidated when its set of
	// exterior ports changes).
	TagKindBroadcast
	// TagKindARPRequests: a bridge flooded an ARP request.
	TagKindARPRequests
	// TagKindFloodedTo: a bridge flooded because VLAN/MAC was unknown.
	TagKindFloodedTo
	// TagKindBridgeMAC: a bridge used the mapping VLAN/MAC -> port.
	TagKindBridgeMAC
	// TagKindRoute: a router used a route (the reference's route hash).
	TagKindRoute
	// TagKindRouterDst: a router routed a destination address (its
	// invalidation trie entry).
	TagKindRouterDst
	// TagKindARPEntry: a router used its ARP entry for a next hop.
	TagKindARPEntry
	// TagKindConntrack: a connection-tracking key (flow-state tag).
	TagKindConntrack
	// TagKindNAT: a NAT key (flow-state tag).
	TagKindNAT
	// TagKindFlowStateDevice: a port or port group whose flow state the flow
	// replicates.
	TagKindFlowStateDevice
	// TagKindMeter: a user meter, identified by its ID.
	TagKindMeter
)

var tagKindNames = [...]string{
	TagKindDevice:          "device",
	TagKindPortRx:          "port-rx",
	TagKindPortTx:          "port-tx",
	TagKindDPPort:          "dp-port",
	TagKindTunnelKey:       "tunnel-key",
	TagKindTunnelRoute:     "tunnel-route",
	TagKindBridgePort:      "bridge-port",
	TagKindBroadcast:       "broadcast",
	TagKindARPRequests:     "arp-requests",
	TagKindFloodedTo:       "flooded-to",
	TagKindBridgeMAC:       "bridge-mac",
	TagKindRoute:           "route",
	TagKindRouterDst:       "router-dst",
	TagKindARPEntry:        "arp-entry",
	TagKindConntrack:       "conntrack",
	TagKindNAT:             "nat",
	TagKindFlowStateDevice: "flow-state-device",
	TagKindMeter:           "meter",
}

// String returns the kind's name.
func (k TagKind) String() string {
	if int(k) < len(tagKindNames) && tagKindNames[k] != "" {
		return tagKindNames[k]
	}
	return "tag(" + strconv.Itoa(int(k)) + ")"
}

// Tag is a flow invalidation tag: a compact, comparable value usable as a
// map key. Build tags with the constructors; the zero Tag is invalid.
type Tag struct {
	kind  TagKind
	proto uint8 // conntrack/NAT protocol
	sub   uint8 // NAT key type
	vlan  uint16
	p1    uint16 // conntrack/NAT source port
	p2    uint16 // conntrack/NAT destination port
	mac   topology.MAC
	ip1   [4]byte
	ip2   [4]byte
	n     uint32 // dp port number, tunnel key
	id    topology.ID
	id2   topology.ID
}

func as4(a netip.Addr) [4]byte {
	if a.Is4() || a.Is4In6() {
		return a.Unmap().As4()
	}
	return [4]byte{}
}

// TagDevice tags a flow with a topology object it depends on.
func TagDevice(id topology.ID) Tag { return Tag{kind: TagKindDevice, id: id} }

// TagPortRx tags a flow that enters port.
func TagPortRx(port topology.ID) Tag { return Tag{kind: TagKindPortRx, id: port} }

// TagPortTx tags a flow that leaves through port.
func TagPortTx(port topology.ID) Tag { return Tag{kind: TagKindPortTx, id: port} }

// TagDPPort tags a flow that uses local datapath port number n.
func TagDPPort(n uint32) Tag { return Tag{kind: TagKindDPPort, n: n} }

// TagTunnelKey tags a flow that uses overlay tunnel key k.
func TagTunnelKey(k uint32) Tag { return Tag{kind: TagKindTunnelKey, n: k} }

// TagTunnelRoute tags a flow tunnelled from src to dst (IPv4 underlay).
func TagTunnelRoute(src, dst netip.Addr) Tag {
	return Tag{kind: TagKindTunnelRoute, ip1: as4(src), ip2: as4(dst)}
}

// TagBridgePort tags a flow that a bridge sent to one of its ports because
// the destination MAC belongs to the router linked there.
func TagBridgePort(bridge, port topology.ID) Tag {
	return Tag{kind: TagKindBridgePort, id: bridge, id2: port}
}

// TagBroadcast tags a flow that a bridge flooded.
func TagBroadcast(bridge topology.ID) Tag { return Tag{kind: TagKindBroadcast, id: bridge} }

// TagARPRequests tags a flow that a bridge flooded as an ARP request.
func TagARPRequests(bridge topology.ID) Tag { return Tag{kind: TagKindARPRequests, id: bridge} }

// TagFloodedTo tags a flow that a bridge flooded because vlan/mac was not in
// its MAC table; it is invalidated when the MAC is learned.
func TagFloodedTo(bridge topology.ID, vlan uint16, mac topology.MAC) Tag {
	return Tag{kind: TagKindFloodedTo, id: bridge, vlan: vlan, mac: mac}
}

// TagBridgeMAC tags a flow that depends on the MAC-table entry vlan/mac ->
// port of bridge; it is invalidated when the entry moves or is removed.
func TagBridgeMAC(bridge topology.ID, mac topology.MAC, vlan uint16, port topology.ID) Tag {
	return Tag{kind: TagKindBridgeMAC, id: bridge, mac: mac, vlan: vlan, id2: port}
}

// TagRoute tags a flow routed by route (invalidated when the route goes).
func TagRoute(route topology.ID) Tag { return Tag{kind: TagKindRoute, id: route} }

// TagRouterDst tags a flow that router routed toward dst; the agent keeps
// these addresses in the router's trie and invalidates them when a more
// specific route appears.
func TagRouterDst(router topology.ID, dst netip.Addr) Tag {
	return Tag{kind: TagKindRouterDst, id: router, ip1: as4(dst)}
}

// TagARPEntry tags a flow that depends on router's ARP entry for nextHop.
func TagARPEntry(router topology.ID, nextHop netip.Addr) Tag {
	return Tag{kind: TagKindARPEntry, id: router, ip1: as4(nextHop)}
}

// TagConntrack tags a flow with a connection-tracking key (§2.7): the IPv4
// 5-tuple (ports hold the ICMP identifier for ICMP) and the device.
func TagConntrack(src netip.Addr, srcPort uint16, dst netip.Addr, dstPort uint16, proto uint8, device topology.ID) Tag {
	return Tag{kind: TagKindConntrack, ip1: as4(src), p1: srcPort, ip2: as4(dst), p2: dstPort, proto: proto, id: device}
}

// TagNAT tags a flow with a NAT key (§2.8): its type (defined by the NAT
// implementation), the IPv4 5-tuple and the device.
func TagNAT(typ uint8, src netip.Addr, srcPort uint16, dst netip.Addr, dstPort uint16, proto uint8, device topology.ID) Tag {
	return Tag{kind: TagKindNAT, sub: typ, ip1: as4(src), p1: srcPort, ip2: as4(dst), p2: dstPort, proto: proto, id: device}
}

// TagFlowStateDevice tags a flow whose flow state is shared with a port or
// port group.
func TagFlowStateDevice(id topology.ID) Tag { return Tag{kind: TagKindFlowStateDevice, id: id} }

// TagMeter tags a flow counted by the user meter with id.
func TagMeter(id topology.ID) Tag { return Tag{kind: TagKindMeter, id: id} }

// Kind returns the tag's kind.
func (t Tag) Kind() TagKind { return t.kind }

// ID returns the tag's main object: the device, port, bridge, router,
// route, chain or meter; zero for kinds without one.
func (t Tag) ID() topology.ID { return t.id }

// Port returns the port of a bridge-port or bridge-MAC tag.
func (t Tag) Port() topology.ID { return t.id2 }

// MAC returns the MAC of a flooded-to or bridge-MAC tag.
func (t Tag) MAC() topology.MAC { return t.mac }

// VLAN returns the VLAN of a flooded-to or bridge-MAC tag.
func (t Tag) VLAN() uint16 { return t.vlan }

// Addr returns the address of a router-dst or ARP-entry tag, the source of
// a tunnel-route, conntrack or NAT tag; the zero Addr otherwise.
func (t Tag) Addr() netip.Addr {
	switch t.kind {
	case TagKindRouterDst, TagKindARPEntry, TagKindTunnelRoute, TagKindConntrack, TagKindNAT:
		return netip.AddrFrom4(t.ip1)
	}
	return netip.Addr{}
}

// FlowState reports whether the tag is a flow-state tag (conntrack or NAT
// key), kept even when a drop clears the other tags.
func (t Tag) FlowState() bool { return t.kind == TagKindConntrack || t.kind == TagKindNAT }

// String formats the tag as "kind:field,field", e.g.
// "bridge-mac:<bridge>,02:00:00:00:00:01,vlan=0,<port>".
func (t Tag) String() string {
	var b strings.Builder
	b.WriteString(t.kind.String())
	b.WriteByte(':')
	switch t.kind {
	case TagKindDevice, TagKindPortRx, TagKindPortTx, TagKindBroadcast, TagKindARPRequests,
		TagKindRoute, TagKindFlowStateDevice, TagKindMeter:
		b.WriteString(t.id.String())
	case TagKindDPPort, TagKindTunnelKey:
		b.WriteString(strconv.FormatUint(uint64(t.n), 10))
	case TagKindTunnelRoute:
		b.WriteString(netip.AddrFrom4(t.ip1).String())
		b.WriteString("->")
		b.WriteString(netip.AddrFrom4(t.ip2).String())
	case TagKindBridgePort:
		b.WriteString(t.id.String())
		b.WriteByte(',')
		b.WriteString(t.id2.String())
	case TagKindFloodedTo:
		b.WriteString(t.id.String())
		b.WriteString(",vlan=")
		b.WriteString(strconv.Itoa(int(t.vlan)))
		b.WriteByte(',')
		b.WriteString(t.mac.String())
	case TagKindBridgeMAC:
		b.WriteString(t.id.String())
		b.WriteByte(',')
		b.WriteString(t.mac.String())
		b.WriteString(",vlan=")
		b.WriteString(strconv.Itoa(int(t.vlan)))
		b.WriteByte(',')
		b.WriteString(t.id2.String())
	case TagKindRouterDst, TagKindARPEntry:
		b.WriteString(t.id.String())
		b.WriteByte(',')
		b.WriteString(netip.AddrFrom4(t.ip1).String())
	case TagKindConntrack, TagKindNAT:
		if t.kind == TagKindNAT {
			b.WriteString("type=")
			b.WriteString(strconv.Itoa(int(t.sub)))
			b.WriteByte(',')
		}
		b.WriteString(netip.AddrFrom4(t.ip1).String())
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(int(t.p1)))
		b.WriteString("->")
		b.WriteString(netip.AddrFrom4(t.ip2).String())
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(int(t.p2)))
		b.WriteString(",proto=")
		b.WriteString(strconv.Itoa(int(t.proto)))
		b.WriteByte(',')
		b.WriteString(t.id.String())
	}
	return b.String()
}
