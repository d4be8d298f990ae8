package topology_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/topology"
)

func TestWarnings(t *testing.T) {
	id := topology.NameID
	ha, hb := id(topology.KindHost, "a"), id(topology.KindHost, "b")
	c1, c2, c3 := id(topology.KindChain, "c1"), id(topology.KindChain, "c2"), id(topology.KindChain, "c3")
	jump := func(to topology.ID) topology.Rule {
		return topology.Rule{Type: topology.RuleJump, Action: topology.ActionJump, JumpChain: to}
	}
	topo := &topology.Topology{
		Hosts:       []topology.Host{{ID: ha, Name: "a"}, {ID: hb, Name: "b"}},
		TunnelZones: []topology.TunnelZone{{ID: id(topology.KindTunnelZone, "z"), Name: "z", Members: []topology.TunnelZoneMember{{Host: ha, Addr: netip.MustParseAddr("192.0.2.1")}}}},
		Bridges:     []topology.Bridge{{ID: id(topology.KindBridge, "br"), Name: "br"}},
		Ports: []topology.Port{
			{ID: id(topology.KindPort, "p1"), Name: "p1", Bridge: id(topology.KindBridge, "br"), Host: ha, Interface: "t1"},
			{ID: id(topology.KindPort, "p2"), Name: "p2", Bridge: id(topology.KindBridge, "br"), Host: hb, Interface: "t2"},
		},
		Chains: []topology.Chain{
			{ID: c1, Name: "c1", Rules: []topology.Rule{jump(c2)}},
			{ID: c2, Name: "c2", Rules: []topology.Rule{jump(c3)}},
			{ID: c3, Name: "c3", Rules: []topology.Rule{jump(c1), jump(c3)}},
		},
	}
	ws := topo.Warnings()
	var zone, cycles []*topology.Problem
	for _, w := range ws {
		switch {
		case errors.Is(w, topology.ErrHostInNoTunnelZone):
			zone = append(zone, w)
		case errors.Is(w, topology.ErrJumpCycle):
			cycles = append(cycles, w)
		default:
			t.Errorf("unexpected warning %v", w)
		}
	}
	if len(zone) != 1 || zone[0].Name != "p2" || zone[0].Field != "host" || !strings.Contains(zone[0].Detail, `"b"`) {
		t.Errorf("tunnel-zone warnings: %v", zone)
	}
	// Two cycles: c1 → c2 → c3 → c1 and c3 → c3.
	if len(cycles) != 2 {
		t.Fatalf("jump-cycle warnings: %v", cycles)
	}
	if cycles[0].Name != "c1" || !strings.Contains(cycles[0].Detail, `"c1" → "c2" → "c3" → "c1"`) {
		t.Errorf("first cycle: %v", cycles[0])
	}
	if cycles[1].Name != "c3" || !strings.Contains(cycles[1].Detail, `"c3" → "c3"`) {
		t.Errorf("self cycle: %v", cycles[1])
	}

	// One bound host needs no tunnel zone; no cycle, no warning.
	topo.Ports = topo.Ports[:1]
	topo.TunnelZones = nil
	topo.Chains = topo.Chains[:1]
	topo.Chains[0].Rules = nil
	if ws := topo.Warnings(); len(ws) != 0 {
		t.Errorf("warnings on a clean topology: %v", ws)
	}
}
