package nsdb_test

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

func TestVTEPConfigRoundTrip(t *testing.T) {
	c := nsdb.VTEPConfig{TunnelIPs: []netip.Addr{netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("10.0.1.7")}}
	got, err := nsdb.ParseVTEPConfig(c.String())
	if err != nil || !slices.Equal(got.TunnelIPs, c.TunnelIPs) {
		t.Fatalf("round trip of %q: %v, %v", c.String(), got, err)
	}
	for _, bad := range []string{"", ",", "10.0.0.1,", "x", "fe80::1%eth0", strings.Repeat("10.0.0.1,", 16) + "10.0.0.1"} {
		if _, err := nsdb.ParseVTEPConfig(bad); !errors.Is(err, nsdb.ErrInvalid) {
			t.Errorf("ParseVTEPConfig(%q) error = %v, want ErrInvalid", bad, err)
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

func FuzzParseVTEPConfig(f *testing.F) {
	f.Add("10.0.0.1")
	f.Add("10.0.0.1,::1")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := nsdb.ParseVTEPConfig(s)
		if err != nil {
			if !errors.Is(err, nsdb.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		again, err := nsdb.ParseVTEPConfig(v.String())
		if err != nil || !slices.Equal(again.TunnelIPs, v.TunnelIPs) {
			t.Fatalf("re-parse of %q: %v, %v", v.String(), again, err)
		}
	})
}

func TestARPEntryText(t *testing.T) {
	now := time.Date(2024, 1, 2, 3, 4, 5, 678901234, time.Local)
	e := nsdb.ARPEntry{MAC: topology.MAC{2, 0, 0, 0, 0, 9}, Expiry: now.Add(90 * time.Second), Stale: now.Add(time.Minute), LastARP: now}
	s := e.String()
	if want := "02:00:00:00:00:09;" + strconv.FormatInt(now.Add(90*time.Second).UnixMilli(), 10); !strings.HasPrefix(s, want) {
		t.Fatalf("String = %q, want prefix %q", s, want)
	}
	got, err := nsdb.ParseARPEntry(s)
	if err != nil || got != e.Normalize() || !got.Equal(e) {
		t.Fatalf("ParseARPEntry(%q) = %+v, %v; want %+v", s, got, err, e.Normalize())
	}
	unresolved := nsdb.ARPEntry{}
	if s := unresolved.String(); s != "null;0;0;0" {
		t.Fatalf("zero entry = %q", s)
	}
	if got, err := nsdb.ParseARPEntry("null;0;0;0"); err != nil || got != unresolved {
		t.Fatalf("ParseARPEntry(null) = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "null;0;0", "xx;0;0;0", "null;a;0;0", "null;0;0;0;0"} {
		if _, err := nsdb.ParseARPEntry(bad); !errors.Is(err, nsdb.ErrInvalid) {
			t.Errorf("ParseARPEntry(%q) error = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestARPEntryNormalize(t *testing.T) {
	a := time.Date(2024, 1, 2, 3, 4, 5, 1_500_000, time.FixedZone("x", 7200))
	e := nsdb.ARPEntry{Expiry: a}
	n := e.Normalize()
	if n.Expiry.Location() != time.UTC || n.Expiry.Nanosecond() != 1_000_000 || !e.Equal(n) {
		t.Fatalf("Normalize = %v", n.Expiry)
	}
	if (nsdb.ARPEntry{}).Normalize() != (nsdb.ARPEntry{}) {
		t.Fatal("Normalize of the zero entry is not zero")
	}
	if e.Equal(nsdb.ARPEntry{Expiry: a.Add(time.Millisecond)}) {
		t.Fatal("entries a millisecond apart are Equal")
	}
}

func FuzzParseARPEntry(f *testing.F) {
	f.Add("02:00:00:00:00:09;1704164645678;1704164705678;1704164615678")
	f.Add("null;0;0;0")
	f.Add(";;;")
	f.Fuzz(func(t *testing.T, s string) {
		e, err := nsdb.ParseARPEntry(s)
		if err != nil {
			if !errors.Is(err, nsdb.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		again, err := nsdb.ParseARPEntry(e.String())
		if err != nil || !again.Equal(e) || again.MAC != e.MAC {
			t.Fatalf("re-parse of %q: %+v, %v", e.String(), again, err)
		}
	})
}
