package gateway

import "github.com/prometheus/client_golang/prometheus"

// metrics are the service's Prometheus metrics.
type metrics struct {
	connected *prometheus.GaugeVec   // vtep
	txns      *prometheus.CounterVec // result
	rows      *prometheus.CounterVec // direction
	remote    *prometheus.GaugeVec   // vtep: Ucast_Macs_Remote rows wanted
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hivenet_vxgw_ovsdb_connected", Help: "1 while this node is connected to the VTEP's OVSDB server, else 0.",
		}, []string{"vtep"}),
		txns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_vxgw_ovsdb_transactions_total", Help: "OVSDB transactions the gateway ran, by result (ok, error).",
		}, []string{"result"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_vxgw_mac_writes_total",
			Help: "MAC entries written: to_vtep (Ucast_Macs_Remote rows inserted or deleted), to_nsdb (MAC and IPv4-MAC table entries added or removed).",
		}, []string{"direction"}),
		remote: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hivenet_vxgw_remote_macs", Help: "MACs of the bound bridges the gateway wants in the VTEP's Ucast_Macs_Remote.",
		}, []string{"vtep"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.connected, m.txns, m.rows, m.remote} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
