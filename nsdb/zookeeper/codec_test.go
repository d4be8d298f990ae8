package zookeeper

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/topology"
)

// fill sets every field reachable from v to a non-zero value derived from
// seed, so that a round trip that drops or mangles any field shows.
func fill(t *testing.T, v reflect.Value, seed *int) {
	t.Helper()
	*seed++
	n := *seed
	switch x := v.Addr().Interface().(type) {
	case *topology.ID:
		*x = topology.NameID(topology.KindBridge, strings.Repeat("x", n))
		return
	case *topology.MAC:
		*x = topology.MAC{0x02, 0, 0, 0, byte(n >> 8), byte(n)}
		return
	case *netip.Addr:
		*x = netip.AddrFrom4([4]byte{10, 0, byte(n >> 8), byte(n)})
		return
	case *netip.Prefix:
		*x = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n), 0, 0}), 16)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if !v.Type().Field(i).IsExported() {
				t.Fatalf("%s.%s is not exported: the store cannot encode it", v.Type(), v.Type().Field(i).Name)
			}
			fill(t, v.Field(i), seed)
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fill(t, s.Index(i), seed)
		}
		v.Set(s)
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fill(t, v.Index(i), seed)
		}
	case reflect.Bool:
		v.SetBool(true)
	case reflect.String:
		v.SetString("s" + strings.Repeat("y", n%7))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(1 + n%100))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(1 + n%100))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(n) + 0.5)
	case reflect.Map:
		t.Fatalf("map field of type %s: add it to fill", v.Type())
	default:
		t.Fatalf("unhandled field type %s", v.Type())
	}
}

func TestObjectCodecRoundTrip(t *testing.T) {
	for _, k := range topology.Kinds() {
		t.Run(k.String(), func(t *testing.T) {
			// Zero object: only the ID survives, and it is tiny.
			zero := topology.New(k)
			id := topology.NameID(k, "zero")
			reflect.ValueOf(zero).Elem().FieldByName("ID").Set(reflect.ValueOf(id))
			b, err := encodeObject(zero)
			if err != nil {
				t.Fatal(err)
			}
			if want := `{"ID":"` + id.String() + `"}`; string(b) != want {
				t.Fatalf("zero %s encodes as %s, want %s", k, b, want)
			}
			got, err := decodeObject(k, id, b)
			if err != nil || !reflect.DeepEqual(got, zero) {
				t.Fatalf("zero %s round trip: %+v, %v", k, got, err)
			}

			full := topology.New(k)
			seed := 0
			fill(t, reflect.ValueOf(full).Elem(), &seed)
			b, err = encodeObject(full)
			if err != nil {
				t.Fatal(err)
			}
			got, err = decodeObject(k, full.ObjectID(), b)
			if err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			if !reflect.DeepEqual(got, full) {
				t.Fatalf("round trip changed the object:\n got  %+v\n want %+v\n via %s", got, full, b)
			}
			again, _ := encodeObject(got)
			if !bytes.Equal(again, b) {
				t.Fatalf("encoding is not stable:\n%s\n%s", b, again)
			}
		})
	}
}

func TestDecodeObjectRejects(t *testing.T) {
	id := topology.NameID(topology.KindBridge, "b")
	other := topology.NameID(topology.KindBridge, "other")
	for _, data := range []string{``, `{`, `[]`, `{"ID":"nope"}`, `{"ID":"` + other.String() + `"}`, `{"ID":"` + id.String() + `","VNI":"x"}`} {
		if _, err := decodeObject(topology.KindBridge, id, []byte(data)); !errors.Is(err, errCorrupt) {
			t.Errorf("decode %q: error %v, want errCorrupt", data, err)
		}
	}
	if _, err := decodeObject(topology.KindInvalid, id, []byte(`{}`)); !errors.Is(err, errCorrupt) {
		t.Errorf("decode of an invalid kind: %v", err)
	}
}

func FuzzDecodeObject(f *testing.F) {
	p := &topology.Port{ID: topology.NameID(topology.KindPort, "p"), Name: "p", Bridge: topology.NameID(topology.KindBridge, "b"),
		Subnets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}, Address: netip.MustParseAddr("10.0.0.1")}
	b, _ := encodeObject(p)
	f.Add(uint8(topology.KindPort), b)
	c := &topology.Chain{ID: topology.NameID(topology.KindChain, "c"), Rules: []topology.Rule{{Type: topology.RuleLiteral, Action: topology.ActionDrop}}}
	b, _ = encodeObject(c)
	f.Add(uint8(topology.KindChain), b)
	f.Add(uint8(0), []byte(`{}`))
	f.Add(uint8(200), []byte(`null`))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		k := topology.Kind(kind)
		var id topology.ID
		jsonID(data, &id)
		o, err := decodeObject(k, id, data)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v does not wrap errCorrupt", err)
			}
			return
		}
		// Whatever decodes re-encodes and decodes to the same object.
		b, err := encodeObject(o)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		o2, err := decodeObject(k, id, b)
		if err != nil || !reflect.DeepEqual(o, o2) {
			t.Fatalf("re-decode of %s: %+v vs %+v (%v)", b, o, o2, err)
		}
	})
}

// jsonID extracts the "ID" member of data, for the fuzz target to decode
// objects whose ID matches their path.
func jsonID(data []byte, id *topology.ID) error {
	var probe struct{ ID topology.ID }
	if err := json.Unmarshal(data, &probe); err != nil {
		return err
	}
	*id = probe.ID
	return nil
}

func TestParseEntryName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want entryName
		ok   bool
	}{
		{"aa:bb:cc:dd:ee:ff,1b4e28ba-2fa1-11d2-883f-0016d3cca427,0000000012", entryName{"aa:bb:cc:dd:ee:ff", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", 12}, true},
		{"10.0.0.1,02:00:00:00:00:01,2147483647", entryName{"10.0.0.1", "02:00:00:00:00:01", persistentVersion}, true},
		{"10.0.0.1,null;0;0;0,0000000000", entryName{"10.0.0.1", "null;0;0;0", 0}, true},
		{"k,v,2147483648", entryName{}, false},
		{"k,v,", entryName{}, false},
		{"k,v", entryName{}, false},
		{",v,1", entryName{}, false},
		{"k,v,1,2", entryName{}, false},
		{"k,v,-1", entryName{}, false},
		{"k,v,+1", entryName{}, false},
		{"k,v,00000000001", entryName{}, false},
	} {
		got, err := parseEntryName(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseEntryName(%q) = %+v, %v; want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, errCorrupt) {
			t.Errorf("parseEntryName(%q): error %v does not wrap errCorrupt", tc.in, err)
		}
	}
}

func FuzzParseEntryName(f *testing.F) {
	for _, s := range []string{"aa:bb:cc:dd:ee:ff,1b4e28ba-2fa1-11d2-883f-0016d3cca427,0000000012",
		"10.0.0.1,02:00:00:00:00:01,2147483647", "k,v,", ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseEntryName(s)
		if err != nil {
			return
		}
		if e.key == "" || strings.Contains(e.key, ",") || strings.Contains(e.value, ",") || e.version < 0 || e.version > persistentVersion {
			t.Fatalf("parseEntryName(%q) accepted %+v", s, e)
		}
	})
}

func TestParseCandidate(t *testing.T) {
	if g, s, ok := parseCandidate("c-0123abcd-0000000042"); !ok || g != "0123abcd" || s != 42 {
		t.Fatalf("parseCandidate = %q, %d, %v", g, s, ok)
	}
	for _, bad := range []string{"c-abc-42", "x-abc-0000000001", "c--0000000001", "c-abc", "c-abc-00000000x1"} {
		if _, _, ok := parseCandidate(bad); ok {
			t.Errorf("parseCandidate(%q) accepted", bad)
		}
	}
}

func TestConnectResponse(t *testing.T) {
	b := []byte{0, 0, 0, 0, 0, 0, 0x0f, 0xa0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 2, 0xaa, 0xbb, 0}
	hs, ok := parseConnectResponse(b)
	if !ok || hs.session != 7 || hs.timeout.Milliseconds() != 4000 || !bytes.Equal(hs.passwd, []byte{0xaa, 0xbb}) {
		t.Fatalf("parseConnectResponse = %+v, %v", hs, ok)
	}
	for _, bad := range [][]byte{b[:10], {0, 0, 0, 0, 0, 0, 0x0f, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0x0f, 0xa0, 0, 0, 0, 0, 0, 0, 0, 7, 0x7f, 0, 0, 2}} {
		if _, ok := parseConnectResponse(bad); ok {
			t.Errorf("parseConnectResponse(%x) accepted", bad)
		}
	}
}

func TestValidRoot(t *testing.T) {
	for _, r := range []string{"/hivenet", "/a/b-c/d_e", "/zktest/TestX-1"} {
		if !validRoot(r) {
			t.Errorf("validRoot(%q) = false", r)
		}
	}
	for _, r := range []string{"", "/", "hivenet", "/a/", "/a//b", "/a/./b", "/a/..", "/zookeeper", "/a\x00b"} {
		if validRoot(r) {
			t.Errorf("validRoot(%q) = true", r)
		}
	}
}

func TestTokenHistory(t *testing.T) {
	var data []byte
	var toks [][]byte
	n := tokenHistory + 4
	for i := range n {
		tok := []byte{byte(i), byte(i >> 8), 2, 3, 4, 5, 6, 7}
		toks = append(toks, tok)
		data = history(data, tok)
	}
	if len(data) != tokenHistory*tokenLen {
		t.Fatalf("history holds %d bytes", len(data))
	}
	if tokenIndex(data, toks[n-1]) != 0 || tokenIndex(data, toks[4]) != tokenHistory-1 || tokenIndex(data, toks[3]) != -1 {
		t.Fatal("tokenIndex does not find the last commits newest first")
	}
}
