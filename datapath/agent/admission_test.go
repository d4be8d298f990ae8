package agent

import (
	"maps"
	"net/netip"
	"slices"
	"testing"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// TestAdmitted: a host admits the other members of its zones, on the port
// of each zone's encapsulation, and nothing from zones it is not in or
// whose encapsulation it has no port for; admissionTags names the
// addresses whose admission changed.
func TestAdmitted(t *testing.T) {
	host := func(n string) topology.ID { return topology.NameID(topology.KindHost, n) }
	ip := netip.MustParseAddr
	self, b, c, d := host("self"), host("b"), host("c"), host("d")
	topo := &topology.Topology{
		Hosts: []topology.Host{{ID: self, Name: "self"}, {ID: b, Name: "b"}, {ID: c, Name: "c"}, {ID: d, Name: "d"}},
		TunnelZones: []topology.TunnelZone{
			{ID: topology.NameID(topology.KindTunnelZone, "vx"), Name: "vx", Type: topology.TunnelZoneVXLAN,
				Members: []topology.TunnelZoneMember{{Host: self, Addr: ip("192.0.2.1")}, {Host: b, Addr: ip("192.0.2.2")}}},
			{ID: topology.NameID(topology.KindTunnelZone, "gre"), Name: "gre", Type: topology.TunnelZoneGRE,
				Members: []topology.TunnelZoneMember{{Host: self, Addr: ip("198.51.100.1")}, {Host: c, Addr: ip("198.51.100.3")}}},
			{ID: topology.NameID(topology.KindTunnelZone, "other"), Name: "other", Type: topology.TunnelZoneVXLAN,
				Members: []topology.TunnelZoneMember{{Host: b, Addr: ip("203.0.113.2")}, {Host: d, Addr: ip("203.0.113.4")}}},
		},
	}
	const vxlan, gre = datapath.PortNumber(1), datapath.PortNumber(2)
	snap := topology.NewSnapshot(topo)
	ad := admitted(snap, self, vxlan, gre, true)
	want := admission{{vxlan, ip("192.0.2.2")}: b, {gre, ip("198.51.100.3")}: c}
	if !maps.Equal(ad, want) {
		t.Errorf("admitted = %v, want %v", ad, want)
	}
	if noGRE := admitted(snap, self, vxlan, 0, false); !maps.Equal(noGRE, admission{{vxlan, ip("192.0.2.2")}: b}) {
		t.Errorf("without GRE: %v", noGRE)
	}
	wd := &world{admit: ad}
	if !wd.admits(vxlan, ip("192.0.2.2")) || !wd.admits(vxlan, netip.AddrFrom16(ip("192.0.2.2").As16())) {
		t.Error("b's address (plain or IPv4-mapped) not admitted on the VXLAN port")
	}
	for _, k := range []admitKey{{gre, ip("192.0.2.2")}, {vxlan, ip("198.51.100.3")}, {vxlan, ip("203.0.113.4")}, {vxlan, ip("192.0.2.1")}} {
		if wd.admits(k.port, k.addr) {
			t.Errorf("%v admitted on port %d", k.addr, k.port)
		}
	}

	// b moves to another address and c leaves.
	topo.TunnelZones[0].Members[1].Addr = ip("192.0.2.22")
	topo.TunnelZones[1].Members = topo.TunnelZones[1].Members[:1]
	next := admitted(topology.NewSnapshot(topo), self, vxlan, gre, true)
	var got []string
	for _, tg := range admissionTags(ad, next) {
		got = append(got, tg.String())
	}
	slices.Sort(got)
	wantTags := []string{
		simulation.TagTunnelSource(ip("192.0.2.2")).String(),
		simulation.TagTunnelSource(ip("192.0.2.22")).String(),
		simulation.TagTunnelSource(ip("198.51.100.3")).String(),
	}
	if !slices.Equal(got, wantTags) {
		t.Errorf("admissionTags = %v, want %v", got, wantTags)
	}
	if tags := admissionTags(next, next); len(tags) != 0 {
		t.Errorf("no change gives tags %v", tags)
	}
}
