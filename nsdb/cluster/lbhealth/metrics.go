package lbhealth

import "github.com/prometheus/client_golang/prometheus"

// metrics are a Monitor's metrics.
type metrics struct {
	probes   *prometheus.CounterVec
	failures *prometheus.CounterVec
	changes  *prometheus.CounterVec
	members  *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_lbhealth_probes_total", Help: "Health probes sent to the pool's members by this node.",
		}, []string{"pool"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_lbhealth_probe_failures_total", Help: "Health probes of the pool's members that failed.",
		}, []string{"pool"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_lbhealth_status_changes_total", Help: "Member statuses written to the NSDB, by new status.",
		}, []string{"pool", "status"}),
		members: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hivenet_lbhealth_members", Help: "Members the health monitor probes from this node.",
		}, []string{"monitor"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.probes, m.failures, m.changes, m.members} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
