package api

import (
	"bytes"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// The replicated state tables: a bridge's MAC table per VLAN and its
// IPv4→MAC table (read), a router's ARP table (read; add and remove
// persistent entries). Entries come from a table handle opened for the
// request, whose cache the NSDB loads before the read.

// MACEntry maps a MAC to the bridge port it was learned on.
type MACEntry struct {
	MAC  topology.MAC `json:"mac"`
	Port topology.ID  `json:"port"`
}

// IP4MACEntry maps an IPv4 address to a MAC.
type IP4MACEntry struct {
	Addr netip.Addr   `json:"addr"`
	MAC  topology.MAC `json:"mac"`
}

// ARPEntry is an entry of a router's ARP table. MAC is absent while the
// address is being resolved; the times are absent when zero (persistent
// entries have none).
type ARPEntry struct {
	Addr    netip.Addr   `json:"addr"`
	MAC     topology.MAC `json:"mac,omitzero"`
	Expiry  time.Time    `json:"expiry,omitzero"`
	Stale   time.Time    `json:"stale,omitzero"`
	LastARP time.Time    `json:"last-arp,omitzero"`
}

func (s *Server) tableRoutes() []*route {
	mac, ip4, arp := schemaRef("MACEntry"), schemaRef("IP4MACEntry"), schemaRef("ARPEntry")
	return []*route{
		{name: "getMACTable", method: http.MethodGet, path: "/v1/bridges/{id}/mac-table", tag: "tables",
			summary: "A bridge's MAC table for untagged frames, in MAC order", params: pageParams,
			status: http.StatusOK, resp: listSchema(mac), errors: []int{400, 404}, h: s.macTable},
		{name: "getVLANMACTable", method: http.MethodGet, path: "/v1/bridges/{id}/vlans/{vlan}/mac-table", tag: "tables",
			summary: "A bridge's MAC table for one VLAN, in MAC order", params: pageParams,
			status: http.StatusOK, resp: listSchema(mac), errors: []int{400, 404}, h: s.macTable},
		{name: "getIP4MACTable", method: http.MethodGet, path: "/v1/bridges/{id}/ip4-mac-table", tag: "tables",
			summary: "A bridge's IPv4 to MAC table, in address order", params: pageParams,
			status: http.StatusOK, resp: listSchema(ip4), errors: []int{400, 404}, h: s.ip4MACTable},
		{name: "getARPTable", method: http.MethodGet, path: "/v1/routers/{id}/arp-table", tag: "tables",
			summary: "A router's ARP table, in address order", params: pageParams,
			status: http.StatusOK, resp: listSchema(arp), errors: []int{400, 404}, h: s.arpTable},
		{name: "addARPEntry", method: http.MethodPost, path: "/v1/routers/{id}/arp-table", tag: "tables", write: true,
			summary: "Add (or replace) a persistent ARP entry of a router", body: schemaRef("ARPEntryRequest"),
			status: http.StatusCreated, resp: arp, errors: []int{400, 404, 413, 415, 422}, h: s.addARPEntry},
		{name: "deleteARPEntry", method: http.MethodDelete, path: "/v1/routers/{id}/arp-table/{addr}", tag: "tables", write: true,
			summary: "Remove a router's persistent ARP entry for an address, if it maps to mac",
			params:  []param{{name: "mac", desc: "the MAC the persistent entry maps the address to", required: true, schema: schema{"type": "string"}}},
			status:  http.StatusNoContent, errors: []int{400, 404}, h: s.deleteARPEntry},
	}
}

// device checks that the request's bridge or router exists.
func (s *Server) device(r *http.Request, k topology.Kind) (topology.ID, error) {
	id, err := s.pathID(r, "id", k)
	if err != nil {
		return id, err
	}
	_, err = s.store.Get(r.Context(), k, id)
	return id, err
}

// writeEntries sends a page of table entries, sorted by key.
func writeEntries[K comparable, E any](s *Server, w http.ResponseWriter, r *http.Request, m map[K]E, key func(K) []byte) error {
	pg, err := s.pageOf(r)
	if err != nil {
		return err
	}
	type kv struct {
		k []byte
		e E
	}
	es := make([]kv, 0, len(m))
	for k, e := range m {
		es = append(es, kv{key(k), e})
	}
	slices.SortFunc(es, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
	body := newListBody()
	for _, e := range es {
		if pg.skip(e.k) {
			continue
		}
		if !body.add(pg, e.k) {
			break
		}
		body.b = appendJSONValue(body.b, e.e)
	}
	writeJSON(w, http.StatusOK, body.finish(), nsdb.AnyVersion)
	return nil
}

func addrKey(a netip.Addr) []byte { return a.AsSlice() }

func (s *Server) macTable(w http.ResponseWriter, r *http.Request) error {
	var vlan uint16
	if v := r.PathValue("vlan"); v != "" {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil || n > 4094 {
			return newProblem(http.StatusBadRequest, classBadRequest, "bad VLAN id",
				ProblemError{In: "path", Field: "vlan", Class: "invalid-value", Detail: "a VLAN id is a number in 0-4094"})
		}
		vlan = uint16(n)
	}
	id, err := s.device(r, topology.KindBridge)
	if err != nil {
		return err
	}
	t, err := s.db.Tables().MACTable(r.Context(), id, vlan)
	if err != nil {
		return err
	}
	defer t.Close()
	m := map[topology.MAC]MACEntry{}
	for k, v := range t.Entries() {
		m[k] = MACEntry{MAC: k, Port: v}
	}
	return writeEntries(s, w, r, m, func(k topology.MAC) []byte { return k[:] })
}

func (s *Server) ip4MACTable(w http.ResponseWriter, r *http.Request) error {
	id, err := s.device(r, topology.KindBridge)
	if err != nil {
		return err
	}
	t, err := s.db.Tables().IP4MACTable(r.Context(), id)
	if err != nil {
		return err
	}
	defer t.Close()
	m := map[netip.Addr]IP4MACEntry{}
	for k, v := range t.Entries() {
		m[k] = IP4MACEntry{Addr: k, MAC: v}
	}
	return writeEntries(s, w, r, m, addrKey)
}

func arpEntry(a netip.Addr, e nsdb.ARPEntry) ARPEntry {
	return ARPEntry{Addr: a, MAC: e.MAC, Expiry: e.Expiry, Stale: e.Stale, LastARP: e.LastARP}
}

func (s *Server) arpTable(w http.ResponseWriter, r *http.Request) error {
	id, err := s.device(r, topology.KindRouter)
	if err != nil {
		return err
	}
	t, err := s.db.Tables().ARPTable(r.Context(), id)
	if err != nil {
		return err
	}
	defer t.Close()
	m := map[netip.Addr]ARPEntry{}
	for k, v := range t.Entries() {
		m[k] = arpEntry(k, v)
	}
	return writeEntries(s, w, r, m, addrKey)
}

// parseIPv4 parses an IPv4 address.
func parseIPv4(s string, dst *netip.Addr) error {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return errors.New(strconv.Quote(s) + " is not an IPv4 address")
	}
	*dst = a
	return nil
}

func parseUnicastMAC(s string, dst *topology.MAC) error {
	m, err := topology.ParseMAC(s)
	if err != nil {
		return errors.New(strconv.Quote(s) + " is not a MAC (aa:bb:cc:dd:ee:ff)")
	}
	if !m.IsUnicast() {
		return errors.New(s + " is not a unicast MAC")
	}
	*dst = m
	return nil
}

func (s *Server) addARPEntry(w http.ResponseWriter, r *http.Request) error {
	id, err := s.device(r, topology.KindRouter)
	if err != nil {
		return err
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	var e ARPEntry
	if err := decodeFields(body, map[string]fieldParser{
		"addr": textField(func(v string) error { return parseIPv4(v, &e.Addr) }),
		"mac":  textField(func(v string) error { return parseUnicastMAC(v, &e.MAC) }),
	}, "addr", "mac"); err != nil {
		return err
	}
	t, err := s.db.Tables().ARPTable(r.Context(), id)
	if err != nil {
		return err
	}
	defer t.Close()
	if err := t.AddPersistent(r.Context(), e.Addr, nsdb.ARPEntry{MAC: e.MAC}); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, appendJSONValue(nil, e), nsdb.AnyVersion)
	return nil
}

func (s *Server) deleteARPEntry(w http.ResponseWriter, r *http.Request) error {
	var addr netip.Addr
	if err := parseIPv4(r.PathValue("addr"), &addr); err != nil {
		return newProblem(http.StatusBadRequest, classBadRequest, "bad address",
			ProblemError{In: "path", Field: "addr", Class: "invalid-value", Detail: err.Error()})
	}
	var mac topology.MAC
	if err := parseUnicastMAC(r.URL.Query().Get("mac"), &mac); err != nil {
		return queryProblem("mac", "invalid-value", err.Error())
	}
	id, err := s.device(r, topology.KindRouter)
	if err != nil {
		return err
	}
	t, err := s.db.Tables().ARPTable(r.Context(), id)
	if err != nil {
		return err
	}
	defer t.Close()
	if err := t.RemovePersistent(r.Context(), addr, nsdb.ARPEntry{MAC: mac}); err != nil {
		if errors.Is(err, nsdb.ErrNotFound) {
			return newProblem(http.StatusNotFound, classNotFound, "no persistent entry maps "+addr.String()+" to "+mac.String())
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// stateSchemas returns the schemas of the live state responses.
func stateSchemas() map[string]schema {
	id := schema{"type": "string", "format": "uuid"}
	t := schema{"type": "string", "format": "date-time"}
	return map[string]schema{
		"HostStatus": object("A host's liveness: alive while its agent's NSDB session holds the host's alive key.",
			schema{"id": id, "name": str(""), "alive": flag("")}, "id", "alive"),
		"PortStatus": object("Whether and where a port is active.", schema{"id": id, "name": str(""), "active": flag(""),
			"host": withDesc(id, "the host where it is active"), "tunnel-key": uintN(32, "the tunnel key that host announced")}, "id", "active"),
		"MACEntry":    object("", schema{"mac": str(""), "port": id}, "mac", "port"),
		"IP4MACEntry": object("", schema{"addr": str(""), "mac": str("")}, "addr", "mac"),
		"ARPEntry": object("An ARP table entry; mac is absent while the address is being resolved.", schema{
			"addr": str(""), "mac": str(""), "expiry": t, "stale": t, "last-arp": t}, "addr"),
		"ARPEntryRequest":  object("A persistent ARP entry.", schema{"addr": str("IPv4 address"), "mac": str("unicast MAC")}, "addr", "mac"),
		"NATLease":         natLeaseSchema(),
		"PoolMemberStatus": poolMemberStatusSchema(),
	}
}
