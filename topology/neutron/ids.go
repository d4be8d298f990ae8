package neutron

import (
	"crypto/sha1"

	"github.com/hivenet/hivenet/topology"
)

// idNamespace seeds the IDs of translated objects.
var idNamespace = topology.ID{0x3d, 0x0e, 0x8b, 0x61, 0x7a, 0x52, 0x4c, 0x19, 0x9f, 0x26, 0x05, 0xb4, 0x71, 0xe8, 0x3a, 0xc2}

// DeriveID returns the ID of the native object the translation of the
// Neutron object id makes in role ("in", "router-port", ...): a name-based
// (version 5) UUID, so that every translation of a model gives its objects
// the same IDs. Objects that stand for a Neutron object one to one take its
// ID instead: a network's bridge, a port's bridge port, a subnet's DHCP
// subnet, a router's router, a security group's IP address group, a
// security group rule's rule.
func DeriveID(id topology.ID, role string) topology.ID {
	h := sha1.New()
	h.Write(idNamespace[:])
	h.Write(id[:])
	h.Write([]byte(role))
	var out topology.ID
	copy(out[:], h.Sum(nil))
	out[6] = out[6]&0x0f | 0x50
	out[8] = out[8]&0x3f | 0x80
	return out
}

// derivedMAC returns a locally administered unicast MAC derived from id,
// for router ports no Neutron port stands for.
func derivedMAC(id topology.ID) topology.MAC {
	h := sha1.Sum(append([]byte("hivenet-neutron-mac"), id[:]...))
	return topology.MAC{0x02, h[0], h[1], h[2], h[3], h[4]}
}

// NativeName returns the name of the native object standing for a Neutron
// object named name (resource when unnamed) with ID id: the name and the
// first 8 hexadecimal digits of the ID, "vm1-3f2a91c0", since Neutron
// names need not be unique and native names must. Objects a Neutron object
// makes in other roles add a suffix ("vm1-3f2a91c0-in").
func NativeName(name, resource string, id topology.ID) string {
	if name == "" {
		name = resource
	}
	return name + "-" + id.String()[:8]
}

// NativeName returns the name of the port's bridge port.
func (p *Port) NativeName() string {
	res := "port"
	switch p.DeviceOwner {
	case OwnerRouterInterface:
		res = "router-interface"
	case OwnerRouterGateway:
		res = "router-gateway"
	}
	return NativeName(p.Name, res, p.ID)
}

// NativeName returns the name of the network's bridge.
func (n *Network) NativeName() string { return NativeName(n.Name, "network", n.ID) }

// NativeName returns the name of the router's router.
func (r *Router) NativeName() string { return NativeName(r.Name, "router", r.ID) }

// NativeName returns the name of the group's IP address group; its chains
// add "-ingress" and "-egress".
func (g *SecurityGroup) NativeName() string { return NativeName(g.Name, "security-group", g.ID) }
