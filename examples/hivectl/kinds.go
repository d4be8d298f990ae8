package main

import (
	"fmt"
	"strings"
)

// kind is a collection of the API as hivectl shows it: its URL segment,
// its singular, and the columns of its table.
type kind struct {
	coll, one string
	named     bool
	cols      []column
}

// column is one column of a table: the header, the object's key, and,
// for references, the collection of the objects they name (shown by
// name).
type column struct {
	header, key, ref string
}

func col(header, key string) column { return column{header: header, key: key} }

func refCol(header, key, coll string) column { return column{header: header, key: key, ref: coll} }

var (
	scopeCol  = col("SCOPE", "scope")
	adminCol  = col("ADMIN-DOWN", "admin-down")
	inFilter  = refCol("INBOUND", "inbound-filter", "chains")
	outFilter = refCol("OUTBOUND", "outbound-filter", "chains")
)

// kinds are every collection the API serves.
var kinds = []kind{
	{"bridges", "bridge", true, []column{scopeCol, adminCol, inFilter, outFilter, col("VNI", "vni")}},
	{"routers", "router", true, []column{scopeCol, adminCol, inFilter, outFilter, refCol("LOAD-BALANCER", "load-balancer", "load-balancers"), col("AS", "as-number")}},
	{"ports", "port", true, []column{refCol("BRIDGE", "bridge", "bridges"), refCol("ROUTER", "router", "routers"),
		refCol("HOST", "host", "hosts"), col("INTERFACE", "interface"), refCol("PEER", "peer", "ports"), col("ADDRESS", "address"),
		col("VLAN", "vlan"), col("TUNNEL-KEY", "tunnel-key"), adminCol}},
	{"chains", "chain", true, []column{scopeCol, col("RULES", "rules")}},
	{"routes", "route", false, []column{refCol("ROUTER", "router", "routers"), col("DST", "dst"), col("SRC", "src"),
		col("NEXT-HOP", "next-hop"), refCol("PORT", "port", "ports"), col("GATEWAY", "gateway"), col("WEIGHT", "weight")}},
	{"port-groups", "port-group", true, []column{scopeCol, col("STATEFUL", "stateful")}},
	{"ip-addr-groups", "ip-addr-group", true, []column{scopeCol, col("ADDRS", "addrs")}},
	{"load-balancers", "load-balancer", true, []column{scopeCol, adminCol}},
	{"pools", "pool", true, []column{refCol("LOAD-BALANCER", "load-balancer", "load-balancers"),
		col("HEALTH-MONITOR", "health-monitor"), col("METHOD", "method"), col("PERSISTENCE", "persistence"), adminCol}},
	{"pool-members", "pool-member", false, []column{refCol("POOL", "pool", "pools"), col("ADDR", "addr"), col("PORT", "port"),
		col("WEIGHT", "weight"), col("STATUS", "status"), adminCol}},
	{"vips", "vip", false, []column{refCol("POOL", "pool", "pools"), col("ADDR", "addr"), col("PORT", "port"),
		col("PERSISTENCE", "persistence"), adminCol}},
	{"health-monitors", "health-monitor", false, []column{scopeCol, col("DELAY", "delay"), col("TIMEOUT", "timeout"),
		col("MAX-RETRIES", "max-retries"), adminCol}},
	{"tunnel-zones", "tunnel-zone", true, []column{scopeCol, col("TYPE", "type"), refCol("MEMBERS", "members", "hosts")}},
	{"hosts", "host", true, []column{scopeCol, col("FLOODING-PROXY-WEIGHT", "flooding-proxy-weight")}},
	{"vteps", "vtep", true, []column{scopeCol, col("MANAGEMENT-IP", "management-ip"), col("MANAGEMENT-PORT", "management-port"),
		refCol("TUNNEL-ZONE", "tunnel-zone", "tunnel-zones"), col("BINDINGS", "bindings")}},
	{"dhcp-subnets", "dhcp-subnet", false, []column{refCol("BRIDGE", "bridge", "bridges"), col("SUBNET", "subnet"),
		col("GATEWAY", "gateway"), col("SERVER", "server-addr"), col("HOSTS", "hosts")}},
	{"bgp-peers", "bgp-peer", false, []column{refCol("ROUTER", "router", "routers"), col("AS", "as-number"), col("ADDR", "addr")}},
	{"bgp-networks", "bgp-network", false, []column{refCol("ROUTER", "router", "routers"), col("SUBNET", "subnet")}},
}

// kindNamed finds a kind by its plural or singular name.
func kindNamed(name string) (*kind, error) {
	for i := range kinds {
		if k := &kinds[i]; name == k.coll || name == k.one {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: no kind %q (want one of %s)", errUsage, name, strings.Join(kindNames(), ", "))
}

func kindNames() []string {
	out := make([]string, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k.coll)
	}
	return out
}

// refColl returns the collection an object's key refers to, for keys
// that hold references in every kind ("" for other keys).
func refColl(k *kind, key string) string {
	if k != nil {
		for _, c := range k.cols {
			if c.key == key {
				return c.ref
			}
		}
	}
	switch key {
	case "bridge":
		return "bridges"
	case "router":
		return "routers"
	case "host":
		return "hosts"
	case "peer", "port":
		return "ports"
	case "inbound-filter", "outbound-filter", "jump":
		return "chains"
	case "port-groups", "port-group", "in-port-group", "out-port-group":
		return "port-groups"
	case "in-ports", "out-ports":
		return "ports"
	case "ip-addr-group-src", "ip-addr-group-dst":
		return "ip-addr-groups"
	case "load-balancer":
		return "load-balancers"
	case "pool":
		return "pools"
	case "tunnel-zone":
		return "tunnel-zones"
	case "vtep":
		return "vteps"
	}
	return ""
}
