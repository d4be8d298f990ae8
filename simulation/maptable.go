package simulation

import (
	"encoding/binary"
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// keyTable is MapState's hash table: open addressing with linear probing
// over (device, detail) keys, deletion by backward shift (no tombstones).
//
// Go maps hash these 24- and 32-byte keys through the generic memory hash
// and probe through the generic map code; on a routed packet's three
// lookups that cost a tenth of the simulation. Here the key is four words
// hashed by multiply-xor, and a probe compares integers in one slot.
type keyTable[V any] struct {
	slots []keySlot[V]
	n     int
	shift uint // 64 - log2(len(slots))
}

type keySlot[V any] struct {
	key  tableKey
	used bool
	val  V
}

// tableKey is a device ID (a, b) and the entry's detail within the
// device's table (c, d): a VLAN and a MAC, or an address.
type tableKey struct{ a, b, c, d uint64 }

func (k tableKey) hash() uint64 {
	h := k.a*0x9e3779b97f4a7c15 ^ k.b*0xc2b2ae3d27d4eb4f ^ k.c*0x165667b19e3779f9 ^ k.d
	return (h ^ h>>31) * 0xff51afd7ed558ccd
}

// macTableKey is the key of vlan/mac in bridge's MAC table.
func macTableKey(bridge topology.ID, vlan uint16, mac topology.MAC) tableKey {
	k := keyOf(bridge)
	c := uint64(vlan)<<48 | uint64(mac[0])<<40 | uint64(mac[1])<<32 | uint64(mac[2])<<24 |
		uint64(mac[3])<<16 | uint64(mac[4])<<8 | uint64(mac[5])
	return tableKey{k.a, k.b, c, 0}
}

// addrTableKey is the key of ip in dev's table (IPv4-MAC or ARP): its
// 16-byte form, so an IPv4 address and its IPv4-mapped IPv6 form are the
// same entry.
func addrTableKey(dev topology.ID, ip netip.Addr) tableKey {
	k := keyOf(dev)
	if ip.Is4() {
		// As16 stores two words into an array that is then read back in
		// one wide load, which waits for the stores to reach the cache.
		a := ip.As4()
		return tableKey{k.a, k.b, 0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(a[:]))}
	}
	a := ip.As16()
	return tableKey{k.a, k.b, binary.BigEndian.Uint64(a[0:8]), binary.BigEndian.Uint64(a[8:16])}
}

// find returns the value of k in place, nil when k is absent: the caller
// copies what it needs once (an ARP entry is 56 bytes).
func (t *keyTable[V]) find(k tableKey) *V {
	if t.n != 0 {
		mask := len(t.slots) - 1
		for i := int(k.hash() >> t.shift); ; i = (i + 1) & mask {
			s := &t.slots[i]
			if !s.used {
				break
			}
			if s.key == k {
				return &s.val
			}
		}
	}
	return nil
}

func (t *keyTable[V]) get(k tableKey) (V, bool) {
	if v := t.find(k); v != nil {
		return *v, true
	}
	var zero V
	return zero, false
}

func (t *keyTable[V]) put(k tableKey, v V) {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	mask := len(t.slots) - 1
	for i := int(k.hash() >> t.shift); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if !s.used {
			*s = keySlot[V]{key: k, used: true, val: v}
			t.n++
			return
		}
		if s.key == k {
			s.val = v
			return
		}
	}
}

func (t *keyTable[V]) delete(k tableKey) {
	if t.n == 0 {
		return
	}
	mask := len(t.slots) - 1
	i := int(k.hash() >> t.shift)
	for {
		s := &t.slots[i]
		if !s.used {
			return
		}
		if s.key == k {
			break
		}
		i = (i + 1) & mask
	}
	// Backward shift: move later entries of the probe run into the hole
	// when their home slot does not lie after the hole.
	for j := (i + 1) & mask; t.slots[j].used; j = (j + 1) & mask {
		home := int(t.slots[j].key.hash() >> t.shift)
		if (j-home)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = keySlot[V]{}
	t.n--
}

func (t *keyTable[V]) grow() {
	old := t.slots
	size := 2 * len(old)
	if size < 16 {
		size = 16
	}
	t.slots = make([]keySlot[V], size)
	t.n = 0
	bits := uint(0)
	for 1<<bits < size {
		bits++
	}
	t.shift = 64 - bits
	for i := range old {
		if old[i].used {
			t.put(old[i].key, old[i].val)
		}
	}
}
