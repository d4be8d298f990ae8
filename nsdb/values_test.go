package nsdb_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

func TestPortStateRoundTrip(t *testing.T) {
	host := topology.NameID(topology.KindHost, "h1")
	for _, s := range []nsdb.PortState{{Host: host}, {Host: host, TunnelKey: 0xFFFFF}} {
		got, err := nsdb.ParsePortState(s.String())
		if err != nil || got != s {
			t.Errorf("ParsePortState(%q) = %v, %v; want %v", s.String(), got, err, s)
		}
	}
	legacy, err := nsdb.ParsePortState(host.String())
	if err != nil || legacy != (nsdb.PortState{Host: host}) {
		t.Errorf("legacy bare UUID: got %v, %v", legacy, err)
	}
	for _, bad := range []string{"", "#1", host.String() + "#", host.String() + "#-1", host.String() + "#4294967296", "00000000-0000-0000-0000-000000000000#1"} {
		if _, err := nsdb.ParsePortState(bad); !errors.Is(err, nsdb.ErrInvalid) {
			t.Errorf("ParsePortState(%q) error = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestFloodingProxyRoundTrip(t *testing.T) {
	p := nsdb.FloodingProxy{Host: topology.NameID(topology.KindHost, "h"), Addr: netip.MustParseAddr("10.0.0.7")}
	got, err := nsdb.ParseFloodingProxy(p.String())
	if err != nil || got != p {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	for _, bad := range []string{"", p.Host.String(), p.Host.String() + "#", "x#10.0.0.1", p.Host.String() + "#fe80::1%eth0"} {
		if _, err := nsdb.ParseFloodingProxy(bad); !errors.Is(err, nsdb.ErrInvalid) {
			t.Errorf("ParseFloodingProxy(%q) error = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestValidName(t *testing.T) {
	for s, want := range map[string]bool{
		"overlay_tunnel_key": true, "vxgw.fp-latch": true, "": false, ".": false, "..": false,
		"a/b": false, "a b": false, "é": false, string(make([]byte, 129)): false,
	} {
		if got := nsdb.ValidName(s); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzParsePortState(f *testing.F) {
	f.Add("6b1f4e2a-9c51-5d3b-8e07-41d26c9015aa#42")
	f.Add("6b1f4e2a-9c51-5d3b-8e07-41d26c9015aa")
	f.Add("#")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := nsdb.ParsePortState(s)
		if err != nil {
			if !errors.Is(err, nsdb.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		again, err := nsdb.ParsePortState(v.String())
		if err != nil || again != v {
			t.Fatalf("re-parse of %q: %v, %v", v.String(), again, err)
		}
	})
}

func FuzzParseFloodingProxy(f *testing.F) {
	f.Add("6b1f4e2a-9c51-5d3b-8e07-41d26c9015aa#10.0.0.1")
	f.Add("6b1f4e2a-9c51-5d3b-8e07-41d26c9015aa#::1")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := nsdb.ParseFloodingProxy(s)
		if err != nil {
			if !errors.Is(err, nsdb.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		again, err := nsdb.ParseFloodingProxy(v.String())
		if err != nil || again != v {
			t.Fatalf("re-parse of %q: %v, %v", v.String(), again, err)
		}
	})
}
