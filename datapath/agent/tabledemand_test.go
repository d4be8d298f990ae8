package agent_test

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// farTopology routes vm1 (bridge a, bound here) to vm3 and vm4 (bridge c,
// bound on h2) through r1, the transit bridge t and r2. a is local and r1
// peered with it: their tables are opened with the topology; t, r2 and c
// are further away.
const farTopology = `
hosts: [{name: h}, {name: h2}]
bridges:
  - name: a
    ports:
      - {name: vm1, host: h, interface: tap1}
      - {name: a-r1, peer: r1-a}
  - name: t
    ports:
      - {name: t-r1, peer: r1-t}
      - {name: t-r2, peer: r2-t}
  - name: c
    ports:
      - {name: vm3, host: h2, interface: tap3}
      - {name: vm4, host: h2, interface: tap4}
      - {name: c-r2, peer: r2-c}
routers:
  - name: r1
    ports:
      - {name: r1-a, address: 10.0.1.1/24}
      - {name: r1-t, address: 10.0.0.1/24}
    routes:
      - {dst: 10.0.3.0/24, port: r1-t, gateway: 10.0.0.2}
  - name: r2
    ports:
      - {name: r2-t, address: 10.0.0.2/24}
      - {name: r2-c, address: 10.0.3.1/24}
    routes:
      - {dst: 10.0.1.0/24, port: r2-t, gateway: 10.0.0.1}
`

var (
	vm1MAC = topology.MAC{2, 0, 0, 0, 1, 11}
	vm3MAC = topology.MAC{2, 0, 0, 0, 3, 11}
)

// farAgent runs an agent on farTopology, with r2's ARP entry and c's MAC
// entry for vm3 in the NSDB, and returns a UDP frame from vm1 to vm3.
func farAgent(t *testing.T) (*agent.Agent, *inproc.Datapath, *prometheus.Registry, []byte) {
	t.Helper()
	return farAgentWith(t, nil)
}

// farAgentWith is farAgent with adjust applied to the agent's
// configuration (see agentOnWith).
func farAgentWith(t *testing.T, adjust func(*agent.Config)) (*agent.Agent, *inproc.Datapath, *prometheus.Registry, []byte) {
	t.Helper()
	ag, dp, reg, client := agentOnWith(t, 1, farTopology, adjust)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	arp, err := client.Tables().ARPTable(ctx, topology.NameID(topology.KindRouter, "r2"))
	if err != nil {
		t.Fatal(err)
	}
	far := time.Now().Add(time.Hour)
	if err := arp.Add(ctx, netip.MustParseAddr("10.0.3.11"), nsdb.ARPEntry{MAC: vm3MAC, Expiry: far, Stale: far}); err != nil {
		t.Fatal(err)
	}
	macs, err := client.Tables().MACTable(ctx, topology.NameID(topology.KindBridge, "c"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := macs.Add(ctx, vm3MAC, topology.NameID(topology.KindPort, "vm3")); err != nil {
		t.Fatal(err)
	}
	r1a, ok := ag.Snapshot().Port(topology.NameID(topology.KindPort, "r1-a"))
	if !ok {
		t.Fatal("no port r1-a")
	}
	var m packet.Match
	m.SetEthSrc(vm1MAC)
	m.SetEthDst(r1a.MAC)
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(netip.MustParseAddr("10.0.1.11"))
	m.SetIPDst(netip.MustParseAddr("10.0.3.11"))
	m.SetIPProto(packet.ProtoUDP)
	m.SetIPTTL(64)
	m.SetSrcPort(4000)
	m.SetDstPort(9)
	frame, err := packet.AppendFrame(nil, &m, []byte("to c"))
	if err != nil {
		t.Fatal(err)
	}
	return ag, dp, reg, frame
}

// tablesAtStart are the tables open before any packet: a's MAC and
// IPv4-MAC tables and r1's ARP table.
const tablesAtStart = 3

// tablesAfter adds r2's ARP table and c's two.
const tablesAfter = 6

// TestTablesOpenedOnDemand: at start the agent follows only the tables of
// the devices its port reaches directly; the first packet toward c waits
// until r2's and c's tables are open, and its flow then uses c's MAC
// entry (unicast to vm3) instead of flooding.
func TestTablesOpenedOnDemand(t *testing.T) {
	ag, dp, reg, frame := farAgent(t)
	if n := metricValue(t, reg, "hivenet_agent_state_tables_open", "", ""); n != tablesAtStart {
		t.Fatalf("%v tables open at start, want %d", n, tablesAtStart)
	}
	if err := endpointOf(t, ag, dp, "vm1").Send(frame); err != nil {
		t.Fatal(err)
	}
	c := topology.NameID(topology.KindBridge, "c")
	unicast := simulation.TagBridgeMAC(c, vm3MAC, 0, topology.NameID(topology.KindPort, "vm3"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		var tags []simulation.Tag
		for _, f := range ag.Flows(ctx) {
			tags = append(tags, f.Tags...)
		}
		if slices.Contains(tags, unicast) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no flow unicast to vm3 by c's MAC table; flow tags: %v", tags)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := metricValue(t, reg, "hivenet_agent_state_tables_open", "", ""); n != tablesAfter {
		t.Errorf("%v tables open after the packet, want %d", n, tablesAfter)
	}
	if n := metricValue(t, reg, "hivenet_agent_table_waits_total", "", ""); n < 1 {
		t.Errorf("%v simulations waited for tables, want at least 1", n)
	}
	checkTables(t, ag, map[string]string{"a": "local mac[0] ip4", "r1": "local arp", "c": "demand mac[0] ip4", "r2": "demand arp"})
}

// checkTables compares Agent.Tables with want: per device name, "local"
// or "demand" and the tables followed ("mac[vlan]", "ip4", "arp").
func checkTables(t *testing.T, ag *agent.Agent, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, d := range ag.Tables() {
		s := "demand"
		if d.Local {
			s = "local"
		}
		for _, v := range d.MACVLANs {
			s += fmt.Sprintf(" mac[%d]", v)
		}
		if d.IP4MAC {
			s += " ip4"
		}
		if d.ARP {
			s += " arp"
		}
		got[d.Name] = s
	}
	if !maps.Equal(got, want) {
		t.Errorf("tables followed: %v, want %v", got, want)
	}
}

// TestTraceOpensTables: a trace through devices whose tables are not open
// opens them first, so it shows what a packet would get.
func TestTraceOpensTables(t *testing.T) {
	ag, _, reg, frame := farAgent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, err := ag.Trace(ctx, topology.NameID(topology.KindPort, "vm1"), frame)
	if err != nil {
		t.Fatal(err)
	}
	out := tr.String()
	if !strings.Contains(out, "vm3") || strings.Contains(out, "vm4") {
		t.Errorf("trace does not unicast to vm3:\n%s", out)
	}
	if n := metricValue(t, reg, "hivenet_agent_state_tables_open", "", ""); n != tablesAfter {
		t.Errorf("%v tables open after the trace, want %d", n, tablesAfter)
	}
}

// waitFlowTagged waits until some installed flow carries tag (want) or
// none does (!want).
func waitFlowTagged(t *testing.T, ag *agent.Agent, tag simulation.Tag, want bool, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		has := false
		for _, f := range ag.Flows(ctx) {
			has = has || slices.Contains(f.Tags, tag)
		}
		if has == want {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("after %v: a flow carries %v: %v, want %v", within, tag, has, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitTables waits until the agent follows n tables.
func waitTables(t *testing.T, reg *prometheus.Registry, n float64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := metricValue(t, reg, "hivenet_agent_state_tables_open", "", "")
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v tables open, want %d", within, got, int(n))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestIdleTablesClosed: the tables opened on demand stay open while a
// flow goes through their devices, are closed once the flow is gone and
// the idle time has passed, and are opened again by the next packet,
// whose flow again uses c's MAC entry.
func TestIdleTablesClosed(t *testing.T) {
	const flowLife, idle = 1500 * time.Millisecond, 100 * time.Millisecond
	ag, dp, reg, frame := farAgentWith(t, func(c *agent.Config) {
		c.Timeouts.Normal, c.Timeouts.Short, c.Timeouts.TableIdle, c.Tick = flowLife, flowLife, idle, 20*time.Millisecond
	})
	vm1 := endpointOf(t, ag, dp, "vm1")
	c := topology.NameID(topology.KindBridge, "c")
	unicast := simulation.TagBridgeMAC(c, vm3MAC, 0, topology.NameID(topology.KindPort, "vm3"))
	if err := vm1.Send(frame); err != nil {
		t.Fatal(err)
	}
	waitFlowTagged(t, ag, unicast, true, 10*time.Second)
	start := time.Now()
	waitTables(t, reg, tablesAfter, 5*time.Second)
	// Several idle times and scans pass while the flow lives.
	time.Sleep(flowLife / 2)
	if n := metricValue(t, reg, "hivenet_agent_state_tables_open", "", ""); n != tablesAfter && time.Since(start) < flowLife {
		t.Fatalf("%v tables open while a flow goes through r2 and c, want %d", n, tablesAfter)
	}
	for _, d := range ag.Tables() {
		if !d.Local && !d.IdleSince.IsZero() && time.Since(start) < flowLife {
			t.Errorf("%s is idle since %v while a flow goes through it", d.Name, d.IdleSince)
		}
	}
	waitFlowTagged(t, ag, unicast, false, 10*time.Second)
	t.Logf("flow gone after %v", time.Since(start))
	waitTables(t, reg, tablesAtStart, 10*time.Second)
	t.Logf("tables closed after %v", time.Since(start))
	checkTables(t, ag, map[string]string{"a": "local mac[0] ip4", "r1": "local arp"})
	if n := metricValue(t, reg, "hivenet_agent_state_tables_closed_total", "", ""); n != 2 {
		t.Errorf("%v devices' tables closed, want 2 (r2 and c)", n)
	}
	if err := vm1.Send(frame); err != nil {
		t.Fatal(err)
	}
	waitFlowTagged(t, ag, unicast, true, 10*time.Second)
	waitTables(t, reg, tablesAfter, 5*time.Second)
}
