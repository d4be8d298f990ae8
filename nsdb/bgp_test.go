package nsdb_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

func TestLearnedRoute(t *testing.T) {
	r := nsdb.LearnedRoute{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.0.2.1")}
	if r.String() != "0.0.0.0/0 via 192.0.2.1" {
		t.Fatal(r.String())
	}
	got, err := nsdb.ParseLearnedRoute(r.String())
	if err != nil || got != r {
		t.Fatalf("round trip: %v %v", got, err)
	}
	for _, bad := range []string{"", "0.0.0.0/0", "10.0.0.1/8 via 1.2.3.4", "::/0 via 1.2.3.4", "10.0.0.0/8 via ::1", "10.0.0.0/8 via x"} {
		if _, err := nsdb.ParseLearnedRoute(bad); !errors.Is(err, nsdb.ErrInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestBGPStatus(t *testing.T) {
	s := nsdb.BGPStatus{Host: topology.NameID(topology.KindHost, "gw1"), Updated: time.Unix(1e9, 0).UTC(), Running: true,
		Peers: []nsdb.BGPPeerStatus{{Peer: netip.MustParseAddr("192.0.2.1"), ASN: 65001, State: "established", UptimeSeconds: 7, Received: 2, Sent: 1}}}
	got, err := nsdb.ParseBGPStatus(s.String())
	if err != nil || got.Host != s.Host || !got.Updated.Equal(s.Updated) || len(got.Peers) != 1 || got.Peers[0] != s.Peers[0] {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if _, err := nsdb.ParseBGPStatus("{"); !errors.Is(err, nsdb.ErrInvalid) {
		t.Fatal(err)
	}
}

func FuzzParseLearnedRoute(f *testing.F) {
	f.Add("0.0.0.0/0 via 192.0.2.1")
	f.Add("10.0.0.0/8 via 10.0.0.1")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := nsdb.ParseLearnedRoute(s)
		if err != nil {
			return
		}
		again, err := nsdb.ParseLearnedRoute(r.String())
		if err != nil || again != r {
			t.Fatalf("%q -> %v does not round-trip: %v %v", s, r, again, err)
		}
	})
}

func FuzzParseBGPStatus(f *testing.F) {
	f.Add(`{"host":"00000000-0000-0000-0000-000000000001","running":true,"peers":[{"peer":"192.0.2.1","asn":1,"state":"established"}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		st, err := nsdb.ParseBGPStatus(s)
		if err != nil {
			return
		}
		if _, err := nsdb.ParseBGPStatus(st.String()); err != nil {
			t.Fatalf("%q re-encoded does not parse: %v", s, err)
		}
	})
}
