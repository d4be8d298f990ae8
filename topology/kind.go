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
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Kinds returns every valid kind, in declaration order.
func Kinds() []Kind {
	ks := make([]Kind, 0, numKinds-1)
	for k := KindBridge; k < numKinds; k++ {
		ks = append(ks, k)
	}
	return ks
}

// ParseKind returns the kind named s, or KindInvalid.
func ParseKind(s string) Kind {
	for k, n := range kindNames {
		if n == s && k != int(KindInvalid) {
			return Kind(k)
		}
	}
	return KindInvalid
}
