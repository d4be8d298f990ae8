package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// FlowInfo describes a flow the agent installed.
type FlowInfo struct {
	UFID datapath.UFID
	// Key, Mask, Actions, Stats and Used are the flow as the datapath
	// reports it (not as the agent meant to install it).
	Key, Mask datapath.FlowKey
	Actions   datapath.Actions
	Stats     datapath.FlowStats
	Used      time.Duration
	TCPFlags  uint8
	// Tags are the invalidation tags the agent indexed the flow under.
	Tags  []simulation.Tag
	Class FlowClass
	// Expires is when the flow's hard timeout removes it.
	Expires time.Time
}

// Format returns the flow as one line of `ovs-dpctl dump-flows`
// (datapath.Flow.Format), now being a datapath.MonotonicClock reading.
func (f *FlowInfo) Format(now time.Duration) string {
	df := datapath.Flow{UFID: f.UFID, Match: datapath.Match{Key: f.Key, Mask: f.Mask}, Actions: f.Actions,
		Stats: f.Stats, Used: f.Used, TCPFlags: f.TCPFlags}
	return df.Format(now)
}

// Flows returns the flows the agent installed and still tracks, with their
// match, actions and statistics read from the datapath (flows the datapath
// no longer has are left out).
func (a *Agent) Flows(ctx context.Context) []FlowInfo {
	es := a.flows.all()
	out := make([]FlowInfo, 0, len(es))
	for i := range es {
		e := &es[i]
		f, err := a.dp.GetFlow(ctx, &datapath.Flow{UFID: e.ufid})
		if err != nil {
			continue
		}
		out = append(out, FlowInfo{UFID: e.ufid, Key: f.Match.Key, Mask: f.Match.Mask, Actions: f.Actions,
			Stats: f.Stats, Used: f.Used, TCPFlags: f.TCPFlags, Tags: e.tags, Class: e.class, Expires: e.deadline})
	}
	return out
}

// Installed returns the number of flows the agent has installed since it
// started (expired and invalidated ones included).
func (a *Agent) Installed() uint64 { return a.installed.Load() }

// LocalPort returns the datapath port a virtual port is bound to on this
// host.
func (a *Agent) LocalPort(port topology.ID) (datapath.PortNumber, bool) {
	n, ok := a.world.Load().local[port]
	return n, ok
}

// TunnelKey returns the tunnel key this host announced for a local port.
func (a *Agent) TunnelKey(port topology.ID) (uint32, bool) {
	k, ok := a.world.Load().keys[port]
	return k, ok
}

// StateTables returns the number of state tables the agent follows: those
// of the devices its ports reach directly and of the devices its
// simulations have needed and still use (tabledemand.go, tableidle.go;
// Tables lists them).
func (a *Agent) StateTables() int { return int(a.tablesOpen()) }

// Snapshot returns the topology the agent currently simulates on.
func (a *Agent) Snapshot() *topology.Snapshot { return a.world.Load().snap }

// Trace simulates frame entering port on the agent's current topology and
// state, with tracing, and returns the trace. Nothing is installed,
// executed or written (the stateful services' transaction is aborted).
// State tables the simulation needs and the agent does not follow yet are
// opened first (tabledemand.go), as for a packet; ctx bounds that.
func (a *Agent) Trace(ctx context.Context, port topology.ID, frame []byte) (*simulation.Trace, error) {
	a.traceMu.Lock()
	defer a.traceMu.Unlock()
	if a.traceEng == nil {
		a.traceEng = simulation.New(a.cfg.Simulation)
	}
	for try := 0; ; try++ {
		v := view{w: a.world.Load(), active: &a.active, self: a.host}
		var r simulation.Result
		in := simulation.Input{Snapshot: v.w.snap, State: &v, InPort: port, Frame: frame, Now: a.now(), Trace: true}
		if a.fs != nil {
			if a.traceFS == nil {
				a.traceFS = a.fs.NewWorker()
			}
			in.Stateful = a.traceFS.Begin(in.Now)
		}
		err := a.traceEng.Simulate(&in, &r)
		if a.fs != nil {
			a.traceFS.Abort()
		}
		if v.missed(&r) && try < maxTableTries {
			want := make(map[topology.ID]struct{})
			v.miss.addTo(want)
			if err := a.openTables(ctx, want); err != nil {
				return nil, fmt.Errorf("agent: trace: %w", err)
			}
			continue
		}
		return r.Trace, err
	}
}

// AppliedRevision returns the highest NSDB store revision the agent has
// applied: its changes are in the topology the agent simulates on, and
// the flows they affect are invalidated. Tests wait on it after a Commit.
func (a *Agent) AppliedRevision() nsdb.Version { return nsdb.Version(a.applied.Load()) }

// Waiting returns the number of packets parked for missing state.
func (a *Agent) Waiting() int { return a.arp.waiting() }

// FlowState returns the agent's stateful services: Config.FlowState, or
// the L4 it made for Config.Stateful; nil without.
func (a *Agent) FlowState() FlowState { return a.fs }

// SessionUp reports whether the agent holds a live NSDB session: its host
// is announced alive and its ports active. It is false before Run has
// registered them, while the client waits for a new session after an
// expiry, and after Run returns.
func (a *Agent) SessionUp() bool { return a.sessionUp.Load() }
