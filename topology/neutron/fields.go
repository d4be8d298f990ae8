package neutron

import (
	"encoding/json"
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// The *Fields types are what a create or an update request gives: a nil
// field is one the request leaves out (a create then takes Neutron's
// default, an update keeps the current value).

// NetworkFields are a network's settable fields.
type NetworkFields struct {
	Name, Description, ProjectID *string
	AdminStateUp, Shared         *bool
	External                     *bool
	MTU                          *int
	PortSecurity                 *bool
}

// SubnetFields are a subnet's settable fields. NetworkID, CIDR and
// ProjectID are read only on create.
type SubnetFields struct {
	NetworkID               *topology.ID
	Name, Description       *string
	ProjectID               *string
	CIDR                    *netip.Prefix
	IPVersion               *int
	Gateway                 *netip.Addr // the zero Addr: no gateway (null)
	EnableDHCP              *bool
	DNS                     *[]netip.Addr
	HostRoutes              *[]Route
	Pools                   *[]Pool
	SubnetPoolID, IPv6Modes *string // refused when set: not supported
}

// IPRequest asks for a fixed IP: on a subnet, at an address, or both.
type IPRequest struct {
	SubnetID topology.ID
	Addr     netip.Addr
}

// PortFields are a port's settable fields. NetworkID and ProjectID are
// read only on create.
type PortFields struct {
	NetworkID         *topology.ID
	Name, Description *string
	ProjectID         *string
	AdminStateUp      *bool
	MAC               *topology.MAC
	FixedIPs          *[]IPRequest
	DeviceOwner       *string
	DeviceID          *string
	SecurityGroups    *[]topology.ID
	PortSecurity      *bool
	AllowedPairs      *[]AddressPair
	Host              *string
	Profile           *json.RawMessage
}

// GatewayFields are a router's external_gateway_info.
type GatewayFields struct {
	NetworkID  topology.ID
	EnableSNAT *bool
	// FixedIPs asks for the gateway port's addresses (default: one on the
	// network's first subnet).
	FixedIPs []IPRequest
}

// RouterFields are a router's settable fields. Gateway: nil leaves it,
// a non-nil pointer to nil clears it.
type RouterFields struct {
	Name, Description *string
	ProjectID         *string
	AdminStateUp      *bool
	Gateway           **GatewayFields
	Routes            *[]Route
}

// FloatingIPFields are a floating IP's settable fields: the network and
// the address only on create; PortID set to the zero ID disassociates.
type FloatingIPFields struct {
	NetworkID   *topology.ID
	Addr        *netip.Addr
	ProjectID   *string
	Description *string
	PortID      *topology.ID
	FixedAddr   *netip.Addr
}

// SecurityGroupFields are a security group's settable fields.
type SecurityGroupFields struct {
	Name, Description *string
	ProjectID         *string
}

// RuleFields describe a new security group rule (rules are not updated).
type RuleFields struct {
	GroupID      *topology.ID
	ProjectID    *string
	Description  *string
	Direction    *string
	EtherType    *string
	Protocol     *string // a name (tcp, udp, icmp, ...) or a number; "" or nil: any
	PortMin      *int
	PortMax      *int
	RemotePrefix *netip.Prefix
	RemoteGroup  *topology.ID
}

func strOr(p *string, def string) string {
	if p != nil {
		return *p
	}
	return def
}

func boolOr(p *bool, def bool) bool {
	if p != nil {
		return *p
	}
	return def
}
