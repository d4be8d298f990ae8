package agent

import (
	"context"
	"errors"
	"slices"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/dhcp"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// worker is one simulation worker: an upcall socket and the
// goroutine that receives from it, simulates, translates, installs and
// executes. Everything a worker uses per packet is kept here and reused.
// One more worker, without a socket, simulates the packets handed back by
// the waiting room.
type worker struct {
	a    *Agent
	id   int
	sock datapath.UpcallSocket
	up   datapath.Upcall
	eng  *simulation.Engine
	res  simulation.Result
	gen  []*simulation.Result
	tr   translate.Translator
	tl   translate.Translation
	v    view
	// tries is how often the packet being simulated again already
	// waited for state tables (0 for a new one).
	tries int
	fs    FlowStateWorker
	msg   flowstate.Message
	mac   *auth.MAC
	buf   []byte
	sbuf  []byte // a signed flow-state message
	out   []byte
	acts  datapath.Actions
	req   request
	// batch holds simulated flows not installed yet; queueEmpty, nil when
	// the socket cannot tell its backlog, says when to install them.
	batch      installBatch
	queueEmpty func() bool
	input      simulation.Input
	// pm is the packet parsed by the DHCP check, handed to the
	// simulation; dhcp answers DHCP requests into dbuf, executed with
	// dkey and dacts.
	pm    packet.Match
	dhcp  *dhcp.Server
	dbuf  []byte
	dkey  datapath.FlowKey
	dacts datapath.Actions
}

func newWorker(a *Agent, id int, s datapath.UpcallSocket) *worker {
	w := &worker{
		a: a, id: id, sock: s,
		eng:  simulation.New(a.cfg.Simulation),
		v:    view{active: &a.active, vteps: &a.vteps, self: a.host},
		dhcp: dhcp.New(a.cfg.DHCP),
		buf:  make([]byte, 0, flowstate.MaxPayload),
		sbuf: make([]byte, 0, flowstate.MaxPayload),
	}
	if a.fs != nil {
		w.fs = a.fs.NewWorker()
	}
	if s != nil {
		// Packets too large for a flow's path MTU come back up to this
		// worker (check_pkt_len).
		w.tr.UpcallPID = s.PID()
	}
	w.queueEmpty = backlogCheck(s)
	return w
}

// run receives and processes upcalls until ctx ends or the socket closes.
func (w *worker) run(ctx context.Context) {
	defer w.flush(ctx)
	for {
		if err := w.sock.Receive(ctx, &w.up); err != nil {
			if ctx.Err() != nil || errors.Is(err, datapath.ErrClosed) {
				return
			}
			w.a.log.Warn("upcall receive failed", "worker", w.id, "err", err)
			continue
		}
		w.handle(ctx, &w.up)
		if w.batch.n > 0 && w.queueEmpty != nil && w.queueEmpty() {
			w.flush(ctx) // nothing more to batch with
		}
	}
}

// retry simulates again the packets the waiting room hands back.
func (w *worker) retry(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-w.a.resubmit:
			w.v.w = w.a.world.Load()
			w.tries = p.tableTries
			if p.generated {
				w.simulateGenerated(ctx, p.port, p.frame, 0)
			} else {
				w.ingress(ctx, p.port, p.frame, &p.key)
			}
			w.tries = 0
		}
	}
}

// handle processes one upcall.
func (w *worker) handle(ctx context.Context, u *datapath.Upcall) {
	wd := w.a.world.Load()
	w.v.w = wd
	k := &u.Key
	if wd.isFromVTEP(k) {
		w.fromVTEP(ctx, u)
		return
	}
	if k.Fields&datapath.KeyTunnel != 0 && (k.InPort == wd.vxlan || (wd.hasGRE && k.InPort == wd.gre)) {
		w.tunnelled(ctx, u)
		return
	}
	if u.Kind == datapath.UpcallAction {
		w.a.m.upcallAction.Inc()
	} else {
		w.a.m.upcallMiss.Inc()
	}
	if w.fromSpeaker(ctx, u) {
		return
	}
	port, ok := wd.byDP[k.InPort]
	if !ok {
		w.a.m.drop(dropUnknownPort)
		return
	}
	w.ingress(ctx, port, u.Packet, k)
}

// ingress simulates a packet that entered port, installs its flow and
// executes it.
func (w *worker) ingress(ctx context.Context, port topology.ID, frame []byte, key *datapath.FlowKey) {
	a := w.a
	since := a.flows.begin()
	w.v.w = a.world.Load()
	// DHCP requests on exterior bridge ports are answered here, before
	// any simulation.
	dc := w.checkDHCP(port, frame)
	if dc.request && w.answerDHCP(ctx, port, &dc, frame) {
		return
	}
	if w.divertBGP(ctx, port, frame, &dc) {
		return
	}
	now := a.now()
	in := &w.input
	*in = simulation.Input{Snapshot: w.v.w.snap, State: &w.v, InPort: port, Frame: frame, Now: now, Rand: a.rand()}
	if dc.parsed {
		in.Match = &w.pm
	}
	if w.fs != nil {
		in.Stateful = w.fs.Begin(now)
	}
	r := &w.res
	w.v.miss.n = 0
	err := w.eng.Simulate(in, r)
	in.Frame, in.Match = nil, nil
	if err != nil {
		a.log.Debug("simulation refused the packet", a.named("port", topology.KindPort, port), "err", err)
	}
	if w.v.missed(r) {
		if w.fs != nil {
			w.fs.Abort()
		}
		w.parkForTables(port, frame, key)
		return
	}
	dc.apply(r)
	a.m.simulated(r)
	w.stateWrites(r)
	var refs StateRefs
	if w.fs != nil {
		var wait Wait
		if r.Verdict == simulation.NotYet && r.Reason == simulation.ReasonStateful {
			wait = w.fs.Waiting()
		}
		// Finish before the generated packets are simulated, so that they
		// see the state (an ICMP error about a translated packet is
		// translated back); NotYet and ErrorDrop abort.
		w.msg.Reset()
		refs = w.fs.Finish(r, &w.msg)
		if wait != nil {
			a.parkState(wait, &parked{port: port, frame: slices.Clone(frame), key: *key, seen: r.Seen})
			return
		}
	}
	if r.Verdict == simulation.NotYet {
		if r.Waiting.IsZero() {
			// Nothing to wait for that the agent knows of: drop.
			a.m.drop(simulation.ReasonStateful.String())
			return
		}
		w.park(r, port, frame, key)
		w.generated(ctx, r, 0)
		return
	}
	pushed := false
	if w.fs != nil && len(w.msg.Conns)+len(w.msg.NATs) > 0 {
		w.stateHeader(r, port)
		pushed = w.pushState(ctx, r, port)
		a.saveState(&w.msg)
	}
	w.tr.Translate(r, key, &w.v, &w.tl)
	tl := &w.tl
	if tl.Unreachable > 0 {
		a.m.drop(dropUnreachable)
	}
	batch := w.queueEmpty != nil && r.Flow != simulation.FlowNone && !tl.Userspace && !pushed && len(r.Generated) == 0
	if !batch {
		w.flush(ctx) // what was simulated before leaves before this packet
	}
	if r.Flow != simulation.FlowNone && !tl.Userspace {
		class := ClassNormal
		switch {
		case r.Flow == simulation.FlowShort || tl.Unreachable > 0:
			// An output port that cannot be located yet (not active, no
			// tunnel route) must not blackhole its traffic for long.
			class = ClassShort
		case refs != nil && r.Verdict == simulation.Forward:
			class = ClassStateful
		}
		e := a.flows.newEntry()
		e.seen, e.vtep, e.state, e.class = tl.Seen, w.v.w.isFromVTEP(key), refs, class
		e.tags = append(append(slices.Grow(e.tags, len(r.Tags)+len(tl.Tags)), r.Tags...), tl.Tags...)
		e.actions = append(e.actions, tl.Actions...)
		e.learned = append(e.learned, r.Learned...)
		if batch {
			w.deferInstall(ctx, e, key, since, now, frame, r.Verdict == simulation.Forward)
			return
		}
		a.install(ctx, e, key, since, now, &w.req)
	} else {
		a.macs.touch(r.Learned)
		if refs != nil {
			refs.Release()
		}
	}
	if r.Verdict == simulation.Forward {
		w.execute(ctx, r, frame, key, pushed)
	}
	w.generated(ctx, r, 0)
}

// execute sends the packet of r out: with the translated actions, or, when
// the rewrites need userspace, output by output on rewritten copies. With
// upcall, the packet follows flow state just pushed to peers: its tunnel
// keys get TunnelKeyUpcall, so that each receiver handles it after
// importing the state (the installed flow keeps the plain keys).
func (w *worker) execute(ctx context.Context, r *simulation.Result, frame []byte, key *datapath.FlowKey, upcall bool) {
	a := w.a
	if !w.tl.Userspace {
		if len(w.tl.Actions) == 0 {
			return
		}
		acts := w.tl.Actions
		if upcall {
			w.acts = translate.MarkUpcall(w.acts[:0], acts)
			acts = w.acts
		}
		w.executeActions(ctx, frame, key, acts)
		return
	}
	for i := range r.Outputs {
		o := &r.Outputs[i]
		l, ok := w.v.Locate(o.Port)
		if !ok {
			a.m.drop(dropUnreachable)
			continue
		}
		w.out = append(w.out[:0], frame...)
		f, err := packet.Apply(w.out, &r.Original, &o.Match)
		if err != nil {
			a.m.drop(dropExecute)
			a.log.Debug("userspace rewrite failed", "err", err)
			continue
		}
		w.out = f
		acts, _ := w.tr.OutputActions(l, nil)
		if upcall {
			w.acts = translate.MarkUpcall(w.acts[:0], acts)
			acts = w.acts
		}
		w.executeActions(ctx, f, key, acts)
	}
}

// executeActions executes a packet with a flow's actions.
func (w *worker) executeActions(ctx context.Context, frame []byte, key *datapath.FlowKey, acts datapath.Actions) {
	if len(acts) == 0 {
		return
	}
	if err := w.a.dp.Execute(ctx, frame, key, acts); err != nil {
		w.a.m.drop(dropExecute)
		w.a.log.Debug("packet execute failed", "err", err)
	}
}

// stateWrites applies the state-table writes a simulation requested.
func (w *worker) stateWrites(r *simulation.Result) {
	a := w.a
	for _, wr := range r.ARPWrites {
		a.writeARP(w.v.w, wr)
	}
	for _, wr := range r.IP4MACWrites {
		if t, ok := w.v.w.ip4[wr.Bridge]; ok {
			if m, ok := t.Lookup(wr.IP); ok && m == wr.MAC {
				continue
			}
			a.writes.do(func(ctx context.Context) {
				if err := t.Add(ctx, wr.IP, wr.MAC); err != nil && ctx.Err() == nil {
					a.log.Debug("IPv4-MAC table write failed", "err", err)
				}
			})
		}
	}
	for _, t := range r.ARPRefresh {
		a.arp.refresh(arpTarget{t.Router, t.IP}, t.Port)
	}
}

// park puts a packet waiting for an ARP resolution in the waiting room.
func (w *worker) park(r *simulation.Result, port topology.ID, frame []byte, key *datapath.FlowKey) {
	a := w.a
	t := arpTarget{r.Waiting.Router, r.Waiting.IP}
	p := &parked{port: port, frame: slices.Clone(frame), key: *key, seen: r.Seen}
	a.arp.park(t, r.Waiting.Port, p)
	// The entry may have arrived while the packet was simulated.
	if tb, ok := a.world.Load().arp[t.router]; ok {
		if e, ok := tb.Lookup(t.ip); ok && !e.MAC.IsZero() {
			for _, p := range a.arp.resolved(t) {
				a.requeue(p)
			}
		}
	}
}

// tunnelled handles a packet received from the overlay: from a source
// the agent does not admit, dropped (admission.go); else a flow-state
// message, or a packet for the local port its tunnel key names, output
// there by a flow without simulation.
func (w *worker) tunnelled(ctx context.Context, u *datapath.Upcall) {
	a := w.a
	k := &u.Key
	if !w.v.w.admits(k.InPort, k.Tunnel.Src) {
		w.refuseSource(ctx, u)
		return
	}
	id := uint32(k.Tunnel.ID)
	if id == translate.FlowStateTunnelKey {
		a.m.upcallState.Inc()
		w.importState(ctx, u.Packet)
		return
	}
	a.m.upcallTunnel.Inc()
	if id&translate.TunnelKeyUpcall != 0 {
		// The first packet of a connection whose state the sender pushed
		// just before it: the state is imported now (overlay upcalls are
		// handled in order by one worker); deliver it without a flow, so
		// that the next such packet comes up too.
		n, ok := w.v.w.byKey[id&^translate.TunnelKeyUpcall]
		if !ok {
			a.m.drop(a.unknownKeyReason(w.v.w.snap, id&^translate.TunnelKeyUpcall))
			return
		}
		w.acts = append(w.acts[:0], datapath.Output{Port: n})
		w.executeActions(ctx, u.Packet, k, w.acts)
		return
	}
	since := a.flows.begin()
	now := a.now()
	n, ok := w.v.w.byKey[id]
	e := a.flows.newEntry()
	e.tunnel, e.class = tunnelKeySource, ClassShort
	e.tags = append(e.tags, simulation.TagTunnelKey(id), simulation.TagTunnelSource(k.Tunnel.Src.Unmap()))
	if ok {
		e.actions = append(e.actions, datapath.Output{Port: n})
		e.class = ClassTunnel
		e.tags = append(e.tags, simulation.TagDPPort(uint32(n)))
	} else {
		a.m.drop(a.unknownKeyReason(w.v.w.snap, id))
	}
	// e belongs to the flow table once installed: the packet is executed
	// with a copy of its actions.
	w.acts = append(w.acts[:0], e.actions...)
	a.install(ctx, e, k, since, now, &w.req)
	if ok {
		w.executeActions(ctx, u.Packet, k, w.acts)
	}
}
