package simulation

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/topology"
)

// TagKind is the kind of a flow Tag.
type TagKind uint8

// Tag kinds: what a flow depends on, so that a change to it invalidates the
// flow.
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
	// TagKindTunnelSource: an underlay source address whose tunnelled
	// packets a flow admits or drops (set by the agent; invalidated when
	// the address's tunnel-zone membership changes).
	TagKindTunnelSource
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
	TagKindTunnelSource:    "tunnel-source",
}

// String returns the kind's name.
func (k TagKind) String() string {
	if int(k) < len(tagKindNames) && tagKindNames[k] != "" {
		return tagKindNames[k]
	}
	return "tag(" + strconv.Itoa(int(k)) + ")"
}

// Tag is a flow invalidation tag: a compact (48-byte), comparable value
// usable as a map key. Build tags with the constructors; the zero Tag is
// invalid.
type Tag struct {
	tagHead
	id topology.ID
	// id2 is the second ID (a port), or packed values: addresses (bytes
	// 0-3 and 4-7), L4 ports (8-9 and 10-11) and protocol (12), or a
	// number (0-3).
	id2 topology.ID
}

// tagHead is a Tag's small fields, 16 bytes so that a tag is written in
// four stores: the head, its kind, id and id2 (see newTag).
type tagHead struct {
	kind TagKind
	sub  uint8 // NAT key type
	vlan uint16
	mac  topology.MAC
	pad  [6]byte // always zero
}

func as4(a netip.Addr) [4]byte {
	if a.Is4() {
		return a.As4()
	}
	if a.Is4In6() {
		return a.Unmap().As4()
	}
	return [4]byte{}
}

// packed builds the packed form of id2.
func packed(src netip.Addr, srcPort uint16, dst netip.Addr, dstPort uint16, proto uint8) topology.ID {
	var p topology.ID
	pack(&p, src, srcPort, dst, dstPort, proto)
	return p
}

// pack writes the packed form of id2 into a zero p, in place.
func pack(p *topology.ID, src netip.Addr, srcPort uint16, dst netip.Addr, dstPort uint16, proto uint8) {
	s, d := as4(src), as4(dst)
	copy(p[0:4], s[:])
	copy(p[4:8], d[:])
	binary.BigEndian.PutUint16(p[8:10], srcPort)
	binary.BigEndian.PutUint16(p[10:12], dstPort)
	p[12] = proto
}

func number(n uint32) topology.ID {
	var p topology.ID
	binary.BigEndian.PutUint32(p[0:4], n)
	return p
}

// TagDevice tags a flow with a topology object it depends on.
func TagDevice(id topology.ID) Tag { return Tag{tagHead: tagHead{kind: TagKindDevice}, id: id} }

// TagPortRx tags a flow that enters port.
func TagPortRx(port topology.ID) Tag { return Tag{tagHead: tagHead{kind: TagKindPortRx}, id: port} }

// TagPortTx tags a flow that leaves through port.
func TagPortTx(port topology.ID) Tag { return Tag{tagHead: tagHead{kind: TagKindPortTx}, id: port} }

// TagDPPort tags a flow that uses local datapath port number n.
func TagDPPort(n uint32) Tag { return Tag{tagHead: tagHead{kind: TagKindDPPort}, id2: number(n)} }

// TagTunnelKey tags a flow that uses overlay tunnel key k.
func TagTunnelKey(k uint32) Tag { return Tag{tagHead: tagHead{kind: TagKindTunnelKey}, id2: number(k)} }

// TagTunnelRoute tags a flow tunnelled from src to dst (IPv4 underlay).
func TagTunnelRoute(src, dst netip.Addr) Tag {
	return Tag{tagHead: tagHead{kind: TagKindTunnelRoute}, id2: packed(src, 0, dst, 0, 0)}
}

// TagTunnelSource tags a flow that admits, or drops, the packets tunnelled
// in from underlay address src (IPv4 or IPv6).
func TagTunnelSource(src netip.Addr) Tag {
	return Tag{tagHead: tagHead{kind: TagKindTunnelSource}, id2: topology.ID(src.Unmap().As16())}
}

// TagBridgePort tags a flow that a bridge sent to one of its ports because
// the destination MAC belongs to the router linked there.
func TagBridgePort(bridge, port topology.ID) Tag {
	return Tag{tagHead: tagHead{kind: TagKindBridgePort}, id: bridge, id2: port}
}

// TagBroadcast tags a flow that a bridge flooded.
func TagBroadcast(bridge topology.ID) Tag {
	return Tag{tagHead: tagHead{kind: TagKindBroadcast}, id: bridge}
}

// TagARPRequests tags a flow that a bridge flooded as an ARP request.
func TagARPRequests(bridge topology.ID) Tag {
	return Tag{tagHead: tagHead{kind: TagKindARPRequests}, id: bridge}
}

// TagFloodedTo tags a flow that a bridge flooded because vlan/mac was not in
// its MAC table; it is invalidated when the MAC is learned.
func TagFloodedTo(bridge topology.ID, vlan uint16, mac topology.MAC) Tag {
	return Tag{tagHead: tagHead{kind: TagKindFloodedTo, vlan: vlan, mac: mac}, id: bridge}
}

// TagBridgeMAC tags a flow that depends on the MAC-table entry vlan/mac ->
// port of bridge; it is invalidated when the entry moves or is removed.
func TagBridgeMAC(bridge topology.ID, mac topology.MAC, vlan uint16, port topology.ID) Tag {
	return Tag{tagHead: tagHead{kind: TagKindBridgeMAC, mac: mac, vlan: vlan}, id: bridge, id2: port}
}

// TagRoute tags a flow routed by route (invalidated when the route goes).
func TagRoute(route topology.ID) Tag { return Tag{tagHead: tagHead{kind: TagKindRoute}, id: route} }

// TagRouterDst tags a flow that router routed toward dst; the agent keeps
// these addresses in the router's trie and invalidates them when a more
// specific route appears.
func TagRouterDst(router topology.ID, dst netip.Addr) Tag {
	return Tag{tagHead: tagHead{kind: TagKindRouterDst}, id: router, id2: packed(dst, 0, netip.Addr{}, 0, 0)}
}

// TagARPEntry tags a flow that depends on router's ARP entry for nextHop.
func TagARPEntry(router topology.ID, nextHop netip.Addr) Tag {
	return Tag{tagHead: tagHead{kind: TagKindARPEntry}, id: router, id2: packed(nextHop, 0, netip.Addr{}, 0, 0)}
}

// TagConntrack tags a flow with a connection-tracking key: the IPv4 5-tuple
// (ports hold the ICMP identifier for ICMP) and the device.
func TagConntrack(src netip.Addr, srcPort uint16, dst netip.Addr, dstPort uint16, proto uint8, device topology.ID) Tag {
	return Tag{tagHead: tagHead{kind: TagKindConntrack}, id: device, id2: packed(src, srcPort, dst, dstPort, proto)}
}

// TagNAT tags a flow with a NAT key: its type (defined by the NAT
// implementation), the IPv4 5-tuple and the device.
func TagNAT(typ uint8, src netip.Addr, srcPort uint16, dst netip.Addr, dstPort uint16, proto uint8, device topology.ID) Tag {
	return Tag{tagHead: tagHead{kind: TagKindNAT, sub: typ}, id: device, id2: packed(src, srcPort, dst, dstPort, proto)}
}

// TagFlowStateDevice tags a flow whose flow state is shared with a port or
// port group.
func TagFlowStateDevice(id topology.ID) Tag {
	return Tag{tagHead: tagHead{kind: TagKindFlowStateDevice}, id: id}
}

// TagMeter tags a flow counted by the user meter with id.
func TagMeter(id topology.ID) Tag { return Tag{tagHead: tagHead{kind: TagKindMeter}, id: id} }

// Kind returns the tag's kind.
func (t Tag) Kind() TagKind { return t.kind }

// ID returns the tag's main object: the device, port, bridge, router,
// route, chain or meter; zero for kinds without one.
func (t Tag) ID() topology.ID { return t.id }

// Port returns the port of a bridge-port or bridge-MAC tag.
func (t Tag) Port() topology.ID {
	if t.kind == TagKindBridgePort || t.kind == TagKindBridgeMAC {
		return t.id2
	}
	return topology.ID{}
}

// MAC returns the MAC of a flooded-to or bridge-MAC tag.
func (t Tag) MAC() topology.MAC { return t.mac }

// VLAN returns the VLAN of a flooded-to or bridge-MAC tag.
func (t Tag) VLAN() uint16 { return t.vlan }

// hasAddrs reports whether id2 holds packed addresses.
func (t Tag) hasAddrs() bool {
	switch t.kind {
	case TagKindRouterDst, TagKindARPEntry, TagKindTunnelRoute, TagKindConntrack, TagKindNAT:
		return true
	}
	return false
}

// Addr returns the address of a router-dst, ARP-entry or tunnel-source
// tag, the source of a tunnel-route, conntrack or NAT tag; the zero Addr
// otherwise.
func (t Tag) Addr() netip.Addr {
	if t.kind == TagKindTunnelSource {
		return netip.AddrFrom16(t.id2).Unmap()
	}
	if !t.hasAddrs() {
		return netip.Addr{}
	}
	return netip.AddrFrom4([4]byte(t.id2[0:4]))
}

// DstAddr returns the destination of a tunnel-route, conntrack or NAT tag.
func (t Tag) DstAddr() netip.Addr {
	if !t.hasAddrs() {
		return netip.Addr{}
	}
	return netip.AddrFrom4([4]byte(t.id2[4:8]))
}

// L4 returns the source and destination ports and the protocol of a
// conntrack or NAT tag.
func (t Tag) L4() (srcPort, dstPort uint16, proto uint8) {
	if t.kind != TagKindConntrack && t.kind != TagKindNAT {
		return 0, 0, 0
	}
	return binary.BigEndian.Uint16(t.id2[8:10]), binary.BigEndian.Uint16(t.id2[10:12]), t.id2[12]
}

// NATType returns the key type of a NAT tag.
func (t Tag) NATType() uint8 { return t.sub }

// Number returns the number of a dp-port or tunnel-key tag.
func (t Tag) Number() uint32 {
	if t.kind != TagKindDPPort && t.kind != TagKindTunnelKey {
		return 0
	}
	return binary.BigEndian.Uint32(t.id2[0:4])
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
		b.WriteString(strconv.FormatUint(uint64(t.Number()), 10))
	case TagKindTunnelRoute:
		b.WriteString(t.Addr().String())
		b.WriteString("->")
		b.WriteString(t.DstAddr().String())
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
		b.WriteString(t.Addr().String())
	case TagKindTunnelSource:
		b.WriteString(t.Addr().String())
	case TagKindConntrack, TagKindNAT:
		if t.kind == TagKindNAT {
			b.WriteString(flowstate.NATKeyType(t.sub).String())
			b.WriteByte(',')
		}
		sp, dp, proto := t.L4()
		b.WriteString(t.Addr().String())
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(int(sp)))
		b.WriteString("->")
		b.WriteString(t.DstAddr().String())
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(int(dp)))
		b.WriteString(",proto=")
		b.WriteString(strconv.Itoa(int(proto)))
		b.WriteByte(',')
		b.WriteString(t.id.String())
	}
	return b.String()
}

func (e *Engine) tag(t Tag) { *e.newTag() = t }

// newTag appends a tag to the flow and returns it to be filled in place:
// its caller writes every field. The hot paths build their tags this way
// (tagID, tagIDs, ...): building a Tag in one place and copying it to
// another reloads bytes just stored by differently sized stores, and those
// store-to-load forwarding stalls made tagging a third of a routed
// simulation's time. Clearing the tag first and then writing its fields
// cost a quarter more stores, and stores bound a simulation's pace.
func (e *Engine) newTag() *Tag {
	r := e.r
	s := r.Tags
	n := len(s)
	if n < cap(s) {
		r.Tags = s[:n+1]
		return &s[:n+1][n]
	}
	r.Tags = append(s, Tag{})
	return &r.Tags[n]
}

// tagID tags the flow with a tag of kind on *id (device, port-rx,
// port-tx, route, broadcast, ARP requests). The tag helpers take IDs by
// pointer and write each field with its own statement: an ID passed by
// value, a multiple assignment or a composite literal with more than the
// kind goes through a copy on the stack, read back in wide loads over
// narrow stores (a store-to-load forwarding stall).
func (e *Engine) tagID(kind TagKind, id *topology.ID) {
	t := e.newTag()
	t.tagHead = tagHead{kind: kind}
	t.id = *id
	t.id2 = topology.ID{}
}

// tagIDs tags the flow with a tag of kind on *id and *id2 (bridge port).
func (e *Engine) tagIDs(kind TagKind, id, id2 *topology.ID) {
	t := e.newTag()
	t.tagHead = tagHead{kind: kind}
	t.id = *id
	t.id2 = *id2
}

// tagMAC tags the flow with a bridge-MAC tag (port not nil) or a
// flooded-to tag (port nil).
func (e *Engine) tagMAC(kind TagKind, bridge *topology.ID, mac topology.MAC, vlan uint16, port *topology.ID) {
	t := e.newTag()
	t.tagHead = tagHead{kind: kind}
	t.vlan = vlan
	t.mac = mac
	t.id = *bridge
	if port != nil {
		t.id2 = *port
	} else {
		t.id2 = topology.ID{}
	}
}

// tagAddr tags the flow with a router-dst or ARP-entry tag.
func (e *Engine) tagAddr(kind TagKind, router *topology.ID, a netip.Addr) {
	t := e.newTag()
	t.tagHead = tagHead{kind: kind}
	t.id = *router
	t.id2 = topology.ID{}
	s := as4(a) // the packed form of id2 (see packed), the rest zero
	t.id2[0], t.id2[1], t.id2[2], t.id2[3] = s[0], s[1], s[2], s[3]
}
