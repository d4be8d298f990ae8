// Package neutronapi serves OpenStack's Networking API (Neutron v2.0) over
// hivenet: networks, subnets, ports, routers with add_router_interface and
// remove_router_interface, floating IPs, security groups and their rules,
// with Neutron's JSON shapes, list filters (?name=, ?network_id=,
// ?fixed_ips=ip_address=...), ?fields= and error bodies
// ({"NeutronError": {"type": ..., "message": ..., "detail": ""}}), so that
// Neutron clients — the openstack command, openstacksdk, a cloud
// controller — drive a hivenet deployment.
//
// It also serves the minimal Keystone v3 those clients ask first: version
// discovery and token issue (POST /v3/auth/tokens, by the "token" method
// or by the "password" method with the token as the password), answering
// the token in X-Subject-Token with a catalog that names this server as
// the network endpoint. Tokens are the native API's (api.Tokens): admin
// tokens read and write, reader tokens only read; requests present them in
// X-Auth-Token, as OpenStack clients do, or as a bearer token. Each token
// name is a project.
//
// Every write is one neutronstore.Store.Update: the Neutron objects and
// their translation to native objects in one NSDB transaction.
//
// # Why it lives here
//
// It is a REST API of the NSDB, beside package nsdb/api (the native /v1/
// API), which a cluster node mounts on the same listener (Server.Register);
// it builds on nsdb/neutronstore and topology/neutron.
package neutronapi
