package agent

import (
	"context"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/flowstate"
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
	for h := range hosts {
		rt, ok := w.v.w.routes[h]
		if !ok {
			continue
		}
		tun := translate.TunnelKeyFor(translate.FlowStateTunnelKey, rt.src, rt.dst)
		tun.TOS = translate.ControlTOS
		acts := datapath.Actions{datapath.Set[datapath.TunnelKey]{Value: tun}, datapath.Output{Port: rt.port}}
		err := msg.AppendParts(w.buf[:0], flowstate.MaxPayload, func(part []byte) error {
			f, err := translate.AppendFlowStateFrame(w.out[:0], part)
			if err != nil {
				return err
			}
			w.out = f
			a.m.statePushed.Inc()
			return a.dp.Execute(ctx, f, nil, acts)
		})
		if err != nil {
			a.log.Debug("flow-state push failed", a.named("peer", topology.KindHost, h), "err", err)
			continue
		}
		sent = true
	}
	return sent
}

// importState imports a flow-state message received from a peer and
// invalidates the flows tagged with its keys.
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
	if err := w.msg.UnmarshalBinary(frame[l.Payload:l.End]); err != nil {
		a.m.drop(dropBadState)
		a.log.Debug("bad flow-state message", "err", err)
		return
	}
	a.invalidate(ctx, a.fs.Import(&w.msg)...)
	// Kept here too: this host answers for these connections' ports.
	a.saveState(&w.msg)
}
