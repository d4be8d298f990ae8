package api

import (
	"net/http"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
)

// The cluster's status as its nodes publish it in the NSDB (package
// nsdb/cluster): which nodes are live, what each runs, and which node leads
// each leader-placed service. Any API server reads it, wherever it runs.

func (s *Server) clusterRoutes() []*route {
	return []*route{{name: "getClusterStatus", method: http.MethodGet, path: "/v1/cluster", tag: "status",
		summary: "The live cluster nodes, their services, and the node leading each leader-placed service",
		status:  http.StatusOK, resp: schemaRef("ClusterStatus"), h: s.clusterStatus}}
}

func (s *Server) clusterStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := cluster.ReadStatus(r.Context(), s.db)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, appendJSONValue(nil, st), nsdb.AnyVersion)
	return nil
}

// clusterSchemas returns the schemas of cluster.Status.
func clusterSchemas() map[string]schema {
	id := schema{"type": "string", "format": "uuid"}
	t := schema{"type": "string", "format": "date-time"}
	return map[string]schema{
		"ClusterStatus": object("The cluster's status.", schema{
			"nodes":   array(schemaRef("ClusterNode"), "every live node, by name"),
			"leaders": array(schemaRef("ClusterLeader"), "every leader-placed service some node enables, by service")},
			"nodes", "leaders"),
		"ClusterNode": object("One cluster node's report.", schema{"id": id, "name": str(""), "started": t, "updated": t,
			"services": array(schemaRef("ClusterService"), "the node's enabled services, by name")},
			"id", "name", "started", "updated", "services"),
		"ClusterService": object("One service on one node.", schema{"name": str(""),
			"placement": enum("", string(cluster.EveryNode), string(cluster.Leader), string(cluster.PerEntity)),
			"state": enum("", string(cluster.StateWaiting), string(cluster.StateRunning), string(cluster.StateRestarting),
				string(cluster.StateFailed), string(cluster.StateStopped)),
			"leader":     flag("this node holds the service's election"),
			"entities":   array(id, "the entities this node runs the service for"),
			"restarts":   schema{"type": "integer", "minimum": 0},
			"last-error": str(""), "since": t},
			"name", "placement", "state", "restarts", "since"),
		"ClusterLeader": object("The node leading a leader-placed service (none when its election has no leader).", schema{
			"service": str(""), "node": id, "node-name": str("")}, "service"),
	}
}
