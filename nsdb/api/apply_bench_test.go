package api_test

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// applyFile is a topology file of 10 hosts and 50 bridges of 20 ports
// each, every port bound, filtered and in a DHCP subnet: 1,000 ports.
func applyFile(b *testing.B) string {
	t := &topology.Topology{}
	zone := topology.TunnelZone{ID: topology.NameID(topology.KindTunnelZone, "z"), Name: "z", Type: topology.TunnelZoneVXLAN}
	for h := range 10 {
		name := fmt.Sprintf("h%02d", h)
		id := topology.NameID(topology.KindHost, name)
		t.Hosts = append(t.Hosts, topology.Host{ID: id, Name: name})
		zone.Members = append(zone.Members, topology.TunnelZoneMember{Host: id, Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(h + 1)})})
	}
	t.TunnelZones = append(t.TunnelZones, zone)
	sg := topology.NameID(topology.KindChain, "sg")
	t.Chains = append(t.Chains, topology.Chain{ID: sg, Name: "sg", Rules: []topology.Rule{{ID: topofile.RuleID(sg, 0), Type: topology.RuleLiteral, Action: topology.ActionDrop}}})
	for br := range 50 {
		name := fmt.Sprintf("net%02d", br)
		bid := topology.NameID(topology.KindBridge, name)
		t.Bridges = append(t.Bridges, topology.Bridge{ID: bid, Name: name})
		for p := range 20 {
			pn := fmt.Sprintf("vm%02d-%02d", br, p)
			t.Ports = append(t.Ports, topology.Port{ID: topology.NameID(topology.KindPort, pn), Name: pn, Bridge: bid,
				Host: t.Hosts[p%10].ID, Interface: "tap-" + pn, OutboundFilter: sg})
		}
	}
	var buf bytes.Buffer
	if err := topofile.Write(&buf, t); err != nil {
		b.Fatal(err)
	}
	return buf.String()
}

// BenchmarkApplyTopology: one op is a PUT /v1/topology of the 1,000-port
// file on the memory NSDB — the first apply as a dry run (1,062 creates
// planned, checked and answered), then re-applying it unchanged (the
// common case of a controller applying its desired state).
func BenchmarkApplyTopology(b *testing.B) {
	file := applyFile(b)
	for _, c := range []struct {
		name    string
		preload bool
		query   string
	}{{"DryRunCreate", false, "?scope=s&dry-run=true"}, {"Unchanged", true, "?scope=s"}} {
		b.Run(c.name, func(b *testing.B) {
			e := newEnv(b, memoryBackend, &coverage{ops: map[string]bool{}})
			put := func() *httptest.ResponseRecorder {
				rec := httptest.NewRecorder()
				e.srv.ServeHTTP(rec, e.newRequest(call{method: "PUT", path: "/v1/topology" + c.query, body: file, ctype: "application/yaml"}))
				return rec
			}
			if c.preload {
				if rec := put(); rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(file)))
			for b.Loop() {
				if rec := put(); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"dry-run"`) {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
