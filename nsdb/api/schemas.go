package api

import "github.com/hivenet/hivenet/topology"

// JSON Schemas of the objects, in the vocabulary of topology files
// (package topofile reads and writes them). A test checks that each
// object's properties are exactly the keys topofile.ObjectKeys lists.

func str(desc string) schema { return schema{"type": "string", "description": desc} }

func flag(desc string) schema { return schema{"type": "boolean", "description": desc} }

func uintN(bits int, desc string) schema {
	return schema{"type": "integer", "minimum": 0, "maximum": uint64(1)<<bits - 1, "description": desc}
}

func enum(desc string, vals ...string) schema {
	return schema{"type": "string", "enum": vals, "description": desc}
}

func array(items schema, desc string) schema {
	return schema{"type": "array", "items": items, "description": desc}
}

// ref is a reference to another object: its name or UUID in requests,
// its UUID in responses.
func ref(k topology.Kind) schema {
	return str("a " + noun(k) + ": name or UUID (responses give the UUID)")
}

var (
	uuidSchema = schema{"type": "string", "format": "uuid",
		"description": "the object's UUID; optional when creating (derived from the name, else random)"}
	nameSchema  = str("the object's name, unique among objects of its kind")
	addrSchema  = str("an IP address")
	prefixStr   = str("a prefix a.b.c.d/n (a bare address is a host prefix)")
	adminDown   = flag("administratively down")
	numOrString = schema{"type": []string{"integer", "string"}}
)

// object is the schema of an object with the given properties.
func object(desc string, props schema, required ...string) schema {
	s := schema{"type": "object", "additionalProperties": false, "description": desc, "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func portSchema() schema {
	return object("A bridge port (bridge:, may take vlan and vtep) or a router port (router:, may take address, subnets and mac); "+
		"exterior when bound to a host interface (host and interface), interior when peered.", schema{
		"id": uuidSchema, "name": nameSchema,
		"bridge": ref(topology.KindBridge), "router": ref(topology.KindRouter),
		"admin-down": adminDown, "inbound-filter": ref(topology.KindChain), "outbound-filter": ref(topology.KindChain),
		"tunnel-key": uintN(32, "legacy overlay tunnel key"), "peer": ref(topology.KindPort),
		"host": ref(topology.KindHost), "interface": str("the host interface the port is bound to"),
		"port-groups":       array(ref(topology.KindPortGroup), "port groups the port belongs to"),
		"service-container": flag("port of a service container"),
		"vlan":              uintN(16, "VLAN id of an interior port of a VLAN-aware bridge"),
		"vtep":              ref(topology.KindVTEP),
		"address":           str("router port address: a.b.c.d/n also sets the first subnet"),
		"subnets":           array(prefixStr, "further subnets of a router port"),
		"mac":               str("router port MAC (default derived from the port ID)"),
		"mtu":               uintN(16, "router port MTU: larger routed packets are dropped, with ICMP fragmentation-needed when DF is set (0: none)"),
	})
}

func ruleSchema() schema {
	props := schema{
		"id":         schema{"type": "string", "format": "uuid", "description": "the rule's UUID"},
		"action":     enum("what the rule does", "accept", "continue", "drop", "jump", "reject", "return"),
		"jump":       ref(topology.KindChain),
		"snat":       natTargets("source NAT"),
		"dnat":       natTargets("destination NAT"),
		"rev-snat":   schema{"oneOf": []schema{{"const": true}, natTargets("")}, "description": "reverse source NAT"},
		"rev-dnat":   schema{"oneOf": []schema{{"const": true}, natTargets("")}, "description": "reverse destination NAT"},
		"masquerade": schema{"type": []string{"boolean", "integer", "string"}, "description": "true, or the port range (20000-29999)"},
	}
	cond := func(name string, s schema, invertible bool) {
		props[name] = s
		if invertible {
			props["not-"+name] = s
		}
	}
	for _, n := range []string{"match-forward-flow", "match-return-flow", "conjunction-invert"} {
		cond(n, flag(""), false)
	}
	for _, n := range []string{"in-ports", "out-ports"} {
		cond(n, array(ref(topology.KindPort), ""), true)
	}
	for _, n := range []string{"port-group", "in-port-group", "out-port-group"} {
		cond(n, ref(topology.KindPortGroup), true)
	}
	for _, n := range []string{"ip-addr-group-src", "ip-addr-group-dst"} {
		cond(n, ref(topology.KindIPAddrGroup), true)
	}
	cond("traversed-device", str("a bridge or router: name or UUID"), true)
	cond("ether-type", withDesc(numOrString, "ipv4, arp, ipv6 or a number"), true)
	cond("nw-proto", withDesc(numOrString, "tcp, udp, icmp or a number"), true)
	cond("tp-src", withDesc(numOrString, "a port or a range a-b"), true)
	cond("tp-dst", withDesc(numOrString, "a port or a range a-b"), true)
	for _, n := range []string{"eth-src", "eth-dst"} {
		cond(n, str("a MAC, or MAC/mask"), true)
	}
	for _, n := range []string{"nw-src", "nw-dst", "icmp-data-src", "icmp-data-dst"} {
		cond(n, prefixStr, true)
	}
	cond("no-vlan", flag(""), true)
	cond("nw-dst-rewritten", flag(""), true)
	cond("vlan", uintN(16, ""), true)
	cond("nw-tos", uintN(8, ""), true)
	cond("fragment-policy", enum("", "any", "header", "nonheader", "unfragmented"), false)
	return object("A rule of a chain: a literal rule (action), a jump rule (jump) or a NAT rule (snat, dnat, rev-snat, rev-dnat, masquerade); "+
		"the other keys are its condition, not- inverting a field.", props)
}

func withDesc(s schema, desc string) schema {
	c := schema{"description": desc}
	for k, v := range s {
		c[k] = v
	}
	return c
}

func natTargets(desc string) schema {
	t := str("a.b.c.d[-a.b.c.d][:port[-port]]")
	return schema{"oneOf": []schema{t, array(t, "")}, "description": desc}
}

// kindSchemas returns the schema of every topology kind, by component
// name.
func kindSchemas() map[topology.Kind]schema {
	u32 := func(d string) schema { return uintN(32, d) }
	chain := ref(topology.KindChain)
	return map[topology.Kind]schema{
		topology.KindHost: object("A machine running an agent.", schema{"id": uuidSchema, "name": nameSchema,
			"flooding-proxy-weight": u32("weight as VTEP flooding proxy (default 1; 0 excludes)")}),
		topology.KindTunnelZone: object("Hosts that tunnel to each other, with their underlay addresses.", schema{
			"id": uuidSchema, "name": nameSchema, "type": enum("encapsulation", "vxlan", "gre", "vtep"),
			"members": schema{"type": "object", "additionalProperties": addrSchema,
				"description": "host (name or UUID) to its underlay address"}}),
		topology.KindBridge: object("A virtual L2 switch.", schema{"id": uuidSchema, "name": nameSchema, "admin-down": adminDown,
			"inbound-filter": chain, "outbound-filter": chain, "vni": u32("VXLAN id for VTEP bindings (>= 10000)"),
			"tunnel-key": u32("legacy overlay tunnel key")}),
		topology.KindRouter: object("A virtual IPv4 router.", schema{"id": uuidSchema, "name": nameSchema, "admin-down": adminDown,
			"inbound-filter": chain, "outbound-filter": chain, "load-balancer": ref(topology.KindLoadBalancer),
			"as-number": u32("BGP AS number")}),
		topology.KindPort: portSchema(),
		topology.KindChain: object("An ordered list of rules.", schema{"id": uuidSchema, "name": nameSchema,
			"rules": array(schemaRef("Rule"), "the rules, in order")}),
		topology.KindRoute: object("A route of a router: a next-hop port (with a gateway) or a next-hop action.", schema{
			"id": uuidSchema, "router": ref(topology.KindRouter), "dst": prefixStr, "src": prefixStr,
			"next-hop": enum("port (default with port), blackhole, reject or local", "port", "blackhole", "reject", "local"),
			"port":     ref(topology.KindPort), "gateway": addrSchema, "weight": u32("lower wins among equal prefixes")}, "router"),
		topology.KindPortGroup: object("A named set of ports.", schema{"id": uuidSchema, "name": nameSchema,
			"stateful": flag("members share flow state")}),
		topology.KindIPAddrGroup: object("A named set of addresses.", schema{"id": uuidSchema, "name": nameSchema,
			"addrs": array(addrSchema, "")}),
		topology.KindLoadBalancer: object("An L4 load balancer (a router names it).", schema{"id": uuidSchema, "name": nameSchema,
			"admin-down": adminDown}),
		topology.KindPool: object("Backends behind VIPs.", schema{"id": uuidSchema, "name": nameSchema,
			"load-balancer": ref(topology.KindLoadBalancer), "admin-down": adminDown,
			"health-monitor": ref(topology.KindHealthMonitor), "method": enum("", "round-robin"),
			"persistence": enum("", "none", "source-ip")}, "load-balancer"),
		topology.KindPoolMember: object("A backend of a pool.", schema{"id": uuidSchema, "pool": ref(topology.KindPool),
			"addr": addrSchema, "port": uintN(16, ""), "weight": u32("share of new connections (default 1)"),
			"status": enum("", "active", "inactive", "monitored"), "admin-down": adminDown}, "pool"),
		topology.KindVIP: object("A virtual address and TCP port of a pool.", schema{"id": uuidSchema, "pool": ref(topology.KindPool),
			"addr": addrSchema, "port": uintN(16, ""), "persistence": enum("", "none", "source-ip"), "admin-down": adminDown}, "pool"),
		topology.KindHealthMonitor: object("Probes pool members.", schema{"id": uuidSchema, "admin-down": adminDown,
			"delay": u32("seconds"), "timeout": u32("seconds"), "max-retries": u32("")}),
		topology.KindVTEP: object("A hardware VTEP and its port bindings.", schema{"id": uuidSchema, "name": nameSchema,
			"management-ip": addrSchema, "management-port": uintN(16, ""), "tunnel-zone": ref(topology.KindTunnelZone),
			"bindings": array(object("", schema{"port-name": str("physical port"), "vlan": uintN(16, ""),
				"bridge": ref(topology.KindBridge)}), "")}),
		topology.KindDHCPSubnet: object("DHCP served on a bridge.", schema{"id": uuidSchema, "bridge": ref(topology.KindBridge),
			"subnet": prefixStr, "server-addr": addrSchema, "gateway": addrSchema, "dns-servers": array(addrSchema, ""),
			"mtu":    uintN(16, "interface MTU option (0: the agent's)"),
			"routes": array(object("", schema{"dst": prefixStr, "gateway": addrSchema}), "classless static routes"),
			"hosts": array(object("", schema{"mac": str("MAC"), "addr": addrSchema, "name": str("host name"),
				"options": array(object("", schema{"code": uintN(8, "DHCP option code (1-254)"), "value": str("the value as text"),
					"hex": str("the value as hexadecimal bytes")}), "extra DHCP options for this host")}), "static assignments"),
			"disabled": flag("")}, "bridge"),
		topology.KindBGPPeer: object("A BGP neighbour of a router.", schema{"id": uuidSchema, "router": ref(topology.KindRouter),
			"as-number": u32(""), "addr": addrSchema, "keep-alive": u32("seconds"), "hold-time": u32("seconds"),
			"connect-retry": u32("seconds"), "password": str("TCP MD5 password (shown to admin tokens only)")}, "router"),
		topology.KindBGPNetwork: object("A prefix a router announces.", schema{"id": uuidSchema, "router": ref(topology.KindRouter),
			"subnet": prefixStr}, "router"),
	}
}

// componentSchemas returns every component schema.
func componentSchemas() schema {
	all := schema{"Rule": ruleSchema()}
	ks := kindSchemas()
	for _, k := range scopedKinds {
		ks[k]["properties"].(schema)["scope"] = schema{"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$",
			"description": "the scope of the topology file it was applied from (PUT /v1/topology?scope=); its parts (ports, routes, ...) are in it too"}
	}
	for _, c := range collections {
		all[c.schema] = ks[c.kind]
	}
	problemError := object("One problem of a request.", schema{
		"in":    enum("where the problem is; absent for problems with other stored objects", "body", "query", "path", "header"),
		"field": str("the field path (rules[2].nw-src), query parameter or header"), "pointer": str("RFC 6901 pointer into the body"),
		"object": str("another object the problem concerns"), "class": str("what is wrong"), "detail": str("")}, "class", "detail")
	all["ProblemError"] = problemError
	all["Problem"] = object("An RFC 9457 problem detail.", schema{
		"type": str("urn:hivenet:problem:<class>"), "title": str(""), "status": schema{"type": "integer"},
		"detail": str(""), "instance": str("the request path"), "errors": array(schemaRef("ProblemError"), "every problem found")},
		"type", "title", "status")
	for name, s := range stateSchemas() {
		all[name] = s
	}
	for name, s := range flowStateKeySchemas() {
		all[name] = s
	}
	for name, s := range clusterSchemas() {
		all[name] = s
	}
	for name, s := range traceSchemas() {
		all[name] = s
	}
	for name, s := range applySchemas() {
		all[name] = s
	}
	for name, s := range watchSchemas() {
		all[name] = s
	}
	for name, s := range vtepSchemas() {
		all[name] = s
	}
	for name, s := range bgpStatusSchemas() {
		all[name] = s
	}
	return all
}
