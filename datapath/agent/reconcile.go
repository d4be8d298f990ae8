package agent

import (
	"context"
	"errors"
	"reflect"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/simulation"
)

// dumpFlows reads the flows a previous agent left in the datapath, and the
// tunnel keys its tunnelled-in flows used per local port (so that a
// restarted agent announces the same keys and remote flows stay valid).
func (a *Agent) dumpFlows(ctx context.Context) error {
	wd := a.world.Load()
	for f, err := range a.dp.Flows(ctx) {
		if err != nil {
			return err
		}
		a.dumped = append(a.dumped, f)
		k := &f.Match.Key
		if k.Fields&datapath.KeyTunnel != 0 && k.InPort == wd.vxlan && len(f.Actions) == 1 {
			if o, ok := f.Actions[0].(datapath.Output); ok {
				a.recovKey[o.Port] = uint32(k.Tunnel.ID)
			}
		}
	}
	return nil
}

// reconcile keeps the dumped flows that are still valid and deletes the
// others: a flow is kept when simulating a packet built from its key on
// the current topology and state gives the same mask and actions (it is
// then registered with fresh tags and a fresh hard timeout), or, for a
// tunnelled-in flow, when its source is still admitted and its tunnel key
// still names the port it outputs to. Nothing is flushed: traffic on kept flows never notices the restart.
func (a *Agent) reconcile(ctx context.Context) {
	if len(a.dumped) == 0 {
		return
	}
	w := a.workers[0]
	w.v.w = a.world.Load()
	kept := 0
	for i := range a.dumped {
		f := &a.dumped[i]
		if a.revalidate(w, f) {
			kept++
			continue
		}
		del := datapath.Flow{UFID: f.UFID, Match: datapath.Match{Key: f.Match.Key, Mask: f.Match.Mask}}
		if _, err := a.dp.DeleteFlow(ctx, &del); err != nil && !errors.Is(err, datapath.ErrNotFound) {
			a.log.Warn("cannot delete stale flow", "key", f.Match.Key.String(), "err", err)
		}
		a.m.removedOther.Inc()
	}
	a.log.Info("datapath flows reconciled", "kept", kept, "deleted", len(a.dumped)-kept)
	a.dumped = nil
}

// revalidate registers f if it is still what the agent would install.
// Flows without a UFID were not installed by an agent: they go.
func (a *Agent) revalidate(w *worker, f *datapath.Flow) bool {
	wd := w.v.w
	if f.UFID.IsZero() {
		return false
	}
	key := f.Match.Key.Canonical()
	mask := f.Match.Mask.Canonical()
	now := a.now()
	since := a.flows.begin()
	if key.Fields&datapath.KeyTunnel != 0 && (key.InPort == wd.vxlan || (wd.hasGRE && key.InPort == wd.gre)) {
		// Kept only if it still admits its source (admission.go) with the
		// mask that says so, and outputs to the port its key names.
		id := uint32(key.Tunnel.ID)
		n, ok := wd.byKey[id]
		want := datapath.Actions{datapath.Output{Port: n}}
		if !ok || !wd.admits(key.InPort, key.Tunnel.Src) || mask != translate.TunnelMask(&key) || !reflect.DeepEqual(f.Actions, want) {
			return false
		}
		e := &flowEntry{ufid: f.UFID, tunnel: tunnelKeySource, actions: want, class: ClassTunnel,
			tags: []simulation.Tag{simulation.TagTunnelKey(id), simulation.TagTunnelSource(key.Tunnel.Src.Unmap()), simulation.TagDPPort(uint32(n))}}
		return a.flows.add(e, since, now)
	}
	port, ok := wd.byDP[key.InPort]
	if !ok {
		return false
	}
	frame, err := translate.FrameFromKey(nil, &key)
	if err != nil {
		return false
	}
	dc := w.checkDHCP(port, frame)
	if dc.request {
		return false
	}
	in := simulation.Input{Snapshot: wd.snap, State: &w.v, InPort: port, Frame: frame, Now: now, Rand: a.rand()}
	if w.fs != nil {
		in.Stateful = w.fs.Begin(now)
		defer w.fs.Abort()
	}
	// Flows that depend on flow state are not kept: the state may be gone.
	r := &w.res
	if err := w.eng.Simulate(&in, r); err != nil || r.Flow == simulation.FlowNone || r.Verdict == simulation.NotYet {
		return false
	}
	dc.apply(r)
	for _, t := range r.Tags {
		if t.FlowState() {
			return false
		}
	}
	w.tr.Translate(r, &key, &w.v, &w.tl)
	if w.tl.Userspace || w.tl.Mask.Canonical() != mask || !sameActions(w.tl.Actions, f.Actions) {
		return false
	}
	class := ClassNormal
	if r.Flow == simulation.FlowShort {
		class = ClassShort
	}
	tags := append(append([]simulation.Tag(nil), r.Tags...), w.tl.Tags...)
	e := &flowEntry{ufid: f.UFID, seen: w.tl.Seen, actions: append(datapath.Actions(nil), w.tl.Actions...),
		tags: tags, learned: append([]simulation.MACLearning(nil), r.Learned...), class: class}
	if !a.flows.add(e, since, now) {
		return false
	}
	a.macs.ref(e.learned)
	return true
}

func sameActions(a, b datapath.Actions) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}
