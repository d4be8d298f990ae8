package neutron

import (
	"reflect"
	"slices"

	"github.com/hivenet/hivenet/topology"
)

// sameObject reports whether two objects are equal, without reflection
// for the kinds a translation makes many of (ports, chains, address
// groups, DHCP subnets, bridges, routers, routes): a diff compares every
// object of two translations.
func sameObject(a, b topology.Object) bool {
	switch x := a.(type) {
	case *topology.Port:
		y, ok := b.(*topology.Port)
		if !ok {
			return false
		}
		xs, ys := *x, *y
		xs.PortGroups, xs.Subnets, ys.PortGroups, ys.Subnets = nil, nil, nil, nil
		return reflect.DeepEqual(xs, ys) && slices.Equal(x.PortGroups, y.PortGroups) && slices.Equal(x.Subnets, y.Subnets)
	case *topology.Chain:
		y, ok := b.(*topology.Chain)
		return ok && x.ID == y.ID && x.Name == y.Name && slices.EqualFunc(x.Rules, y.Rules, sameRule)
	case *topology.IPAddrGroup:
		y, ok := b.(*topology.IPAddrGroup)
		return ok && x.ID == y.ID && x.Name == y.Name && slices.Equal(x.Addrs, y.Addrs)
	case *topology.DHCPSubnet:
		y, ok := b.(*topology.DHCPSubnet)
		if !ok {
			return false
		}
		xs, ys := *x, *y
		xs.DNSServers, xs.Routes, xs.Hosts, ys.DNSServers, ys.Routes, ys.Hosts = nil, nil, nil, nil, nil, nil
		return reflect.DeepEqual(xs, ys) && slices.Equal(x.DNSServers, y.DNSServers) && slices.Equal(x.Routes, y.Routes) &&
			slices.EqualFunc(x.Hosts, y.Hosts, func(a, b topology.DHCPHost) bool { return reflect.DeepEqual(a, b) })
	case *topology.Bridge:
		y, ok := b.(*topology.Bridge)
		return ok && *x == *y
	case *topology.Router:
		y, ok := b.(*topology.Router)
		return ok && *x == *y
	case *topology.Route:
		y, ok := b.(*topology.Route)
		return ok && *x == *y
	}
	return reflect.DeepEqual(a, b)
}

func sameRule(a, b topology.Rule) bool {
	if a.ID != b.ID || a.Type != b.Type || a.Action != b.Action || a.JumpChain != b.JumpChain ||
		a.NAT.DNAT != b.NAT.DNAT || a.NAT.Reverse != b.NAT.Reverse || a.NAT.Masquerade != b.NAT.Masquerade ||
		!slices.Equal(a.NAT.Targets, b.NAT.Targets) {
		return false
	}
	return sameCondition(&a.Condition, &b.Condition)
}

// conditionFields is the number of fields sameCondition compares: a test
// checks it against topology.Condition, so that a new field is not
// silently left out of diffs.
const conditionFields = 26

func sameCondition(a, b *topology.Condition) bool {
	return a.MatchForwardFlow == b.MatchForwardFlow && a.MatchReturnFlow == b.MatchReturnFlow &&
		sameIDs(a.InPorts, b.InPorts) && sameIDs(a.OutPorts, b.OutPorts) &&
		a.PortGroup == b.PortGroup && a.InPortGroup == b.InPortGroup && a.OutPortGroup == b.OutPortGroup &&
		a.IPAddrGroupSrc == b.IPAddrGroupSrc && a.IPAddrGroupDst == b.IPAddrGroupDst &&
		a.EtherType == b.EtherType && a.EthSrc == b.EthSrc && a.EthDst == b.EthDst && a.NoVLAN == b.NoVLAN && a.VLAN == b.VLAN &&
		a.NwTOS == b.NwTOS && a.NwProto == b.NwProto && a.NwSrc == b.NwSrc && a.NwDst == b.NwDst &&
		a.TpSrc == b.TpSrc && a.TpDst == b.TpDst && a.ICMPDataSrc == b.ICMPDataSrc && a.ICMPDataDst == b.ICMPDataDst &&
		a.TraversedDevice == b.TraversedDevice && a.NwDstRewritten == b.NwDstRewritten &&
		a.FragmentPolicy == b.FragmentPolicy && a.ConjunctionInvert == b.ConjunctionInvert
}

func sameIDs(a, b topology.Cond[[]topology.ID]) bool {
	return a.Set == b.Set && a.Invert == b.Invert && slices.Equal(a.Value, b.Value)
}
