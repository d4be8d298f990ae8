package agent

import (
	"context"
	"errors"
	"log/slog"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/dhcp"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// Reasons a DHCP client message gets no answer from the agent, counted by
// hivenet_agent_dhcp_unanswered_total. Unanswered messages other than
// those consumed (release, decline, other-server) are simulated like any
// other packet.
const (
	dhcpMalformed   = "malformed"
	dhcpUnknownHost = "unknown-host"
	dhcpConsumed    = "consumed"
	dhcpExecute     = "execute-failed"
)

// dhcpCheck is what the DHCP interception saw of a packet that entered an
// exterior bridge port.
type dhcpCheck struct {
	// seen are the fields the check read: every flow from such a port
	// matches them, so that no megaflow installed for other traffic
	// (an ARP broadcast flood, say) captures the client's DHCP messages.
	seen packet.FieldSet
	// request reports a DHCP client message (UDP 68 -> 67): such
	// packets never get a kernel flow.
	request bool
	// parsed reports that w.pm holds the parsed frame.
	parsed bool
	// noFlow asks for no kernel flow (an ARP reply copied to a BGP
	// speaker, bgpdivert.go).
	noFlow bool
	bridge topology.ID
}

// checkDHCP reads, with the megaflow-tracking getters of w.pm, whether
// frame, entering port, is a DHCP client message. Only exterior ports of
// bridges with an enabled DHCP subnet are checked (the reference checks
// every bridge port): the flows of other bridges do not match the fields
// the check reads. The destination port is read before the source port,
// so that UDP flows, which mostly go to well-known ports from random ones,
// match the source port only when they go to port 67.
func (w *worker) checkDHCP(port topology.ID, frame []byte) dhcpCheck {
	var c dhcpCheck
	p, ok := w.v.w.snap.Port(port)
	if !ok || p.Bridge.IsZero() || p.Kind() != topology.PortExterior || !w.v.w.dhcp.Serves(p.Bridge) {
		return c
	}
	if _, local := w.v.w.local[port]; !local {
		// A bridge's VxLAN port toward a VTEP: the reply could not be
		// sent back through it.
		return c
	}
	m := &w.pm
	if m.Parse(frame) != nil {
		return c
	}
	c.parsed, c.bridge = true, p.Bridge
	c.request = m.VLANs().Len() == 0 && m.EtherType() == packet.EtherTypeIPv4 &&
		m.IPProto() == packet.ProtoUDP && m.IPFrag() == packet.FragNone &&
		m.DstPort() == dhcp.ServerPort && m.SrcPort() == dhcp.ClientPort
	c.seen = m.Seen()
	return c
}

// apply adds what the check read to the simulation result r: its fields
// to the megaflow mask, and no kernel flow at all for DHCP requests (an
// unanswered one was simulated; its flow must not capture the next
// request, which the agent may be able to answer then).
func (c *dhcpCheck) apply(r *simulation.Result) {
	if c.seen != 0 {
		r.Original.MarkSeen(c.seen)
		r.Seen |= c.seen
	}
	if c.request || c.noFlow {
		r.Flow = simulation.FlowNone
	}
}

// answerDHCP answers a DHCP client message from the agent's DHCP
// configuration, before any simulation: the reply is sent out of the
// ingress port and nothing is flooded. It reports whether the packet is
// done with (answered or consumed); false means it is simulated.
func (w *worker) answerDHCP(ctx context.Context, port topology.ID, c *dhcpCheck, frame []byte) bool {
	a := w.a
	wd := w.v.w
	ans, err := w.dhcp.Reply(w.dbuf[:0], &dhcp.Input{Table: wd.dhcp, Bridge: c.bridge, Frame: frame, TunnelMTU: a.TunnelMTU()})
	switch {
	case errors.Is(err, dhcp.ErrUnknownHost):
		a.m.dhcpUnanswered(dhcpUnknownHost)
		return false
	case err != nil:
		a.m.dhcpUnanswered(dhcpMalformed)
		a.log.Debug("malformed DHCP message", a.named("port", topology.KindPort, port), "err", err)
		return false
	}
	a.m.dhcpRequest(ans.Request)
	if ans.Frame == nil {
		a.m.dhcpUnanswered(dhcpConsumed)
		return true
	}
	w.dbuf = ans.Frame[:0]
	dp, ok := wd.local[port]
	if !ok {
		a.m.dhcpUnanswered(dhcpExecute)
		return true
	}
	w.dacts = append(w.dacts[:0], datapath.Output{Port: dp})
	w.dkey = datapath.FlowKey{}
	if err := a.dp.Execute(ctx, ans.Frame, &w.dkey, w.dacts); err != nil {
		a.m.dhcpUnanswered(dhcpExecute)
		a.log.Debug("DHCP reply execute failed", a.named("port", topology.KindPort, port), "err", err)
		return true
	}
	a.m.dhcpReply(ans.Reply)
	if !a.log.Enabled(ctx, slog.LevelDebug) {
		return true
	}
	a.log.Debug("DHCP answered", a.named("port", topology.KindPort, port), "request", ans.Request.String(),
		"reply", ans.Reply.String(), "addr", ans.Host.Addr, "mtu", ans.MTU)
	return true
}
