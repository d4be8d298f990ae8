// Package api is hivenet's northbound REST API: the NSDB's topology
// objects and live state over HTTP.
//
// It lives under nsdb because that is all it is — a view of one NSDB
// (nsdb.Client), with no state of its own: any number of API servers, in
// any processes, serve the same database, and a client may send each
// request to any of them. Concurrent writers are arbitrated by the NSDB's
// versions (ETag and If-Match), not by the server. Cluster nodes mount a
// Server (it is an http.Handler) beside their other services.
//
// # Resources
//
// Under /v1/, every topology kind is a collection with the usual five
// operations: GET /v1/bridges (list), POST /v1/bridges (create), GET, PUT
// and DELETE /v1/bridges/{id}. The collections are bridges, routers,
// ports, chains, routes, port-groups, ip-addr-groups, load-balancers,
// pools, pool-members, vips, health-monitors, tunnel-zones, hosts, vteps,
// dhcp-subnets, bgp-peers and bgp-networks. {id} is an object's UUID or
// its name. Objects are JSON with the keys of topology files (see package
// topofile): a port is {"name": "vm1", "bridge": "net1", "host":
// "host-a", "interface": "tap-vm1"}; references take a name or a UUID and
// responses give UUIDs. An object created without an id gets the ID a
// topology file would give it (topology.NameID of its name), or a random
// one when it has no name. A chain's rules can also be edited one at a
// time under /v1/chains/{id}/rules.
//
// Live state: /v1/status/hosts and /v1/hosts/{id}/status (liveness),
// /v1/status/ports and /v1/ports/{id}/status (where a port is active),
// /v1/status/pool-members and /v1/pool-members/{id}/status (a member's
// health as its monitor last wrote it, and whether it takes connections),
// /v1/status/bgp (each BGP uplink port's sessions as its agent last
// reported them, and the routes its speaker learned),
// /v1/bridges/{id}/mac-table, /v1/bridges/{id}/vlans/{vlan}/mac-table,
// /v1/bridges/{id}/ip4-mac-table, and /v1/routers/{id}/arp-table (whose
// persistent entries can be added and removed), /v1/nat-leases (the NAT
// port blocks agents hold) and /v1/cluster (the cluster's nodes, their
// services and leaders, as package nsdb/cluster publishes them).
//
// Declarative topology: PUT /v1/topology?scope=NAME applies a topology
// file (package topofile's YAML) as the desired state of scope NAME — it
// creates the file's new objects, updates those that differ and deletes
// the scope's objects the file no longer has, in one transaction — and
// answers the changes, field by field; ?dry-run=true answers them without
// writing. An object is in a scope when its scope: names it (the kinds a
// file holds at its top level carry one; the apply sets it) or its owner
// is; a file may adopt objects in no scope, not another scope's, and may
// name other scopes' objects (it is validated with them). Without
// scope= the file is the desired state of every object. Ports keep the
// tunnel key their agent stored unless the file sets one. GET
// /v1/topology[?scope=] exports a scope (or everything) as a file.
//
// Change stream: GET /v1/watch[?kind=bridges,ports] answers server-sent
// events: every current object, a sync event, then each change, with the
// highest version delivered as the event id; Last-Event-ID (or ?since=)
// resumes a stream.
//
// The VxLAN gateway: POST /v1/vteps/{id}/bindings binds a port and VLAN
// of a VTEP to a bridge ({"port-name": "eth0", "vlan": 10, "bridge":
// "net1"}; the bridge gets a VNI and a VxLAN port, see package vxgw),
// DELETE /v1/vteps/{id}/bindings/{port}/{vlan} unbinds it, GET
// /v1/vteps/{id}/bindings lists them with their VNIs and ports, and GET
// /v1/vteps/{id}/status and /v1/status/vteps give the cluster node
// managing each VTEP, its OVSDB connection, the VTEP's tunnel addresses
// and its flooding proxy.
//
// The OpenAPI 3.1 description of all of it is served at /v1/openapi.json,
// generated from the same route table the server serves.
//
// # Writes
//
// A write is one NSDB transaction: it is validated whole and either
// applied or not at all. GET returns an object's version as its ETag; PUT
// and DELETE with If-Match: <etag> fail with 412 if the object changed
// since. Lists are pages in ID order: ?limit= (default
// Config.PageSize, at most MaxPageSize) and ?continue= with the token of
// the previous page.
//
// # Errors
//
// Every error is an RFC 9457 problem (application/problem+json, type
// urn:hivenet:problem:<class>) that lists every problem found, each with
// where it is (a body field path such as rules[2].nw-src and its JSON
// pointer, a query parameter, a header) and its class: 400 for malformed
// JSON, 422 for unknown fields, wrong JSON types, bad values, dangling
// references and validation problems, 409 for conflicts with stored
// objects (an existing ID, a duplicate name or interface binding, a delete
// that a reference refuses), 412 for a stale If-Match, 413 for a body over
// Config.MaxBodyBytes. Nothing is written when a request fails.
//
// # Authentication
//
// Every request but GET /v1/openapi.json carries Authorization: Bearer
// <token>, checked against a token file (LoadTokens; Kubernetes
// static-token CSV, "token,name,role"). Role admin reads and writes,
// reader only reads (403 on writes, and BGP passwords are hidden from
// it); no or an unknown token is 401. Every write is logged with the
// token's name.
//
// # Metrics
//
// hivenet_api_requests_total{route,code} and
// hivenet_api_request_duration_seconds{route}, route being the method and
// pattern ("PUT /v1/ports/{id}").
package api
