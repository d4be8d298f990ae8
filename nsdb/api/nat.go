package api

import (
	"encoding/binary"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/hivenet/hivenet/nat"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// NATLease is a NAT port block held by an agent: ports First-Last of IP
// on a device, for the agent's session.
type NATLease struct {
	Device topology.ID `json:"device"`
	IP     netip.Addr  `json:"ip"`
	Block  uint32      `json:"block"`
	First  uint16      `json:"first-port"`
	Last   uint16      `json:"last-port"`
	// Session is the holder's NSDB session, in hexadecimal; Host the host
	// whose liveness that session holds, when it holds one.
	Session string      `json:"session"`
	Host    topology.ID `json:"host,omitzero"`
}

func (s *Server) natRoutes() []*route {
	return []*route{{name: "listNATLeases", method: http.MethodGet, path: "/v1/nat-leases", tag: "status",
		summary: "The NAT port blocks agents hold, by device, address and block",
		params:  append([]param{{name: "device", desc: "only the blocks of this router (name or UUID)", schema: schema{"type": "string"}}}, pageParams...),
		status:  http.StatusOK, resp: listSchema(schemaRef("NATLease")), errors: []int{400}, h: s.listNATLeases}}
}

func natLeaseSchema() schema {
	return object("A NAT port block an agent holds.", schema{"device": schema{"type": "string", "format": "uuid"},
		"ip": str("translated address"), "block": uintN(32, "block number: ports 64·block to 64·block+63"),
		"first-port": uintN(16, ""), "last-port": uintN(16, ""), "session": str("the holder's NSDB session"),
		"host": schema{"type": "string", "format": "uuid", "description": "the host whose agent holds it"}},
		"device", "ip", "block", "first-port", "last-port", "session")
}

func (s *Server) listNATLeases(w http.ResponseWriter, r *http.Request) error {
	pg, err := s.pageOf(r)
	if err != nil {
		return err
	}
	prefix := nat.Namespace
	if v := r.URL.Query().Get("device"); v != "" {
		id, err := topology.ParseID(v)
		if err != nil {
			l := s.lookup(r.Context())
			var ok bool
			if id, ok = l.resolve(topology.KindRouter, v); !ok {
				if l.err != nil {
					return l.err
				}
				return queryProblem("device", "dangling-reference", "no router "+v)
			}
		}
		prefix += "/" + id.String()
	}
	bc, ok := s.db.(nsdb.BlockClaimer)
	if !ok {
		writeJSON(w, http.StatusOK, newListBody().finish(), nsdb.AnyVersion)
		return nil
	}
	holds, err := bc.Blocks().Held(r.Context(), prefix)
	if err != nil {
		return err
	}
	alive, err := s.keyValues(r, nsdb.KeyHostAlive())
	if err != nil {
		return err
	}
	hostOf := map[nsdb.SessionID]topology.ID{}
	for host, vals := range alive {
		for _, v := range vals {
			hostOf[v.Owner] = host
		}
	}
	body := newListBody()
	for _, h := range holds {
		dev, ip, ok := nat.ParseScope(h.Scope)
		if !ok || h.Block >= nat.NumBlocks {
			continue // not a NAT scope
		}
		key := make([]byte, 0, 24)
		key = append(append(append(key, dev[:]...), ip[:]...), binary.BigEndian.AppendUint32(nil, h.Block)...)
		if pg.skip(key) {
			continue
		}
		if !body.add(pg, key) {
			break
		}
		first, last := nat.Block{Index: uint16(h.Block)}.Ports()
		body.b = appendJSONValue(body.b, NATLease{Device: dev, IP: netip.AddrFrom4(ip), Block: h.Block, First: first, Last: last,
			Session: "0x" + strconv.FormatUint(uint64(h.Holder), 16), Host: hostOf[h.Holder]})
	}
	writeJSON(w, http.StatusOK, body.finish(), nsdb.AnyVersion)
	return nil
}
