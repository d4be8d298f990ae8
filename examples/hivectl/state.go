package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/nsdb/cluster"
)

// Live state: hosts and their liveness, MAC and ARP tables, the cluster.

// structured prints v, an API answer decoded into its Go type, as -o json
// or yaml asks, reporting whether it did.
func (e *env) structured(raw [][]byte, list bool) (bool, error) {
	switch e.g.output {
	case "json", "yaml":
		return true, e.printer().document(nil, raw, list)
	}
	return false, nil
}

// listOf decodes every item of a list into T.
func listOf[T any](e *env, path string) ([]T, [][]byte, error) {
	items, err := e.c.list(e.ctx, path)
	if err != nil {
		return nil, nil, err
	}
	out := make([]T, len(items))
	raw := make([][]byte, len(items))
	for i, it := range items {
		if err := json.Unmarshal(it, &out[i]); err != nil {
			return nil, nil, fmt.Errorf("decoding the API's answer: %w", err)
		}
		raw[i] = it
	}
	return out, raw, nil
}

// runHosts prints every host: whether its agent is alive, how many ports
// are bound to it and how many of them are active there.
func runHosts(e *env) error {
	if err := e.need(0, 0); err != nil {
		return err
	}
	hosts, raw, err := listOf[api.HostStatus](e, "/v1/status/hosts")
	if err != nil {
		return err
	}
	if ok, err := e.structured(raw, true); ok {
		return err
	}
	ports, err := e.c.objects(e.ctx, "ports")
	if err != nil {
		return err
	}
	status, _, err := listOf[api.PortStatus](e, "/v1/status/ports")
	if err != nil {
		return err
	}
	bound, active := map[string]int{}, map[string]int{}
	for _, p := range ports {
		bound[str(p["host"])]++
	}
	for _, s := range status {
		if s.Active {
			active[s.Host.String()]++
		}
	}
	slices.SortFunc(hosts, func(a, b api.HostStatus) int { return strings.Compare(a.Name, b.Name) })
	header := []string{"NAME", "ALIVE", "PORTS", "ACTIVE-PORTS"}
	if e.g.ids {
		header = slices.Insert(header, 1, "ID")
	}
	var rows [][]string
	for _, h := range hosts {
		id := h.ID.String()
		row := []string{h.Name, strconv.FormatBool(h.Alive), strconv.Itoa(bound[id]), strconv.Itoa(active[id])}
		if e.g.ids {
			row = slices.Insert(row, 1, id)
		}
		rows = append(rows, row)
	}
	return e.printer().writeTable(header, rows)
}

func macTableFlags(fs *flag.FlagSet) func(*env) error {
	vlan := fs.Uint("vlan", 0, "the `VLAN`'s table (0: untagged frames)")
	return func(e *env) error {
		if err := e.need(1, 1); err != nil {
			return err
		}
		path := pathOf("bridges", e.args[0]) + "/mac-table"
		if *vlan != 0 {
			path = pathOf("bridges", e.args[0]) + "/vlans/" + strconv.FormatUint(uint64(*vlan), 10) + "/mac-table"
		}
		entries, raw, err := listOf[api.MACEntry](e, path)
		if err != nil {
			return err
		}
		if ok, err := e.structured(raw, true); ok {
			return err
		}
		rows := make([][]string, len(entries))
		for i, en := range entries {
			port := en.Port.String()
			if !e.g.ids {
				port = e.c.nameOf(e.ctx, "ports", port)
			}
			rows[i] = []string{en.MAC.String(), port}
		}
		return e.printer().writeTable([]string{"MAC", "PORT"}, rows)
	}
}

func runARPTable(e *env) error {
	if err := e.need(1, 1); err != nil {
		return err
	}
	entries, raw, err := listOf[api.ARPEntry](e, pathOf("routers", e.args[0])+"/arp-table")
	if err != nil {
		return err
	}
	if ok, err := e.structured(raw, true); ok {
		return err
	}
	when := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Local().Format(time.DateTime)
	}
	rows := make([][]string, len(entries))
	for i, en := range entries {
		mac := "(resolving)"
		if !en.MAC.IsZero() {
			mac = en.MAC.String()
		}
		kind := "learned"
		if en.Expiry.IsZero() {
			kind = "persistent"
		}
		rows[i] = []string{en.Addr.String(), mac, kind, when(en.Expiry), when(en.Stale)}
	}
	return e.printer().writeTable([]string{"ADDR", "MAC", "ENTRY", "EXPIRES", "STALE"}, rows)
}

// runStatus prints the cluster's nodes with their services, then who
// leads each leader-placed service.
func runStatus(e *env) error {
	if err := e.need(0, 0); err != nil {
		return err
	}
	r, err := e.c.get(e.ctx, "/v1/cluster")
	if err != nil {
		return err
	}
	if ok, err := e.structured([][]byte{r.body}, false); ok {
		return err
	}
	var st cluster.Status
	if err := json.Unmarshal(r.body, &st); err != nil {
		return fmt.Errorf("decoding the API's answer: %w", err)
	}
	var rows [][]string
	for _, n := range st.Nodes {
		var svcs []string
		for _, s := range n.Services {
			x := s.Name + ":" + string(s.State)
			if s.Leader {
				x += "(leader)"
			}
			if s.Restarts > 0 {
				x += "(" + strconv.Itoa(s.Restarts) + " restarts)"
			}
			svcs = append(svcs, x)
		}
		rows = append(rows, []string{n.Name, n.Started.Local().Format(time.DateTime), time.Since(n.Updated).Round(time.Second).String() + " ago",
			strings.Join(svcs, ",")})
	}
	p := e.printer()
	if err := p.writeTable([]string{"NODE", "STARTED", "UPDATED", "SERVICES"}, rows); err != nil {
		return err
	}
	rows = rows[:0]
	for _, l := range st.Leaders {
		node := l.NodeName
		if node == "" {
			node = "(none)"
		}
		rows = append(rows, []string{l.Service, node})
	}
	fmt.Fprintln(e.stdout)
	return p.writeTable([]string{"SERVICE", "LEADER"}, rows)
}
