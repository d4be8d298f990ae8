package agent

import (
	"context"
	"errors"
	"reflect"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
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
	kept, deleted := 0, 0
	pending := a.dumped
	// A flow whose simulation needs tables not open yet is revalidated
	// again once they are (tabledemand.go): a round per hop of devices.
	for round := 0; len(pending) > 0; round++ {
		w.v.w = a.world.Load()
		var retry []datapath.Flow
		want := make(map[topology.ID]struct{})
		for i := range pending {
			f := &pending[i]
			ok, why := a.revalidate(w, f)
			if ok {
				kept++
				continue
			}
			if why == whyTables {
				if round < maxTableTries {
					w.v.miss.addTo(want)
					retry = append(retry, *f)
					continue
				}
			}
			deleted++
			a.log.Debug("datapath flow not kept", "key", f.Match.Key.String(), "actions", f.Actions.String(), "why", why)
			del := datapath.Flow{UFID: f.UFID, Match: datapath.Match{Key: f.Match.Key, Mask: f.Match.Mask}}
			if _, err := a.dp.DeleteFlow(ctx, &del); err != nil && !errors.Is(err, datapath.ErrNotFound) {
				a.log.Warn("cannot delete stale flow", "key", f.Match.Key.String(), "err", err)
			}
			a.m.removedOther.Inc()
		}
		if len(retry) > 0 {
			if err := a.openTables(ctx, want); err != nil && ctx.Err() == nil {
				a.log.Warn("cannot open state tables", "devices", len(want), "err", err)
			}
		}
		pending = retry
	}
	a.log.Info("datapath flows reconciled", "kept", kept, "deleted", deleted)
	a.dumped = nil
}

// whyTables is revalidate's reason for a flow whose simulation needs
// state tables that are not open.
const whyTables = "state tables not open"

// revalidate registers f if it is still what the agent would install;
// otherwise it says why not. Flows without a UFID were not installed by an
// agent: they go.
func (a *Agent) revalidate(w *worker, f *datapath.Flow) (kept bool, why string) {
	wd := w.v.w
	if f.UFID.IsZero() {
		return false, "no UFID"
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
			return false, "tunnel key no longer bound or source not admitted, or other mask or actions"
		}
		e := &flowEntry{ufid: f.UFID, tunnel: tunnelKeySource, actions: want, class: ClassTunnel,
			tags: []simulation.Tag{simulation.TagTunnelKey(id), simulation.TagTunnelSource(key.Tunnel.Src.Unmap()), simulation.TagDPPort(uint32(n))}}
		return a.flows.add(e, since, now), "invalidated meanwhile"
	}
	port, ok := wd.byDP[key.InPort]
	if !ok {
		return false, "input port not bound"
	}
	frame, err := translate.FrameFromKey(nil, &key)
	if err != nil {
		return false, "no packet from its key: " + err.Error()
	}
	dc := w.checkDHCP(port, frame)
	if dc.request {
		return false, "a DHCP request, answered by the agent"
	}
	in := simulation.Input{Snapshot: wd.snap, State: &w.v, InPort: port, Frame: frame, Now: now, Rand: a.rand()}
	if w.fs != nil {
		in.Stateful = w.fs.Begin(now)
	}
	abort := func(why string) (bool, string) {
		if w.fs != nil {
			w.fs.Abort()
		}
		return false, why
	}
	r := &w.res
	w.v.miss.n = 0
	err = w.eng.Simulate(&in, r)
	if w.v.missed(r) {
		return abort(whyTables)
	}
	if err != nil || r.Flow == simulation.FlowNone || r.Verdict == simulation.NotYet {
		return abort("the simulation now installs no flow (" + r.Verdict.String() + ")")
	}
	dc.apply(r)
	// Flows that depend on flow state are kept only when the state was
	// restored (Config.StateStore): without it they would be kept on
	// state that is gone.
	if !a.persists() {
		for _, t := range r.Tags {
			if t.FlowState() {
				return abort("it depends on flow state, which was not kept")
			}
		}
	}
	w.tr.Translate(r, &key, &w.v, &w.tl)
	switch {
	case w.tl.Userspace:
		return abort("now handled in userspace")
	case w.tl.Mask.Canonical() != mask:
		return abort("another mask now: " + w.tl.Mask.Canonical().String())
	case !sameActions(w.tl.Actions, f.Actions):
		return abort("other actions now: " + w.tl.Actions.String())
	}
	// The kept flow holds references on the keys it uses, as if it had
	// just been installed.
	var refs StateRefs
	if w.fs != nil {
		w.msg.Reset()
		refs = w.fs.Finish(r, &w.msg)
	}
	class := ClassNormal
	switch {
	case r.Flow == simulation.FlowShort:
		class = ClassShort
	case refs != nil && r.Verdict == simulation.Forward:
		class = ClassStateful
	}
	tags := append(append([]simulation.Tag(nil), r.Tags...), w.tl.Tags...)
	e := &flowEntry{ufid: f.UFID, seen: w.tl.Seen, actions: append(datapath.Actions(nil), w.tl.Actions...),
		tags: tags, learned: append([]simulation.MACLearning(nil), r.Learned...), class: class, state: refs}
	if !a.flows.add(e, since, now) {
		if refs != nil {
			refs.Release()
		}
		return false, "invalidated meanwhile"
	}
	// r.Learned, not e.learned: once added, e belongs to the table.
	a.macs.ref(r.Learned)
	return true, ""
}

func sameActions(a, b datapath.Actions) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}
