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
	keyIndex
	vals []V // vals[i] is the value of slots[i]
}

// keyIndex is a keyTable's keys. It is not generic, so that its lookup
// (find) is inlined into the caller: the generic one was a call, and
// MapState's lookups made three nested calls each.
type keyIndex struct {
	slots []keySlot
	n     int
	shift uint // 64 - log2(len(slots))
}

type keySlot struct {
	key  tableKey
	used bool
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
	c := uint64(vlan)<<48 | uint64(binary.BigEndian.Uint32(mac[0:4]))<<16 | uint64(binary.BigEndian.Uint16(mac[4:6]))
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

// find returns the slot of k, -1 when k is absent.
func (x *keyIndex) find(k tableKey) int {
	if x.n == 0 {
		return -1
	}
	mask := len(x.slots) - 1
	i := int(k.hash() >> x.shift)
	for x.slots[i].used {
		if x.slots[i].key == k {
			return i
		}
		i = (i + 1) & mask
	}
	return -1
}

func (t *keyTable[V]) put(k tableKey, v V) {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	mask := len(t.slots) - 1
	for i := int(k.hash() >> t.shift); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if !s.used {
			*s = keySlot{key: k, used: true}
			t.vals[i] = v
			t.n++
			return
		}
		if s.key == k {
			t.vals[i] = v
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
			t.vals[i] = t.vals[j]
			i = j
		}
	}
	t.slots[i] = keySlot{}
	var zero V
	t.vals[i] = zero
	t.n--
}

func (t *keyTable[V]) grow() {
	old, oldVals := t.slots, t.vals
	size := 2 * len(old)
	if size < 16 {
		size = 16
	}
	t.slots = make([]keySlot, size)
	t.vals = make([]V, size)
	t.n = 0
	bits := uint(0)
	for 1<<bits < size {
		bits++
	}
	t.shift = 64 - bits
	for i := range old {
		if old[i].used {
			t.put(old[i].key, oldVals[i])
		}
	}
}
