package scale

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// Stats summarises durations.
type Stats struct {
	N             int
	P50, P99, Max time.Duration
}

func statsOf(d []time.Duration) Stats {
	d = slices.Clone(d)
	slices.Sort(d)
	s := Stats{N: len(d), P50: quantile(d, 0.5), P99: quantile(d, 0.99)}
	if len(d) > 0 {
		s.Max = d[len(d)-1]
	}
	return s
}

// Propagation is how long changes written to the NSDB take to reach
// every agent of a fleet.
type Propagation struct {
	Hosts int
	// Boot is the time to start the fleet's agents (one after the other)
	// until all are ready.
	Boot time.Duration
	// All is the time from the start of a write until every agent applied
	// it (and invalidated its flows), over every change; ByKind per kind
	// of change.
	All    Stats
	ByKind map[string]Stats
	// Agent is the same per agent and change (how long one host waits).
	Agent Stats
	// Write is the commit latency alone.
	Write Stats
	// BytesPerChange is what all the agents together read from ZooKeeper
	// per change.
	BytesPerChange float64
}

// changer writes the three kinds of change to a fleet's topology, each
// undoing the previous one of its kind.
type changer struct {
	f *fleet
	n map[string]int
}

var changeKinds = []string{"rule", "route", "move"}

// op returns the write of the next change of kind k and how to tell from
// an agent's snapshot that it applied it.
func (c *changer) op(k string) (nsdb.Op, func(*agent.Agent) bool) {
	i := c.n[k]
	c.n[k]++
	id := func(kind topology.Kind, f string, a ...any) topology.ID {
		return topology.NameID(kind, fmt.Sprintf(f, a...))
	}
	switch k {
	case "rule":
		// Insert a rule first in the shared security group, then remove it.
		ch := c.f.topo.Chains[0]
		if i%2 == 0 {
			r := topology.Rule{ID: id(topology.KindChain, "sg-x%d", i), Action: topology.ActionDrop,
				Condition: topology.Condition{NwProto: topology.Is(packet.ProtoUDP), TpDst: topology.Is(topology.PortRange{Start: uint16(1000 + i%60000), End: uint16(1000 + i%60000)})}}
			ch.Rules = append([]topology.Rule{r}, ch.Rules...)
		}
		first, n := ch.Rules[0].ID, len(ch.Rules)
		return nsdb.Put(&ch), func(a *agent.Agent) bool {
			got, ok := a.Snapshot().Chain(ch.ID)
			return ok && len(got.Rules) == n && got.Rules[0].ID == first
		}
	case "route":
		// Add a /32 route on r0, then delete it.
		rid := id(topology.KindRoute, "x%d", i/2)
		if i%2 == 1 {
			return nsdb.Delete(topology.KindRoute, rid, nsdb.AnyVersion), func(a *agent.Agent) bool {
				_, ok := a.Snapshot().Route(rid)
				return !ok
			}
		}
		return nsdb.Put(&topology.Route{ID: rid, Router: c.f.topo.Routers[0].ID,
				Dst:     netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(i / 512), byte(i / 2)}), 32),
				NextHop: topology.NextHopPort, NextHopPort: id(topology.KindPort, "r0-b0")}), func(a *agent.Agent) bool {
				_, ok := a.Snapshot().Route(rid)
				return ok
			}
	default:
		// Move h0-vm1 to h1 and back: a binding move.
		var p topology.Port
		for _, q := range c.f.topo.Ports {
			if q.Name == "h0-vm1" {
				p = q
			}
		}
		if i%2 == 0 && len(c.f.topo.Hosts) > 1 {
			p.Host = c.f.topo.Hosts[1].ID
		}
		return nsdb.Put(&p), func(a *agent.Agent) bool {
			got, ok := a.Snapshot().Port(p.ID)
			return ok && got.Host == p.Host
		}
	}
}

// measurePropagation writes changes changes one after the other (the
// kinds in turn), each once the previous one reached every agent.
func measurePropagation(ctx context.Context, f *fleet, changes int) (Propagation, error) {
	w := newWatcher(f.ags)
	defer w.stop()
	ch := &changer{f: f, n: make(map[string]int)}
	p := Propagation{Hosts: len(f.ags), Boot: f.boot, ByKind: make(map[string]Stats)}
	byKind := make(map[string][]time.Duration)
	var all, agentLat, writes []time.Duration
	b0 := f.cnt.down.Load()
	for i := range changes {
		k := changeKinds[i%len(changeKinds)]
		op, check := ch.op(k)
		c := &change{kind: k, start: time.Now(), check: check}
		w.add(c)
		v, err := f.admin.Store().Commit(ctx, op)
		w.written(c, v, err)
		if err != nil {
			return p, fmt.Errorf("change %d (%s): %w", i, k, err)
		}
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err = w.wait(wctx, c)
		cancel()
		if err != nil {
			return p, fmt.Errorf("change %d (%s) not applied by every agent: %w", i, k, err)
		}
		all = append(all, c.latency())
		byKind[k] = append(byKind[k], c.latency())
		writes = append(writes, c.written.Sub(c.start))
		for _, at := range c.applied {
			agentLat = append(agentLat, at.Sub(c.start))
		}
	}
	p.BytesPerChange = float64(f.cnt.down.Load()-b0) / float64(max(changes, 1))
	p.All, p.Agent, p.Write = statsOf(all), statsOf(agentLat), statsOf(writes)
	for k, d := range byKind {
		p.ByKind[k] = statsOf(d)
	}
	return p, nil
}
