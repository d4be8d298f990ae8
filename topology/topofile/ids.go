package topofile

import (
	"crypto/sha1"
	"strconv"

	"github.com/hivenet/hivenet/topology"
)

// ChildID returns the ID a file gives to the index-th child of kind k of
// the object parent when the child has no explicit id: routes, BGP peers and
// networks of a router, DHCP subnets of a bridge, members and VIPs of a pool.
// It is a SHA-1 (version 5 style) hash of the parent's ID, the child kind's
// name and the decimal index, so it is stable as long as the parent keeps its
// ID and the child its position.
func ChildID(parent topology.ID, k topology.Kind, index int) topology.ID {
	return childID(parent, k.String(), index)
}

// RuleID returns the ID a file gives to the index-th rule (from 0) of the
// chain with ID chain when the rule has no explicit id.
func RuleID(chain topology.ID, index int) topology.ID {
	return childID(chain, "rule", index)
}

func childID(parent topology.ID, what string, index int) topology.ID {
	h := sha1.New()
	h.Write(parent[:])
	h.Write([]byte(what))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, int64(index), 10))
	var id topology.ID
	copy(id[:], h.Sum(nil))
	id[6] = id[6]&0x0f | 0x50
	id[8] = id[8]&0x3f | 0x80
	return id
}

// macSeed prefixes a port's ID in the hash its default MAC comes from.
const macSeed = "hivenet-mac"

// DefaultMAC returns the MAC a file gives to a router port that has no
// explicit mac: 02:xx:xx:xx:xx:xx, a locally administered unicast address
// whose last five octets are the first five of SHA-1("hivenet-mac" || port
// ID). The same port ID always gets the same MAC.
func DefaultMAC(port topology.ID) topology.MAC {
	var b [len(macSeed) + len(port)]byte
	copy(b[copy(b[:], macSeed):], port[:])
	sum := sha1.Sum(b[:])
	return topology.MAC{0x02, sum[0], sum[1], sum[2], sum[3], sum[4]}
}
