package topology

import "net/netip"

// Bridge is a virtual L2 switch (the reference calls it a network).
//
// A bridge learns MAC addresses into its replicated MAC table, floods unknown
// destinations to its exterior ports, answers ARP for addresses it knows, and
// applies its inbound chain before bridging and its outbound chain after.
type Bridge struct {
	ID   ID
	Name string
	// Scope is the scope of the topology file the object was last applied
	// from as a whole (nsdb/api's PUT /v1/topology), or "" for none. The
	// objects it owns (a bridge's ports, a router's routes, ...) are in its
	// scope too.
	Scope string
	// AdminDown takes the bridge out of service: every frame is dropped. The
	// zero value is administratively up.
	AdminDown bool
	// InboundFilter is the chain applied before bridging (pre-bridging), or
	// the zero ID for none. Skipped for VLAN-tagged frames.
	InboundFilter ID
	// OutboundFilter is the chain applied after bridging, or the zero ID.
	OutboundFilter ID
	// VNI is the VXLAN network identifier used by VxLAN gateways (>= 10000),
	// or zero when the bridge is not bound to a VTEP.
	VNI uint32
	// TunnelKey is the legacy overlay tunnel key, or zero.
	TunnelKey uint32
}

// Router is a virtual IPv4 router.
type Router struct {
	ID        ID
	Name      string
	Scope     string // the declarative scope: see Bridge.Scope
	AdminDown bool
	// InboundFilter is the pre-routing chain, or the zero ID.
	InboundFilter ID
	// OutboundFilter is the post-routing chain, or the zero ID.
	OutboundFilter ID
	// LoadBalancer is the router's L4 load balancer, or the zero ID. A load
	// balancer referenced by a router cannot be deleted.
	LoadBalancer ID
	// ASNumber is the router's BGP autonomous system number, or zero.
	ASNumber uint32
}

// PortKind says how a port is attached.
type PortKind uint8

// Port kinds, derived from a port's fields (see Port.Kind).
const (
	// PortUnplugged ports are neither bound nor peered; packets egressing
	// them are dropped with an error.
	PortUnplugged PortKind = iota
	// PortExterior ports are bound to a network interface on a host.
	PortExterior
	// PortInterior ports are peered with another virtual port.
	PortInterior
)

func (k PortKind) String() string {
	switch k {
	case PortExterior:
		return "exterior"
	case PortInterior:
		return "interior"
	}
	return "unplugged"
}

// Port is a virtual port of a bridge or a router.
//
// Exactly one of Bridge and Router is set. A port is exterior when it is
// bound to an interface on a host (Host and Interface both set), interior when
// it is peered with another port (Peer set), and unplugged otherwise; a port
// cannot be both bound and peered.
type Port struct {
	ID   ID
	Name string
	// Bridge is the bridge that owns the port (a bridge port).
	Bridge ID
	// Router is the router that owns the port (a router port).
	Router ID
	// VTEP marks a VxLAN gateway port of Bridge toward that VTEP. Such ports
	// are always exterior and active, with no host.
	VTEP          ID
	AdminDown     bool
	InboundFilter ID
	// OutboundFilter is the chain applied when a packet leaves through the
	// port, or the zero ID.
	OutboundFilter ID
	// TunnelKey is the legacy overlay tunnel key; agents normally announce a
	// locally generated key in the port's "active" state instead.
	TunnelKey uint32
	// Peer is the interior port this port is linked to. Peering is
	// symmetric: the peer's Peer names this port.
	Peer ID
	// Host and Interface bind an exterior port to a network interface.
	Host      ID
	Interface string
	// PortGroups lists the port groups the port belongs to.
	PortGroups []ID
	// VLAN is the VLAN id of an interior port of a VLAN-aware bridge, or 0.
	VLAN uint16
	// Subnets are the IPv4 subnets of a router port (masked prefixes).
	Subnets []netip.Prefix
	// Address is the router port's own IPv4 address, inside one of Subnets.
	Address netip.Addr
	// MAC is the router port's hardware address.
	MAC MAC
	// ServiceContainer marks a port of a service container: routers do not
	// decrement the TTL of packets entering or leaving through it.
	ServiceContainer bool
	// MTU is a router port's maximum IPv4 datagram size in bytes, or 0
	// for no limit. A routed packet larger than the MTU of the port it
	// leaves through is dropped; when it has the don't-fragment bit, the
	// router answers with an ICMP fragmentation-needed error carrying the
	// MTU (routers never fragment).
	MTU uint16
}

// Kind reports how the port is attached.
func (p *Port) Kind() PortKind {
	switch {
	case p.Peer != (ID{}):
		return PortInterior
	case p.VTEP != (ID{}) || (p.Host != (ID{}) && p.Interface != ""):
		return PortExterior
	}
	return PortUnplugged
}

// Device returns the bridge or router that owns the port.
func (p *Port) Device() ID {
	if p.Router != (ID{}) {
		return p.Router
	}
	return p.Bridge
}

// IsRouterPort reports whether the port belongs to a router.
func (p *Port) IsRouterPort() bool { return p.Router != (ID{}) }

// Subnet returns the subnet of Subnets that contains Address, or the zero
// prefix when there is none.
func (p *Port) Subnet() netip.Prefix {
	for _, s := range p.Subnets {
		if s.Contains(p.Address) {
			return s
		}
	}
	return netip.Prefix{}
}

// NextHop says where a route sends matching packets.
type NextHop uint8

// Next-hop kinds. The zero value is invalid so that a forgotten field is
// reported by validation rather than silently blackholing traffic.
const (
	NextHopInvalid NextHop = iota
	// NextHopBlackhole drops silently.
	NextHopBlackhole
	// NextHopReject drops and answers ICMP administratively prohibited.
	NextHopReject
	// NextHopPort forwards out of NextHopPort, to Gateway if set.
	NextHopPort
	// NextHopLocal delivers to the router itself (its own addresses).
	NextHopLocal
)

func (n NextHop) String() string {
	switch n {
	case NextHopBlackhole:
		return "blackhole"
	case NextHopReject:
		return "reject"
	case NextHopPort:
		return "port"
	case NextHopLocal:
		return "local"
	}
	return "invalid"
}

// Route is an entry of a router's routing table.
//
// Lookup is longest-prefix match on Dst; among routes of the same length,
// those whose Src contains the packet's source are kept, then those with the
// lowest Weight; several equal survivors are used as ECMP by connection hash.
type Route struct {
	ID     ID
	Router ID
	// Src is the source prefix the route applies to; the zero prefix means
	// 0.0.0.0/0.
	Src netip.Prefix
	Dst netip.Prefix
	// NextHop is what the route does.
	NextHop NextHop
	// NextHopPort is the router port a NextHopPort route forwards through.
	NextHopPort ID
	// Gateway is the next-hop router's address; the zero Addr, 0.0.0.0 and
	// 255.255.255.255 all mean the destination is directly connected.
	Gateway netip.Addr
	Weight  uint32
}

// SrcPrefix returns Src, or 0.0.0.0/0 when Src is the zero prefix.
func (r *Route) SrcPrefix() netip.Prefix {
	if !r.Src.IsValid() {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	return r.Src
}

// HasGateway reports whether the route names a gateway (not directly
// connected).
func (r *Route) HasGateway() bool {
	if !r.Gateway.IsValid() || r.Gateway.IsUnspecified() {
		return false
	}
	return r.Gateway != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// PortGroup is a named set of ports that rules can match on. Members of a
// stateful port group share flow state with each other.
type PortGroup struct {
	ID       ID
	Name     string
	Scope    string // the declarative scope: see Bridge.Scope
	Stateful bool
}

// IPAddrGroup is a named set of addresses that rules can match on.
type IPAddrGroup struct {
	ID    ID
	Name  string
	Scope string // the declarative scope: see Bridge.Scope
	Addrs []netip.Addr
}

// Host is a machine that runs an agent.
type Host struct {
	ID    ID
	Name  string
	Scope string // the declarative scope: see Bridge.Scope
	// FloodingProxyWeight is the host's weight when a flooding proxy is
	// chosen for VTEP traffic; unset means 1 and 0 excludes the host.
	FloodingProxyWeight Opt[uint32]
}

// TunnelZoneType is the encapsulation a tunnel zone uses.
type TunnelZoneType uint8

// Tunnel zone types.
const (
	TunnelZoneInvalid TunnelZoneType = iota
	TunnelZoneGRE
	TunnelZoneVXLAN
	TunnelZoneVTEP
)

func (t TunnelZoneType) String() string {
	switch t {
	case TunnelZoneGRE:
		return "gre"
	case TunnelZoneVXLAN:
		return "vxlan"
	case TunnelZoneVTEP:
		return "vtep"
	}
	return "invalid"
}

// TunnelZone is a set of hosts that tunnel overlay traffic to each other,
// each with its underlay address.
type TunnelZone struct {
	ID      ID
	Name    string
	Scope   string // the declarative scope: see Bridge.Scope
	Type    TunnelZoneType
	Members []TunnelZoneMember
}

// TunnelZoneMember is a host of a tunnel zone and its underlay address.
type TunnelZoneMember struct {
	Host ID
	Addr netip.Addr
}

// MemberAddr returns the underlay address of host in the zone.
func (z *TunnelZone) MemberAddr(host ID) (netip.Addr, bool) {
	for _, m := range z.Members {
		if m.Host == host {
			return m.Addr, true
		}
	}
	return netip.Addr{}, false
}

// VTEP is a hardware VxLAN tunnel end point managed over OVSDB.
type VTEP struct {
	ID             ID
	Name           string
	Scope          string // the declarative scope: see Bridge.Scope
	ManagementIP   netip.Addr
	ManagementPort uint16
	TunnelZone     ID
	Bindings       []VTEPBinding
}

// VTEPBinding binds a physical port and VLAN of a VTEP to a bridge.
type VTEPBinding struct {
	PortName string
	VLAN     uint16
	Bridge   ID
}

// MinMTU is the smallest MTU a port or DHCP subnet may have: the 68 bytes
// every IPv4 module must forward without fragmenting (RFC 791).
const MinMTU = 68

// DHCPSubnet is a DHCP configuration served by the agent on a bridge.
type DHCPSubnet struct {
	ID     ID
	Bridge ID
	Subnet netip.Prefix
	// ServerAddr is the DHCP server's address inside Subnet.
	ServerAddr netip.Addr
	Gateway    netip.Addr
	DNSServers []netip.Addr
	// MTU is the interface MTU option, or 0 for the agent's default.
	MTU      uint16
	Routes   []DHCPRoute
	Hosts    []DHCPHost
	Disabled bool
}

// DHCPRoute is a classless static route (option 121).
type DHCPRoute struct {
	Dst     netip.Prefix
	Gateway netip.Addr
}

// DHCPHost is a static DHCP assignment.
type DHCPHost struct {
	MAC  MAC
	Addr netip.Addr
	Name string
	// Options are extra DHCP options sent to this host, after (and
	// replacing) the subnet's options of the same codes.
	Options []DHCPOption
}

// DHCPOption is one raw DHCP option: its code (1-254) and value (at most
// 255 bytes).
type DHCPOption struct {
	Code  uint8
	Value []byte
}

// BGPPeer is a BGP neighbour of a router (modelled only).
type BGPPeer struct {
	ID       ID
	Router   ID
	ASNumber uint32
	Addr     netip.Addr
	// KeepAlive, HoldTime and ConnectRetry are in seconds; zero means the
	// reference defaults (60, 180, 120).
	KeepAlive    uint32
	HoldTime     uint32
	ConnectRetry uint32
	Password     string
}

// BGPNetwork is a prefix a router announces over BGP (modelled only).
type BGPNetwork struct {
	ID     ID
	Router ID
	Subnet netip.Prefix
}

// Opt is an optional value: the zero Opt is unset.
type Opt[T any] struct {
	Value T
	Set   bool
}

// Some returns a set Opt holding v.
func Some[T any](v T) Opt[T] { return Opt[T]{Value: v, Set: true} }

// Or returns the value if set, else def.
func (o Opt[T]) Or(def T) T {
	if o.Set {
		return o.Value
	}
	return def
}
