package agent

import (
	"context"
	"log/slog"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// stateHeader fills in w.msg's sender and ports for the simulation that
// produced r from ingress.
func (w *worker) stateHeader(r *simulation.Result, ingress topology.ID) {
	msg := &w.msg
	msg.Sender = w.a.host
	msg.IngressPort = ingress
	msg.EgressPorts = r.OutPorts(msg.EgressPorts[:0])
}

// pushState sends the keys in w.msg (its header filled in by stateHeader)
// to the hosts that may see the connection's other packets, before the
// data packet is executed: the owners of the ingress and egress ports and
// the members of their stateful port groups.
func (w *worker) pushState(ctx context.Context, r *simulation.Result, ingress topology.ID) (sent bool) {
	a := w.a
	msg := &w.msg
	hosts := make(map[topology.ID]bool)
	snap := w.v.w.snap
	addPort := func(id topology.ID) {
		if st, ok := a.active.get(id); ok {
			hosts[st.Host] = true
		}
	}
	for _, p := range append([]topology.ID{ingress}, msg.EgressPorts...) {
		addPort(p)
		if port, ok := snap.Port(p); ok {
			for _, g := range port.PortGroups {
				if pg, ok := snap.PortGroup(g); ok && pg.Stateful {
					for _, m := range snap.PortGroupMembers(g) {
						addPort(m)
					}
				}
			}
		}
	}
	delete(hosts, a.host)
	mac := w.stateMAC()
	if mac == nil || len(hosts) == 0 {
		return false
	}
	now := a.now()
	// A message that fits one part (the usual case) is encoded and signed
	// once for every peer.
	var single []byte
	if msg.Size() <= flowstate.MaxPayload-auth.Overhead {
		b, err := msg.AppendBinary(w.sbuf[:0])
		if err == nil {
			single, err = w.stateFrame(b, mac, now)
		}
		if err != nil {
			a.log.Debug("flow-state push failed", "err", err)
			return false
		}
	}
	for h := range hosts {
		rt, ok := w.v.w.routes[h]
		if !ok {
			continue
		}
		tun := translate.TunnelKeyFor(translate.FlowStateTunnelKey, rt.src, rt.dst)
		tun.TOS = translate.ControlTOS
		acts := datapath.Actions{datapath.Set[datapath.TunnelKey]{Value: tun}, datapath.Output{Port: rt.port}}
		var err error
		if single != nil {
			a.m.statePushed.Inc()
			err = a.dp.Execute(ctx, single, nil, acts)
		} else {
			err = msg.AppendParts(w.buf[:0], flowstate.MaxPayload-auth.Overhead, func(part []byte) error {
				f, err := w.stateFrame(part, mac, now)
				if err != nil {
					return err
				}
				a.m.statePushed.Inc()
				return a.dp.Execute(ctx, f, nil, acts)
			})
		}
		if err != nil {
			a.log.Debug("flow-state push failed", a.named("peer", topology.KindHost, h), "err", err)
			continue
		}
		sent = true
	}
	return sent
}

// stateFrame signs the encoded message b with mac at now, appending the
// trailer to b (which has room for it: a message part is at most
// MaxPayload-Overhead bytes in a MaxPayload buffer), and returns its
// flow-state frame, in w.out.
func (w *worker) stateFrame(b []byte, mac *auth.MAC, now time.Time) ([]byte, error) {
	b, err := mac.Seal(b, 0, auth.FlowStateMessage, nil, now)
	if err != nil {
		return nil, err
	}
	f, err := translate.AppendFlowStateFrame(w.out[:0], b)
	w.out = f
	return f, err
}

// stateMAC returns the worker's signer and verifier of flow-state
// messages, made on first use; nil when the agent has no keys.
func (w *worker) stateMAC() *auth.MAC {
	if w.mac == nil && w.a.keys != nil {
		w.mac = w.a.keys.NewMAC()
	}
	return w.mac
}

// importState imports a flow-state message received from a peer, provided
// it carries a valid MAC under the cluster's flow-state keys, and
// invalidates the flows tagged with its keys. A message that fails
// verification changes nothing and is counted by reason.
func (w *worker) importState(ctx context.Context, frame []byte) {
	a := w.a
	a.m.stateReceived.Inc()
	if a.fs == nil {
		return
	}
	var m packet.Match
	if err := m.Parse(frame); err != nil {
		a.m.drop(dropBadState)
		return
	}
	v, l := m.Peek(), m.Layout()
	if v.IPProto() != packet.ProtoUDP || v.DstPort() != translate.FlowStatePort || l.Payload == 0 || int(l.End) > len(frame) || l.Payload > l.End {
		a.m.drop(dropBadState)
		return
	}
	mac := w.stateMAC()
	if mac == nil {
		a.m.stateRejected(auth.ErrNoKeys)
		return
	}
	payload, err := mac.Open(frame[l.Payload:l.End], auth.FlowStateMessage, nil, a.now())
	if err != nil {
		a.m.stateRejected(err)
		if a.log.Enabled(ctx, slog.LevelDebug) {
			a.log.Debug("flow-state message refused", "reason", auth.Reason(err))
		}
		return
	}
	if err := w.msg.UnmarshalBinary(payload); err != nil {
		a.m.drop(dropBadState)
		a.log.Debug("bad flow-state message", "err", err)
		return
	}
	a.invalidate(ctx, a.fs.Import(&w.msg)...)
	// Kept here too: this host answers for these connections' ports.
	a.saveState(&w.msg)
}
