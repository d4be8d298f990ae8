package topology_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/topology"
)

func TestParseMAC(t *testing.T) {
	want := topology.MAC{0xfa, 0x16, 0x3e, 0x00, 0xab, 0x01}
	for _, s := range []string{"fa:16:3e:00:ab:01", "FA:16:3E:00:AB:01", "fa-16-3e-00-ab-01"} {
		m, err := topology.ParseMAC(s)
		if err != nil || m != want {
			t.Errorf("ParseMAC(%q) = %v, %v; want %v", s, m, err, want)
		}
	}
	if got := want.String(); got != "fa:16:3e:00:ab:01" {
		t.Errorf("String() = %q", got)
	}
	for _, bad := range []string{
		"", "fa:16:3e:00:ab", "fa:16:3e:00:ab:01:02", "fa:16:3e:00:ab:0", "fa16.3e00.ab01",
		"fa:16-3e:00:ab:01", // mixed separators
		"fa.16.3e.00.ab.01", // unknown separator
		"fa:16:3e:00:ab:0g", // not hex
		"fa:16:3e:00:ab:01 ",
	} {
		m, err := topology.ParseMAC(bad)
		if !errors.Is(err, topology.ErrBadMAC) {
			t.Errorf("ParseMAC(%q) error = %v, want ErrBadMAC", bad, err)
		}
		if !m.IsZero() {
			t.Errorf("ParseMAC(%q) failed but returned %v", bad, m)
		}
	}
}

func TestMACClasses(t *testing.T) {
	tests := []struct {
		mac                                 string
		zero, broadcast, multicast, unicast bool
	}{
		{"00:00:00:00:00:00", true, false, false, false},
		{"ff:ff:ff:ff:ff:ff", false, true, true, false},
		{"01:00:5e:00:00:fb", false, false, true, false},
		{"33:33:00:00:00:01", false, false, true, false},
		{"02:00:00:00:00:01", false, false, false, true},
		{"fa:16:3e:12:34:56", false, false, false, true},
	}
	for _, tc := range tests {
		m := topology.MustParseMAC(tc.mac)
		if m.IsZero() != tc.zero || m.IsBroadcast() != tc.broadcast || m.IsMulticast() != tc.multicast || m.IsUnicast() != tc.unicast {
			t.Errorf("%s: zero=%v broadcast=%v multicast=%v unicast=%v, want %v %v %v %v", tc.mac,
				m.IsZero(), m.IsBroadcast(), m.IsMulticast(), m.IsUnicast(), tc.zero, tc.broadcast, tc.multicast, tc.unicast)
		}
	}
	if topology.BroadcastMAC.String() != "ff:ff:ff:ff:ff:ff" {
		t.Error("BroadcastMAC is not all ones")
	}
}

func TestMACText(t *testing.T) {
	m := topology.MustParseMAC("02:42:ac:11:00:02")
	b, err := m.MarshalText()
	if err != nil || string(b) != "02:42:ac:11:00:02" {
		t.Errorf("MarshalText = %q, %v", b, err)
	}
	var back topology.MAC
	if err := back.UnmarshalText(b); err != nil || back != m {
		t.Errorf("UnmarshalText = %v, %v", back, err)
	}
	if err := back.UnmarshalText([]byte("zz")); !errors.Is(err, topology.ErrBadMAC) || back != m {
		t.Errorf("UnmarshalText(zz) = %v and changed the MAC to %v", err, back)
	}
	app, _ := m.AppendText([]byte("mac "))
	if string(app) != "mac 02:42:ac:11:00:02" {
		t.Errorf("AppendText = %q", app)
	}
}

func TestMustParseMACPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParseMAC(bad) did not panic")
		}
	}()
	topology.MustParseMAC("bad")
}

func FuzzParseMAC(f *testing.F) {
	for _, s := range []string{"fa:16:3e:00:ab:01", "FA-16-3E-00-AB-01", "ff:ff:ff:ff:ff:ff", "fa:16-3e:00:ab:01", "", "0g:00:00:00:00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := topology.ParseMAC(s)
		if err != nil {
			if !errors.Is(err, topology.ErrBadMAC) {
				t.Fatalf("ParseMAC(%q) error %v does not wrap ErrBadMAC", s, err)
			}
			return
		}
		out := m.String()
		if norm := strings.ReplaceAll(strings.ToLower(s), "-", ":"); out != norm {
			t.Fatalf("ParseMAC(%q).String() = %q, want %q", s, out, norm)
		}
		back, err := topology.ParseMAC(out)
		if err != nil || back != m {
			t.Fatalf("round trip of %q: %v, %v", s, back, err)
		}
	})
}
