package agent

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath/agent/bgp"
)

// bgpMetrics are the per-peer gauges of the BGP speakers, labelled by the
// uplink port's name and the peer's address. They are refreshed with every
// status write (BGPConfig.StatusInterval) and removed when the port's
// speaker stops, so a scrape shows only running sessions.
type bgpMetrics struct {
	established, received, sent, flaps, uptime *prometheus.GaugeVec
}

// newBGPMetrics registers the gauges on reg; with reg nil they are kept
// but registered nowhere, as the agent's other metrics are.
func newBGPMetrics(reg prometheus.Registerer) (*bgpMetrics, error) {
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"port", "peer"})
	}
	m := &bgpMetrics{
		established: gauge("hivenet_agent_bgp_peer_established", "1 while the BGP session with the peer is established, else 0."),
		received:    gauge("hivenet_agent_bgp_peer_prefixes_received", "Prefixes the peer announces (adj-RIB-in)."),
		sent:        gauge("hivenet_agent_bgp_peer_prefixes_sent", "Prefixes advertised to the peer."),
		flaps:       gauge("hivenet_agent_bgp_peer_flaps", "Times the session left the established state since the speaker started."),
		uptime:      gauge("hivenet_agent_bgp_peer_uptime_seconds", "How long the session has been established (0 when it is not)."),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.established, m.received, m.sent, m.flaps, m.uptime} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe records one peer's status on port.
func (m *bgpMetrics) observe(port string, p bgp.PeerStatus) {
	peer := p.Peer.String()
	up := 0.0
	if p.State == "established" {
		up = 1
	}
	m.established.WithLabelValues(port, peer).Set(up)
	m.received.WithLabelValues(port, peer).Set(float64(p.Received))
	m.sent.WithLabelValues(port, peer).Set(float64(p.Sent))
	m.flaps.WithLabelValues(port, peer).Set(float64(p.Flaps))
	m.uptime.WithLabelValues(port, peer).Set(p.Uptime.Seconds())
}

// forget removes port's series.
func (m *bgpMetrics) forget(port string) {
	for _, g := range []*prometheus.GaugeVec{m.established, m.received, m.sent, m.flaps, m.uptime} {
		g.DeletePartialMatch(prometheus.Labels{"port": port})
	}
}
