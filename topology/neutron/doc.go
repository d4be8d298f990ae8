// Package neutron is the OpenStack Neutron model and its translation to
// hivenet's native topology: how a cloud controller drives hivenet without
// learning its device model.
//
// The model holds networks, subnets, ports, routers (with their external
// gateway and extra routes), floating IPs, security groups and their rules,
// each with the fields Neutron's API gives it; router interfaces are ports
// owned by a router, as in Neutron. [Model]'s methods change it the way
// Neutron's API does — allocating MACs and fixed IPs, creating a project's
// default security group, refusing to delete what is in use — and fail with
// an [*Error] naming Neutron's exception ("NetworkNotFound", "SubnetInUse").
//
// [Translate] maps a whole model to native objects, as the reference
// system's translators did:
//
//   - a network is a bridge with the network's ID; a subnet a DHCP subnet
//     (gateway, DNS servers, host routes, one host entry per fixed IP);
//   - a VM port is a bridge port bound to its host's interface, with an
//     inbound chain (traffic from the VM: anti-spoofing of its MAC, fixed
//     IPs and allowed address pairs, return flows accepted, jumps to its
//     security groups' egress chains, ARP accepted, the rest dropped) and an
//     outbound chain (toward the VM: return flows, its groups' ingress
//     chains, ARP, drop); its addresses join its groups' IP address groups,
//     and its MAC and addresses seed the bridge's MAC and IPv4-MAC tables;
//   - a security group is an ingress and an egress chain and an IP address
//     group; each IPv4 rule an accept rule (plus one for later fragments of
//     L4 rules);
//   - a router is a router with a pre-routing and a post-routing chain; an
//     interface a router port peered with the interface port's bridge port;
//     the external gateway a router port on the external network with the
//     default route through the external subnet's gateway, dynamic SNAT of
//     forward flows leaving by it and reverse SNAT of their replies;
//   - a floating IP is a static DNAT (pre-routing) and static SNAT
//     (post-routing) of its router, and an IPv4-MAC entry on the external
//     network mapping the floating IP to the router's gateway port;
//   - the provider-router convention: when the deployment has a provider
//     router ([Env.ProviderRouter]), every subnet of an external network
//     with a gateway IP gets a port of the provider router with that address,
//     peered with a port of the network's bridge, so traffic leaving by an
//     external network reaches the provider router's uplinks, and the
//     provider router reaches routers' gateways and floating IPs.
//
// Translation is a pure function of the model (and of [Env], what it needs
// of the native world: the provider router and the hosts ports are bound
// to), so a store writes a change as the [Diff] between the translations
// before and after it, in the same transaction as the Neutron objects:
// updates re-translate, and deleting every Neutron object deletes every
// object the translation made.
//
// # Why it lives here
//
// It imports only package topology: a controller, a test or a tool
// translates a model without a store, an API or a network, and the store
// and the REST API (nsdb/neutronstore, nsdb/api/neutronapi) build on it.
// IPv6 subnets, rules and address pairs are outside hivenet's IPv4 model and
// are refused or left untranslated.
package neutron
