package inproc

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"

	"github.com/hivenet/hivenet/datapath"
)

var addrType = reflect.TypeFor[netip.Addr]()

// randomLeaf sets v, a leaf field of a FlowKey, to a random value: numbers
// of every width, addresses absent, IPv4, IPv6 or IPv6 with a zone,
// strings of raw attributes from empty to longer than a flow's inline room.
func randomLeaf(r *rand.Rand, v reflect.Value) {
	switch {
	case v.Type() == addrType:
		var a netip.Addr
		switch r.IntN(4) {
		case 1:
			a = netip.AddrFrom4([4]byte{byte(r.Uint32()), 0, 0, byte(r.Uint32())})
		case 2:
			a = netip.AddrFrom16([16]byte{0x20, 1, 15: byte(r.Uint32())})
		case 3:
			a = netip.AddrFrom16([16]byte{0xfe, 0x80, 15: 1}).WithZone("eth0")
		}
		v.Set(reflect.ValueOf(a))
	case v.Kind() == reflect.Array:
		for i := range v.Len() {
			v.Index(i).SetUint(r.Uint64())
		}
	case v.Kind() == reflect.String:
		b := make([]byte, []int{0, 0, 3, 200}[r.IntN(4)])
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		v.SetString(string(b))
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			randomLeaf(r, v.Field(i))
		}
	default:
		v.SetUint(r.Uint64())
	}
}

// randomCanonicalKey fills every field of a key at random, names a random
// set of groups in Fields, and makes it canonical (absent groups zero), as
// a flow's key is.
func randomCanonicalKey(r *rand.Rand) datapath.FlowKey {
	var k datapath.FlowKey
	randomLeaf(r, reflect.ValueOf(&k).Elem())
	k.Fields = datapath.KeyFields(r.Uint64()) & (datapath.KeyCTOrigTupleIPv6<<1 - 1)
	if r.IntN(4) == 0 {
		k.Fields = datapath.KeyCTOrigTupleIPv6<<1 - 1 // every group
	}
	k.Canonicalize()
	return k
}

func TestPackedKeyRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var p packedKey
	spilled := 0
	for i := range 20000 {
		k := randomCanonicalKey(r)
		p.set(&k)
		if p.n == 0 {
			spilled++
		}
		var got datapath.FlowKey
		p.get(&got)
		if got != k {
			t.Fatalf("key %d: unpacked\n%+v\nwant\n%+v", i, got, k)
		}
	}
	if spilled == 0 || spilled == 20000 {
		t.Fatalf("%d of 20000 keys spilled: both paths must be exercised", spilled)
	}
}

// TestPackedKeyTruncated: a packed key cut anywhere fails to unpack.
func TestPackedKeyTruncated(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		k := randomCanonicalKey(r)
		b := appendKey(nil, &k)
		for n := range len(b) {
			var got datapath.FlowKey
			if unpackKey(b[:n], &got) == nil {
				t.Fatalf("a key cut to %d of %d bytes unpacked", n, len(b))
			}
		}
		var got datapath.FlowKey
		if unpackKey(append(b, 0), &got) == nil {
			t.Fatal("a key with a trailing byte unpacked")
		}
	}
}

func TestPackedKeySetDoesNotAllocate(t *testing.T) {
	k := randomPacket(rand.New(rand.NewPCG(1, 1)))
	k.Canonicalize()
	var p packedKey
	if n := testing.AllocsPerRun(100, func() { p.set(&k) }); n != 0 {
		t.Fatalf("packing a key allocates %v times", n)
	}
	if p.n == 0 {
		t.Fatalf("a TCP/IPv4 key with its metadata spilled: %d bytes", len(p.bytes()))
	}
}
