package api

import (
	"net/http"
	"net/netip"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Live state of pool members: what their health monitor last said
// (nsdb.KeyPoolMemberStatus, written by nsdb/cluster/lbhealth) and whether
// the load balancer gives them new connections.

// PoolMemberStatus is a pool member's health.
type PoolMemberStatus struct {
	ID   topology.ID `json:"id"`
	Pool topology.ID `json:"pool"`
	// Addr is the member's address and port.
	Addr string `json:"addr"`
	// Status is the member's configured status: active, inactive or
	// monitored.
	Status string `json:"status"`
	// Health is what the health monitor last wrote (ACTIVE or INACTIVE);
	// absent when nothing monitors the member (yet).
	Health string `json:"health,omitempty"`
	// Up says whether the member takes new connections: a positive
	// weight, administratively up, and active (monitored: health ACTIVE).
	Up bool `json:"up"`
}

func (s *Server) poolMemberStatusRoutes() []*route {
	return []*route{
		{name: "listPoolMemberStatus", method: http.MethodGet, path: "/v1/status/pool-members", tag: "status",
			summary: "Every pool member with its health, in ID order", params: pageParams,
			status: http.StatusOK, resp: listSchema(schemaRef("PoolMemberStatus")), errors: []int{400}, h: s.listPoolMemberStatus},
		{name: "getPoolMemberStatus", method: http.MethodGet, path: "/v1/pool-members/{id}/status", tag: "status",
			summary: "A pool member's health", status: http.StatusOK, resp: schemaRef("PoolMemberStatus"), errors: []int{404},
			h: s.getPoolMemberStatus},
	}
}

func poolMemberStatusSchema() schema {
	id := schema{"type": "string", "format": "uuid"}
	return object("A pool member's health: what its health monitor last said, and whether it takes new connections.", schema{
		"id": id, "pool": id, "addr": str("address:port"),
		"status": enum("the configured status", "active", "inactive", "monitored"),
		"health": enum("the health monitor's last verdict; absent when none", nsdb.MemberStatusActive, nsdb.MemberStatusInactive),
		"up":     flag("whether the member takes new connections"),
	}, "id", "pool", "addr", "status", "up")
}

func poolMemberStatus(o topology.Object, vals []nsdb.KeyValue) PoolMemberStatus {
	m, _ := o.(*topology.PoolMember)
	if m == nil {
		return PoolMemberStatus{ID: o.ObjectID()}
	}
	st := PoolMemberStatus{ID: m.ID, Pool: m.Pool, Addr: netip.AddrPortFrom(m.Addr, m.Port).String(), Status: m.Status.String()}
	if len(vals) > 0 {
		st.Health = vals[0].Value
	}
	st.Up = m.Weight > 0 && !m.AdminDown &&
		(m.Status == topology.MemberActive || (m.Status == topology.MemberMonitored && st.Health == nsdb.MemberStatusActive))
	return st
}

func (s *Server) listPoolMemberStatus(w http.ResponseWriter, r *http.Request) error {
	return listStatus(s, w, r, topology.KindPoolMember, nsdb.KeyPoolMemberStatus(), poolMemberStatus)
}

func (s *Server) getPoolMemberStatus(w http.ResponseWriter, r *http.Request) error {
	return getStatus(s, w, r, topology.KindPoolMember, nsdb.KeyPoolMemberStatus(), poolMemberStatus)
}
