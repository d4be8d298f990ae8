package agent

import (
	"context"
	"maps"
	"net/netip"
	"sync/atomic"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/l4"
	"github.com/hivenet/hivenet/topology"
)

// memberHealth is the agent's view of the health monitors' verdicts: the
// pool members whose nsdb.KeyPoolMemberStatus says nsdb.MemberStatusActive.
// A member without a status is down. It implements l4.MemberHealth: reads
// take no lock and do not allocate; the map is replaced on every change.
type memberHealth struct {
	up atomic.Pointer[map[topology.ID]bool]
}

var _ l4.MemberHealth = (*memberHealth)(nil)

func newMemberHealth() *memberHealth {
	h := &memberHealth{}
	h.up.Store(&map[topology.ID]bool{})
	return h
}

// MemberUp implements l4.MemberHealth.
func (h *memberHealth) MemberUp(member topology.ID) bool { return (*h.up.Load())[member] }

// apply takes in status events and returns the members whose verdict
// changed.
func (h *memberHealth) apply(evs []nsdb.KeyEvent) []topology.ID {
	cur := *h.up.Load()
	var next map[topology.ID]bool
	var changed []topology.ID
	for _, ev := range evs {
		up := len(ev.Values) > 0 && ev.Values[0].Value == nsdb.MemberStatusActive
		if cur[ev.ID] == up {
			continue
		}
		if next == nil {
			next = maps.Clone(cur)
		}
		if up {
			next[ev.ID] = true
		} else {
			delete(next, ev.ID)
		}
		cur = next
		changed = append(changed, ev.ID)
	}
	if next != nil {
		h.up.Store(&next)
	}
	return changed
}

// MemberHealth returns the health monitors' verdicts as the agent follows
// them in the NSDB, for a FlowState built outside the agent
// (L4Config.Health); the agent's own (Config.Stateful) uses it already.
func (a *Agent) MemberHealth() l4.MemberHealth { return a.health }

// applyMemberStatus applies status events and invalidates the flows of the
// pools whose members changed: new connections re-balance, and sticky
// connections to a member gone down move to another one.
func (a *Agent) applyMemberStatus(ctx context.Context, evs []nsdb.KeyEvent) {
	changed := a.health.apply(evs)
	if len(changed) == 0 {
		return
	}
	snap := a.world.Load().snap
	tags := make([]simulation.Tag, 0, len(changed))
	for _, id := range changed {
		pm, ok := snap.PoolMember(id)
		if !ok {
			a.log.Debug("health of an unknown pool member", a.hostAttr(), "member-id", id, "up", a.health.MemberUp(id))
			continue
		}
		a.log.Info("pool member health", a.hostAttr(), a.named("pool", topology.KindPool, pm.Pool),
			"member", netip.AddrPortFrom(pm.Addr, pm.Port).String(), "member-id", id, "up", a.health.MemberUp(id))
		tags = append(tags, simulation.TagDevice(pm.Pool))
	}
	if len(tags) > 0 {
		a.invalidate(ctx, tags...)
	}
}
