package main

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/cluster/lbhealth"
)

// addLBHealth adds the load balancers' health monitors: one TCP checker
// per health monitor, on the node that owns it
// (nsdb.KeyHealthMonitorOwner); probes leave from this node's network
// stack.
func addLBHealth(node *cluster.Node, c nsdb.Client, log *slog.Logger, reg prometheus.Registerer) error {
	mon, err := lbhealth.New(lbhealth.Config{NSDB: c, Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	return node.AddPerEntity(mon, nsdb.KeyHealthMonitorOwner())
}
