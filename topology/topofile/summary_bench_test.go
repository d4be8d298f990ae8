package topofile_test

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"testing"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// largeFile writes a topology file with bridges×ports VM ports spread over
// 100 hosts in one tunnel zone.
func largeFile(tb testing.TB, bridges, ports int) []byte {
	tb.Helper()
	id := topology.NameID
	t := &topology.Topology{}
	z := topology.TunnelZone{ID: id(topology.KindTunnelZone, "underlay"), Name: "underlay", Type: topology.TunnelZoneVXLAN}
	for h := range 100 {
		name := fmt.Sprintf("host-%d", h)
		t.Hosts = append(t.Hosts, topology.Host{ID: id(topology.KindHost, name), Name: name})
		z.Members = append(z.Members, topology.TunnelZoneMember{Host: id(topology.KindHost, name), Addr: netip.AddrFrom4([4]byte{10, 255, byte(h >> 8), byte(h)})})
	}
	t.TunnelZones = []topology.TunnelZone{z}
	for b := range bridges {
		bname := fmt.Sprintf("net-%d", b)
		t.Bridges = append(t.Bridges, topology.Bridge{ID: id(topology.KindBridge, bname), Name: bname})
		for p := range ports {
			pname := fmt.Sprintf("vm-%d-%d", b, p)
			host := t.Hosts[(b*ports+p)%len(t.Hosts)].ID
			t.Ports = append(t.Ports, topology.Port{ID: id(topology.KindPort, pname), Name: pname, Bridge: id(topology.KindBridge, bname),
				Host: host, Interface: "tap-" + pname})
		}
	}
	var buf bytes.Buffer
	if err := topofile.Write(&buf, t); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkLoadSummarize100kPorts: one op loads, validates and summarises
// a 100,000-port topology file (1,000 bridges of 100 ports, 100 hosts), as
// `topo` does. The summary visits each object once: ns/op and B/op stay
// linear in the file (the target is under 2 s and 500 MB per op).
func BenchmarkLoadSummarize100kPorts(b *testing.B) {
	data := largeFile(b, 1000, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t, err := topofile.Load(bytes.NewReader(data), "large.yaml")
		if err != nil {
			b.Fatal(err)
		}
		if err := topofile.Summarize(io.Discard, t); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data))/(1<<20), "file-MiB")
}
