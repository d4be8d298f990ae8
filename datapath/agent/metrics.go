package agent

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/dhcp"
)

// Drop reasons counted by hivenet_agent_drops_total besides the
// simulation's own (simulation.DropReason names).
const (
	dropUnknownPort   = "unknown-port"
	dropUnknownTunnel = "unknown-tunnel-key"
	dropForeignTunnel = "tunnel-key-not-local"
	dropTunnelSource  = "tunnel-source-not-member"
	dropUnreachable   = "unreachable-port"
	dropWaitTimeout   = "waiting-room-timeout"
	dropQueueFull     = "upcall-queue-full"
	dropBadState      = "bad-flow-state"
	dropExecute       = "execute-failed"
	dropTables        = "state-tables-unavailable"
)

// metrics are the agent's Prometheus metrics. Counters used per packet are
// resolved once so that updating them does not allocate.
type metrics struct {
	upcalls       *prometheus.CounterVec
	upcallMiss    prometheus.Counter
	upcallAction  prometheus.Counter
	upcallTunnel  prometheus.Counter
	upcallState   prometheus.Counter
	simulations   *prometheus.CounterVec
	byVerdict     [8]prometheus.Counter
	installed     *prometheus.CounterVec
	installedBy   [numClasses]prometheus.Counter
	removed       *prometheus.CounterVec
	removedExpire prometheus.Counter
	removedInval  prometheus.Counter
	removedOther  prometheus.Counter
	invalidations prometheus.Counter
	drops         *prometheus.CounterVec
	dropsSim      [simulation.NumDropReasons]prometheus.Counter
	writesDropped prometheus.Counter
	// tableWaits counts the simulations postponed until the tables of
	// a device were opened (tabledemand.go).
	tableWaits prometheus.Counter
	// tablesClosed counts the devices whose tables were closed after
	// going idle (tableidle.go).
	tablesClosed  prometheus.Counter
	statePushed   prometheus.Counter
	stateReceived prometheus.Counter
	// stateRejects counts the flow-state messages and transfers that
	// failed authentication, by reason (flowstate/auth.Reason).
	stateRejects *prometheus.CounterVec
	// rejectedMsg holds stateRejects' message counters by reason,
	// resolved once: counting a refused message does not allocate.
	rejectedMsg map[string]prometheus.Counter
	session     prometheus.Gauge
	// Flow-state persistence: messages saved and dropped (queue full) by
	// store, messages and ports restored by source, and how long the
	// restore at start took.
	stateSaved      *prometheus.CounterVec
	stateDropped    *prometheus.CounterVec
	stateRestored   *prometheus.CounterVec
	portsRestored   *prometheus.CounterVec
	restoreDuration prometheus.Gauge
	dhcpReqs        *prometheus.CounterVec
	dhcpReps        *prometheus.CounterVec
	dhcpNone        *prometheus.CounterVec
	dhcpReqBy       [9]prometheus.Counter
	dhcpRepBy       [9]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, queueDepth, queueBytes, flows, tunnelMTU func() float64) (*metrics, error) {
	m := &metrics{
		upcalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_agent_upcalls_total", Help: "Packets received from the datapath, by kind (miss, tunnel, flow-state, action: a flow sent it up, as check_pkt_len does with packets too large for a path MTU).",
		}, []string{"kind"}),
		simulations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_agent_simulations_total", Help: "Simulations run, by verdict.",
		}, []string{"verdict"}),
		installed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_agent_flows_installed_total", Help: "Flows installed in the datapath, by class.",
		}, []string{"class"}),
		removed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_agent_flows_removed_total", Help: "Flows removed from the datapath, by reason (expired, invalidated, other).",
		}, []string{"reason"}),
		invalidations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hivenet_agent_tags_invalidated_total", Help: "Flow tags invalidated.",
		}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_agent_drops_total", Help: "Packets dropped, by reason.",
		}, []string{"reason"}),
		writesDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hivenet_agent_nsdb_writes_dropped_total", Help: "State-table writes dropped because the write queue was full.",
		}),
		tableWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hivenet_agent_table_waits_total", Help: "Simulations postponed until the state tables of a device they needed were opened: the first packets through a device no local port reaches.",
		}),
		tablesClosed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hivenet_agent_state_tables_closed_total", Help: "Devices whose state tables, opened on demand, were closed after no installed flow went through the device for the idle time (Timeouts.TableIdle).",
		}),
		statePushed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hivenet_agent_flow_state_sent_total", Help: "Flow-state messages sent to peers.",
		}),
		stateReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hivenet_agent_flow_state_received_total", Help: "Flow-state messages received from peers.",
		}),
		stateRejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_agent_flow_state_rejected_total", Help: "Flow-state messages (kind message) and peer transfers (kind transfer) refused for failing authentication, by reason: no-mac, unknown-key, bad-mac, stale (outside the replay window), no-keys (this agent has none). They change nothing.",
		}, []string{"kind", "reason"}),
		stateSaved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_agent_flow_state_saved_total", Help: "Flow-state messages saved, by store (local, shared).",
		}, []string{"store"}),
		stateDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_agent_flow_state_save_dropped_total", Help: "Flow-state messages not saved because the store's queue was full or the save failed, by store.",
		}, []string{"store"}),
		stateRestored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_agent_flow_state_restored_messages_total", Help: "Flow-state messages restored into the tables, by source (local, peer, shared).",
		}, []string{"source"}),
		portsRestored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_agent_flow_state_ports_restored_total", Help: "Bound ports whose flow state was restored, by source (local, peer, shared, none).",
		}, []string{"source"}),
		restoreDuration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hivenet_agent_flow_state_restore_seconds", Help: "How long the last restore of bound ports' flow state took.",
		}),
		dhcpReqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_agent_dhcp_requests_total", Help: "DHCP client messages the agent served, by type (discover, request, inform, release, decline, ...).",
		}, []string{"type"}),
		dhcpReps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_agent_dhcp_replies_total", Help: "DHCP replies the agent sent, by type (offer, ack, nak).",
		}, []string{"type"}),
		dhcpNone: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_agent_dhcp_unanswered_total", Help: "DHCP client messages the agent did not answer, by reason: unknown-host and malformed ones are simulated as any packet; consumed ones (release, decline, a request for another server) and execute-failed ones are dropped.",
		}, []string{"reason"}),
		session: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hivenet_agent_nsdb_session_up", Help: "1 while the agent holds a live NSDB session (its host is alive and its ports announced), else 0.",
		}),
	}
	m.rejectedMsg = make(map[string]prometheus.Counter)
	for _, r := range []string{"no-mac", "unknown-key", "bad-mac", "stale", "no-keys", "other"} {
		m.rejectedMsg[r] = m.stateRejects.WithLabelValues("message", r)
	}
	m.upcallMiss = m.upcalls.WithLabelValues("miss")
	m.upcallAction = m.upcalls.WithLabelValues("action")
	m.upcallTunnel = m.upcalls.WithLabelValues("tunnel")
	m.upcallState = m.upcalls.WithLabelValues("flow-state")
	for v := simulation.Forward; v <= simulation.NotYet; v++ {
		m.byVerdict[v] = m.simulations.WithLabelValues(v.String())
	}
	for c := FlowClass(0); c < numClasses; c++ {
		m.installedBy[c] = m.installed.WithLabelValues(c.String())
	}
	m.removedExpire = m.removed.WithLabelValues("expired")
	m.removedInval = m.removed.WithLabelValues("invalidated")
	m.removedOther = m.removed.WithLabelValues("other")
	for r := simulation.ReasonNone + 1; r < simulation.NumDropReasons; r++ {
		m.dropsSim[r] = m.drops.WithLabelValues(r.String())
	}
	for t := range m.dhcpReqBy {
		if t > 0 {
			m.dhcpReqBy[t] = m.dhcpReqs.WithLabelValues(dhcp.MessageType(t).String())
			m.dhcpRepBy[t] = m.dhcpReps.WithLabelValues(dhcp.MessageType(t).String())
		}
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{
		m.upcalls, m.simulations, m.installed, m.removed, m.invalidations, m.drops,
		m.writesDropped, m.tableWaits, m.tablesClosed, m.statePushed, m.stateReceived, m.stateRejects, m.session, m.dhcpReqs, m.dhcpReps, m.dhcpNone,
		m.stateSaved, m.stateDropped, m.stateRestored, m.portsRestored, m.restoreDuration,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hivenet_agent_tunnel_mtu", Help: "The largest IP packet the host's overlay tunnels carry unfragmented: the underlay interface MTU minus the encapsulation overhead (DHCP offers no larger interface MTU).",
		}, tunnelMTU),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hivenet_agent_upcall_queue_depth", Help: "Upcalls waiting for a simulation worker (in sockets that report it) and packets handed back by the waiting room.",
		}, queueDepth),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hivenet_agent_upcall_queue_bytes", Help: "Memory taken by upcalls queued in the kernel on the agent's upcall sockets, unread (sockets that report it); the kernel drops upcalls when a socket's buffer is full.",
		}, queueBytes),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hivenet_agent_flows", Help: "Flows currently installed by the agent.",
		}, flows),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// registerApplied registers the gauge of the agent's applied revision
// (reg nil: none).
func registerApplied(reg prometheus.Registerer, applied func() float64) error {
	if reg == nil {
		return nil
	}
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hivenet_agent_nsdb_applied_revision",
		Help: "The highest NSDB store revision the agent has applied (Agent.AppliedRevision): a write is applied once this reaches its ETag, or a deletion's Hivenet-Revision.",
	}, applied))
}

func (m *metrics) simulated(r *simulation.Result) {
	if int(r.Verdict) < len(m.byVerdict) && m.byVerdict[r.Verdict] != nil {
		m.byVerdict[r.Verdict].Inc()
	}
	if r.Verdict.IsDrop() && int(r.Reason) < len(m.dropsSim) && m.dropsSim[r.Reason] != nil {
		m.dropsSim[r.Reason].Inc()
	}
}

func (m *metrics) drop(reason string) { m.drops.WithLabelValues(reason).Inc() }

// stateRejected counts a flow-state message refused with err (an error of
// flowstate/auth).
func (m *metrics) stateRejected(err error) {
	m.rejectedMsg[auth.Reason(err)].Inc()
}

// transferRejected counts a peer transfer refused with err (one wrapping
// flowstate/transfer.ErrUnauthorized), served or fetched.
func (m *metrics) transferRejected(err error) {
	m.stateRejects.WithLabelValues("transfer", auth.Reason(err)).Inc()
}

func (m *metrics) dhcpRequest(t dhcp.MessageType) {
	if int(t) < len(m.dhcpReqBy) && t > 0 {
		m.dhcpReqBy[t].Inc()
	} else {
		m.dhcpReqs.WithLabelValues("other").Inc()
	}
}

func (m *metrics) dhcpReply(t dhcp.MessageType) {
	if int(t) < len(m.dhcpRepBy) && t > 0 {
		m.dhcpRepBy[t].Inc()
	}
}

func (m *metrics) dhcpUnanswered(reason string) { m.dhcpNone.WithLabelValues(reason).Inc() }

// queueBytes sums QueuedBytes over the workers' sockets that report it.
func (a *Agent) queueBytes() float64 {
	n := 0
	for _, w := range a.workers {
		if q, ok := w.sock.(datapath.QueuedByteCounter); ok {
			if b, err := q.QueuedBytes(); err == nil {
				n += b
			}
		}
	}
	return float64(n)
}

// queueDepth is the number of upcalls waiting in the sockets that tell,
// plus the packets the waiting room handed back and no worker took yet.
func (a *Agent) queueDepth() float64 {
	n := len(a.resubmit)
	for _, w := range a.workers {
		if p, ok := w.sock.(datapath.PendingCounter); ok {
			n += p.Pending()
		}
	}
	return float64(n)
}
