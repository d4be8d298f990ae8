package cluster

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are a node's per-service metrics.
type metrics struct {
	up       *prometheus.GaugeVec
	leader   *prometheus.GaugeVec
	restarts *prometheus.CounterVec
	entities *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hivenet_cluster_service_up", Help: "1 while the service runs on this node, else 0.",
		}, []string{"service"}),
		leader: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hivenet_cluster_service_leader", Help: "1 while this node leads the leader-placed service, else 0.",
		}, []string{"service"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_cluster_service_restarts_total", Help: "Restarts of the service on this node after failures.",
		}, []string{"service"}),
		entities: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hivenet_cluster_service_entities", Help: "Entities a per-entity service owns on this node.",
		}, []string{"service"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.up, m.leader, m.restarts, m.entities} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// init creates a service's series so that they exist before it first runs.
func (m *metrics) init(service string) {
	m.up.WithLabelValues(service).Set(0)
	m.leader.WithLabelValues(service).Set(0)
	m.restarts.WithLabelValues(service).Add(0)
}

// set mirrors a service's status in its gauges.
func (m *metrics) set(service string, st ServiceStatus) {
	up, leader := 0.0, 0.0
	if st.State == StateRunning {
		up = 1
	}
	if st.Leader {
		leader = 1
	}
	m.up.WithLabelValues(service).Set(up)
	m.leader.WithLabelValues(service).Set(leader)
}
