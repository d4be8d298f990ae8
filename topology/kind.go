package topology

import "strconv"

// Kind names a type of topology object.
type Kind uint8

// The kinds of topology objects.
const (
	KindInvalid Kind = iota
	KindBridge
	KindRouter
	KindPort
	KindChain
	KindRoute
	KindPortGroup
	KindIPAddrGroup
	KindLoadBalancer
	KindPool
	KindPoolMember
	KindVIP
	KindHealthMonitor
	KindTunnelZone
	KindHost
	KindVTEP
	KindDHCPSubnet
	KindBGPPeer
	KindBGPNetwork
	numKinds
)

// KindNeutron is the kind of [NeutronDoc]: objects of the OpenStack Neutron
// model, stored beside the native objects they translate to so that one
// transaction writes both. It is no part of the device model: [Kinds] does
// not list it, so snapshots, topology files, agents and the native REST API
// never see one; [StoredKinds] does.
const KindNeutron Kind = 64

var kindNames = [...]string{
	KindInvalid:       "invalid",
	KindBridge:        "bridge",
	KindRouter:        "router",
	KindPort:          "port",
	KindChain:         "chain",
	KindRoute:         "route",
	KindPortGroup:     "port-group",
	KindIPAddrGroup:   "ip-addr-group",
	KindLoadBalancer:  "load-balancer",
	KindPool:          "pool",
	KindPoolMember:    "pool-member",
	KindVIP:           "vip",
	KindHealthMonitor: "health-monitor",
	KindTunnelZone:    "tunnel-zone",
	KindHost:          "host",
	KindVTEP:          "vtep",
	KindDHCPSubnet:    "dhcp-subnet",
	KindBGPPeer:       "bgp-peer",
	KindBGPNetwork:    "bgp-network",
}

// String returns the kind's name as used in files, errors and storage paths.
func (k Kind) String() string {
	if k == KindNeutron {
		return "neutron"
	}
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Kinds returns every kind of the device model, in declaration order;
// KindNeutron is not one of them.
func Kinds() []Kind {
	ks := make([]Kind, 0, numKinds-1)
	for k := KindBridge; k < numKinds; k++ {
		ks = append(ks, k)
	}
	return ks
}

// StoredKinds returns the kinds a store holds: every kind of Kinds, then
// KindNeutron.
func StoredKinds() []Kind { return append(Kinds(), KindNeutron) }

// ParseKind returns the kind named s (KindNeutron included), or KindInvalid.
func ParseKind(s string) Kind {
	if s == "neutron" {
		return KindNeutron
	}
	for k, n := range kindNames {
		if n == s && k != int(KindInvalid) {
			return Kind(k)
		}
	}
	return KindInvalid
}
