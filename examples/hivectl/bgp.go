package main

import (
	"cmp"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hivenet/hivenet/nsdb/api"
)

// The bgp command: BGP on gateway uplinks, through /v1/status/bgp — per
// BGP port its router and host, its sessions as the host's agent last
// reported them, and (--routes) the routes its speaker learned.

func bgpFlags(fs *flag.FlagSet) func(*env) error {
	routes := fs.Bool("routes", false, "print the learned routes instead of the sessions")
	return func(e *env) error { return e.bgp(*routes) }
}

// bgp prints the BGP ports named (by name or UUID), or all.
func (e *env) bgp(routes bool) error {
	sts, docs, err := listOf[api.BGPPortStatus](e, "/v1/status/bgp")
	if err != nil {
		return err
	}
	idx := make([]int, 0, len(sts))
	for _, n := range e.args {
		i := slices.IndexFunc(sts, func(st api.BGPPortStatus) bool { return st.PortName == n || st.Port.String() == n })
		if i < 0 {
			return fmt.Errorf("bgp: no BGP port %q (a router port bound to a host, with a BGP peer in its subnets)", n)
		}
		idx = append(idx, i)
	}
	if len(e.args) == 0 {
		for i := range sts {
			idx = append(idx, i)
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			return cmp.Or(strings.Compare(sts[a].PortName, sts[b].PortName), strings.Compare(sts[a].Port.String(), sts[b].Port.String()))
		})
	}
	sel, selDocs := make([]api.BGPPortStatus, len(idx)), make([][]byte, len(idx))
	for j, i := range idx {
		sel[j], selDocs[j] = sts[i], docs[i]
	}
	switch e.g.output {
	case "json", "yaml":
		return e.printer().documentFunc(selDocs, len(e.args) != 1, e.bgpByName)
	case "name":
		for _, st := range sel {
			fmt.Fprintln(e.stdout, e.nameOr(st.PortName, st.Port.String()))
		}
		return nil
	}
	if routes {
		return e.bgpRouteTable(sel)
	}
	return e.bgpTable(sel)
}

// bgpTable writes one row per session (a port without peers gets one row
// of its own); ERROR is the session's last error, else the port's.
func (e *env) bgpTable(sts []api.BGPPortStatus) error {
	header := []string{"PORT", "ROUTER", "HOST", "PEER", "PEER-AS", "STATE", "UPTIME", "RECEIVED", "SENT", "ERROR"}
	var rows [][]string
	for _, st := range sts {
		port, router, host := e.nameOr(st.PortName, st.Port.String()), "", ""
		if !st.Router.IsZero() {
			router = e.nameOr(st.RouterName, st.Router.String())
		}
		if !st.Host.IsZero() {
			host = e.nameOr(st.HostName, st.Host.String())
		}
		if len(st.Peers) == 0 {
			state := "(none)"
			if st.Reported && !st.Running {
				state = "stopped"
			}
			rows = append(rows, []string{port, router, host, "", "", state, "", "", "", st.Error})
			continue
		}
		for _, p := range st.Peers {
			uptime, received, sent := "", "", ""
			if p.State != api.PeerStateUnknown {
				received, sent = strconv.FormatUint(p.Received, 10), strconv.FormatUint(p.Sent, 10)
			}
			if p.State == "established" {
				uptime = (time.Duration(p.UptimeSeconds) * time.Second).String()
			}
			rows = append(rows, []string{port, router, host, p.Peer.String(), strconv.FormatUint(uint64(p.PeerAS), 10), p.State,
				uptime, received, sent, cmp.Or(p.LastError, st.Error)})
		}
	}
	return e.printer().writeTable(header, rows)
}

// bgpRouteTable writes one row per learned route.
func (e *env) bgpRouteTable(sts []api.BGPPortStatus) error {
	var rows [][]string
	for _, st := range sts {
		for _, r := range st.Routes {
			rows = append(rows, []string{e.nameOr(st.PortName, st.Port.String()), r.Dst.String(), r.Gateway.String()})
		}
	}
	return e.printer().writeTable([]string{"PORT", "DST", "GATEWAY"}, rows)
}

// bgpByName rewrites, unless --ids, a BGP port status to name its port,
// router and host (the names the API gives beside them, which then go).
func (e *env) bgpByName(n *yaml.Node) {
	if e.g.ids || n.Kind != yaml.MappingNode {
		return
	}
	value := func(key string) *yaml.Node {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
		return nil
	}
	for _, key := range []string{"port", "router", "host"} {
		if val, name := value(key), value(key+"-name"); val != nil && name != nil {
			*val = *name
			n.Content = dropKey(n.Content, key+"-name")
		}
	}
}
