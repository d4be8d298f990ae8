package main

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/vxgw/floodproxy"
	"github.com/hivenet/hivenet/vxgw/gateway"
)

// addGateway adds the VxLAN gateway: one synchroniser per VTEP, on the
// node that owns it (nsdb.KeyVTEPManager), and the flooding-proxy manager
// on the node that wins its election.
func addGateway(node *cluster.Node, c nsdb.Client, log *slog.Logger, reg prometheus.Registerer) error {
	gw, err := gateway.New(gateway.Config{NSDB: c, Node: node.ID(), NodeName: node.Name(), Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	if err := node.AddPerEntity(gw, nsdb.KeyVTEPManager()); err != nil {
		return err
	}
	fp, err := floodproxy.New(floodproxy.Config{NSDB: c, Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	return node.Add(fp, cluster.Leader)
}
