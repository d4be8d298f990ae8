package topology

import (
	"fmt"
	"slices"
	"strconv"
)

// Classes of warnings (Topology.Warnings): what a topology may hold but
// probably should not. Validate never reports them.
var (
	// ErrHostInNoTunnelZone: a port is bound to a host that is in no
	// tunnel zone, so no other host can reach it.
	ErrHostInNoTunnelZone = fmt.Errorf("port bound to a host in no tunnel zone")
	// ErrJumpCycle: chains jump to each other in a cycle. At run time a
	// jump that would re-enter a chain being evaluated is treated as
	// CONTINUE, as the reference system does.
	ErrJumpCycle = fmt.Errorf("jump cycle")
)

// Warnings returns what the topology holds that is valid but probably not
// meant, each a *Problem whose class is ErrHostInNoTunnelZone or ErrJumpCycle: ports
// bound to hosts no other host can reach, jump cycles. Unlike Validate's
// problems, warnings never stop a topology from loading. A topology with
// a single host bound is not warned about tunnel zones.
func (t *Topology) Warnings() []*Problem {
	var ps problems
	zoned := make(map[ID]bool)
	for i := range t.TunnelZones {
		for _, m := range t.TunnelZones[i].Members {
			zoned[m.Host] = true
		}
	}
	boundHosts := make(map[ID]bool)
	for i := range t.Ports {
		if h := t.Ports[i].Host; !h.IsZero() {
			boundHosts[h] = true
		}
	}
	if len(boundHosts) > 1 {
		for i := range t.Ports {
			p := &t.Ports[i]
			if !p.Host.IsZero() && !zoned[p.Host] {
				ps.add(p, "host", ErrHostInNoTunnelZone, "host "+hostName(t, p.Host)+" is in no tunnel zone: other hosts cannot reach this port")
			}
		}
	}
	t.jumpCycles(&ps)
	return ps.list
}

func hostName(t *Topology, id ID) string {
	for i := range t.Hosts {
		if t.Hosts[i].ID == id {
			return strconv.Quote(t.Hosts[i].Name)
		}
	}
	return id.String()
}

// jumpCycles adds one warning per chain that starts a jump cycle (the
// cycle's chain with the smallest index), naming the chains in order.
func (t *Topology) jumpCycles(ps *problems) {
	idx := make(map[ID]int, len(t.Chains))
	for i := range t.Chains {
		idx[t.Chains[i].ID] = i
	}
	jumps := make([][]int, len(t.Chains))
	for i := range t.Chains {
		for _, r := range t.Chains[i].Rules {
			if r.Action == ActionJump || r.Type == RuleJump {
				if j, ok := idx[r.JumpChain]; ok {
					jumps[i] = append(jumps[i], j)
				}
			}
		}
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]uint8, len(t.Chains))
	var path []int
	reported := make(map[int]bool)
	var visit func(i int)
	visit = func(i int) {
		state[i] = onPath
		path = append(path, i)
		for _, j := range jumps[i] {
			switch state[j] {
			case unseen:
				visit(j)
			case onPath:
				cycle := path[slices.Index(path, j):]
				first := slices.Min(cycle)
				if reported[first] {
					continue
				}
				reported[first] = true
				names := ""
				for _, k := range cycle {
					names += strconv.Quote(t.Chains[k].Name) + " → "
				}
				names += strconv.Quote(t.Chains[j].Name)
				ps.add(&t.Chains[first], "rules", ErrJumpCycle, names+": the jump that closes the cycle acts as continue")
			}
		}
		path = path[:len(path)-1]
		state[i] = done
	}
	for i := range t.Chains {
		if state[i] == unseen {
			visit(i)
		}
	}
}
