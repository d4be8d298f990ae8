package agent

import (
	"fmt"
	"hash/maphash"
	"net/netip"
	"reflect"
	"testing"

	"github.com/hivenet/hivenet/datapath"
)

var (
	addrType = reflect.TypeFor[netip.Addr]()
	ufidSeed = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
)

// leafValues returns the values a test sets a leaf field of type t to:
// its smallest and largest non-zero values, or for an address the forms
// that must all differ.
func leafValues(t reflect.Type) []reflect.Value {
	var vs []reflect.Value
	switch {
	case t == addrType:
		for _, s := range []string{"0.0.0.0", "::", "10.1.2.3", "255.255.255.255", "::ffff:10.1.2.3", "2001:db8::1"} {
			vs = append(vs, reflect.ValueOf(netip.MustParseAddr(s)))
		}
	case t.Kind() == reflect.Array:
		for _, b := range []uint64{1, 0xff} {
			v := reflect.New(t).Elem()
			for i := range v.Len() {
				v.Index(i).SetUint(b)
			}
			vs = append(vs, v)
		}
		first := reflect.New(t).Elem()
		first.Index(0).SetUint(1)
		vs = append(vs, first)
	case t.Kind() == reflect.String:
		vs = append(vs, reflect.ValueOf("x").Convert(t), reflect.ValueOf("xy").Convert(t))
	default: // unsigned integers
		vs = append(vs, reflect.New(t).Elem(), reflect.New(t).Elem())
		vs[0].SetUint(1)
		vs[1].SetUint(1<<t.Bits() - 1)
	}
	return vs
}

// forEachLeaf calls f with the path and value of every leaf field of v (a
// struct): addresses, MACs and byte arrays count as leaves.
func forEachLeaf(v reflect.Value, path string, f func(string, reflect.Value)) {
	if v.Kind() != reflect.Struct || v.Type() == addrType {
		f(path, v)
		return
	}
	for i := range v.NumField() {
		forEachLeaf(v.Field(i), path+"."+v.Type().Field(i).Name, f)
	}
}

// TestUFIDCoversEveryField sets each field of a key, one at a time, to
// each of its edge values: every key so made must have a UFID of its own,
// different from the zero key's. A field the encoding leaves out, or packs
// over another's bits, or truncates, makes two UFIDs equal.
func TestUFIDCoversEveryField(t *testing.T) {
	seen := map[datapath.UFID]string{ufidOf(&datapath.FlowKey{}, &ufidSeed): "zero key"}
	leaves := 0
	forEachLeaf(reflect.ValueOf(datapath.FlowKey{}), "", func(path string, v reflect.Value) {
		leaves++
		for _, val := range leafValues(v.Type()) {
			var k datapath.FlowKey
			forEachLeaf(reflect.ValueOf(&k).Elem(), "", func(p string, leaf reflect.Value) {
				if p == path {
					leaf.Set(val)
				}
			})
			name := path + "=" + fmtValue(val)
			u := ufidOf(&k, &ufidSeed)
			if other, dup := seen[u]; dup {
				t.Errorf("%s has the UFID of %s", name, other)
			}
			seen[u] = name
			if ufidOf(&k, &ufidSeed) != u {
				t.Errorf("%s: UFID not stable", name)
			}
		}
	})
	if leaves < 60 {
		t.Fatalf("walked %d leaf fields, FlowKey has more", leaves)
	}
}

func fmtValue(v reflect.Value) string { return fmt.Sprint(v.Interface()) }

// TestUFIDUnparsedAttributes: keys that differ only in attributes the datapath
// did not parse differ in UFID, wherever the bytes sit.
func TestUFIDUnparsedAttributes(t *testing.T) {
	a, b := datapath.FlowKey{Unknown: "ab"}, datapath.FlowKey{Unknown: "a", UnknownEncap: "b"}
	if ufidOf(&a, &ufidSeed) == ufidOf(&b, &ufidSeed) {
		t.Fatal("moving a byte from Unknown to UnknownEncap kept the UFID")
	}
}

func TestUFIDDoesNotAllocate(t *testing.T) {
	k := datapath.FlowKey{Fields: datapath.KeyInPort | datapath.KeyEthernet | datapath.KeyIPv4,
		InPort: 3, IPv4: datapath.IPv4Key{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}}
	if n := testing.AllocsPerRun(100, func() { _ = ufidOf(&k, &ufidSeed) }); n != 0 {
		t.Fatalf("ufidOf allocates %v times", n)
	}
}

func BenchmarkUFID(b *testing.B) {
	k := datapath.FlowKey{Fields: datapath.KeyInPort | datapath.KeyEthernet | datapath.KeyIPv4 | datapath.KeyUDP,
		InPort: 3, IPv4: datapath.IPv4Key{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Proto: 17},
		UDP: datapath.UDPKey{Src: 1000, Dst: 53}}
	b.Run("words", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = ufidOf(&k, &ufidSeed)
		}
	})
	b.Run("comparable", func(b *testing.B) { // what ufidOf replaced
		b.ReportAllocs()
		for b.Loop() {
			_ = maphash.Comparable(ufidSeed[0], k)
			_ = maphash.Comparable(ufidSeed[1], k)
		}
	})
}
