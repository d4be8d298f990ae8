package api

import (
	"github.com/hivenet/hivenet/topology"
)

// Scopes: a topology file applied with PUT /v1/topology?scope=NAME is the
// desired state of everything in scope NAME. An object is in a scope when
// its Scope field names it — the kinds a file holds at its top level have
// one — or when its owner is (a port is in its bridge's or router's scope,
// a route, BGP peer or network in its router's, a DHCP subnet in its
// bridge's, a pool in its load balancer's, a member or VIP in its pool's).
// Objects written otherwise (one at a time through the API, by agent -f)
// are in no scope until a file adopts them.

// scopedKinds are the kinds with a Scope field.
var scopedKinds = []topology.Kind{topology.KindHost, topology.KindTunnelZone, topology.KindBridge, topology.KindRouter,
	topology.KindPortGroup, topology.KindIPAddrGroup, topology.KindChain, topology.KindLoadBalancer,
	topology.KindHealthMonitor, topology.KindVTEP}

// scopeField returns a pointer to o's Scope field, or nil for kinds owned
// by another object.
func scopeField(o topology.Object) *string {
	switch v := o.(type) {
	case *topology.Host:
		return &v.Scope
	case *topology.TunnelZone:
		return &v.Scope
	case *topology.Bridge:
		return &v.Scope
	case *topology.Router:
		return &v.Scope
	case *topology.PortGroup:
		return &v.Scope
	case *topology.IPAddrGroup:
		return &v.Scope
	case *topology.Chain:
		return &v.Scope
	case *topology.LoadBalancer:
		return &v.Scope
	case *topology.HealthMonitor:
		return &v.Scope
	case *topology.VTEP:
		return &v.Scope
	}
	return nil
}

// ownerOf returns the object that owns o, if o is a part of another.
func ownerOf(o topology.Object) (topology.Kind, topology.ID, bool) {
	switch v := o.(type) {
	case *topology.Port:
		if !v.Router.IsZero() {
			return topology.KindRouter, v.Router, true
		}
		return topology.KindBridge, v.Bridge, !v.Bridge.IsZero()
	case *topology.Route:
		return topology.KindRouter, v.Router, true
	case *topology.BGPPeer:
		return topology.KindRouter, v.Router, true
	case *topology.BGPNetwork:
		return topology.KindRouter, v.Router, true
	case *topology.DHCPSubnet:
		return topology.KindBridge, v.Bridge, true
	case *topology.Pool:
		return topology.KindLoadBalancer, v.LoadBalancer, true
	case *topology.PoolMember:
		return topology.KindPool, v.Pool, true
	case *topology.VIP:
		return topology.KindPool, v.Pool, true
	}
	return 0, topology.ID{}, false
}

// objKey names an object.
type objKey struct {
	kind topology.Kind
	id   topology.ID
}

func keyOf(o topology.Object) objKey { return objKey{o.ObjectKind(), o.ObjectID()} }

// scopeOf returns the scope of o, following owners through objs.
func scopeOf(o topology.Object, objs map[objKey]topology.Object) string {
	for range 4 { // owners nest at most twice (member, pool, load balancer)
		if f := scopeField(o); f != nil {
			return *f
		}
		k, id, ok := ownerOf(o)
		if !ok {
			return ""
		}
		if o, ok = objs[objKey{k, id}]; !ok {
			return ""
		}
	}
	return ""
}
