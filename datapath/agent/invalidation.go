package agent

import (
	"context"
	"errors"
	"reflect"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/dhcp"
	"github.com/hivenet/hivenet/topology"
	"golang.org/x/sync/errgroup"
)

// applyTopology folds a batch of topology events into a new world: a new
// snapshot, the state tables of new devices, the local port bindings and
// the tunnel routes; it publishes it, then invalidates the flows the
// changes affect.
func (a *Agent) applyTopology(ctx context.Context, evs []nsdb.Event, initial bool) error {
	a.worldMu.Lock()
	defer a.worldMu.Unlock()
	old := a.world.Load()
	changes := make([]topology.Change, 0, len(evs))
	for _, e := range evs {
		if e.Deleted() {
			changes = append(changes, topology.Delete(e.Kind, e.ID))
		} else if a.adopt {
			changes = append(changes, topology.Adopt(e.Object))
		} else {
			changes = append(changes, topology.Put(e.Object))
		}
	}
	snap := old.snap.Apply(changes...)
	nw := &world{snap: snap, vxlan: old.vxlan, gre: old.gre, hasGRE: old.hasGRE, vtep: old.vtep, hasVTEP: old.hasVTEP}
	nw.vtepPorts, nw.vtepIn = vtepPorts(snap, a.host)
	bridges, routers := a.tableDevices(old, nw, evs)
	closing, err := a.syncTables(ctx, old, nw, bridges, routers)
	if err != nil {
		return err
	}
	a.bindMu.Lock()
	added, removed, err := a.syncBindings(ctx, old, nw, initial)
	if err != nil {
		a.bindMu.Unlock()
		return err
	}
	nw.admit = admitted(snap, a.host, nw.vxlan, nw.gre, nw.hasGRE)
	nw.routes = hostRoutes(snap, a.host, nw.vxlan, nw.gre, nw.hasGRE)
	nw.dhcp = old.dhcp
	if initial || old.dhcp == nil || touches(evs, topology.KindDHCPSubnet) {
		nw.dhcp = dhcp.NewTable(snap)
	}
	a.updateTunnelMTU(snap)
	if len(added) > 0 {
		// Before the workers see the new ports and before they are
		// announced: their connections' state first.
		ports := make([]topology.ID, len(added))
		for i, b := range added {
			ports[i] = b.port
		}
		a.restorePorts(ctx, nw, ports, initial)
	}
	a.world.Store(nw)
	// A round trip each: a host binding a hundred ports at start
	// announces them 16 at a time.
	var ann errgroup.Group
	ann.SetLimit(16)
	for _, b := range added {
		ann.Go(func() error { a.announce(ctx, b); return nil })
	}
	_ = ann.Wait()
	a.keepKeys(snap)
	a.bindMu.Unlock()

	var tags []simulation.Tag
	if !initial {
		tags = a.diffTags(old.snap, snap, evs)
	}
	for _, b := range removed {
		tags = append(tags, simulation.TagDPPort(uint32(b.dp)), simulation.TagTunnelKey(b.key))
	}
	for h, r := range old.routes {
		if nr, ok := nw.routes[h]; !ok || nr != r {
			tags = append(tags, simulation.TagTunnelRoute(r.src, r.dst))
		}
	}
	tags = append(tags, admissionTags(old.admit, nw.admit)...)
	for p, vp := range old.vtepPorts {
		if np, ok := nw.vtepPorts[p]; !ok || np != vp {
			tags = append(tags, simulation.TagDevice(p))
		}
	}
	for p := range nw.vtepPorts {
		if _, ok := old.vtepPorts[p]; !ok {
			tags = append(tags, simulation.TagDevice(p))
		}
	}
	a.invalidate(ctx, tags...)
	for _, b := range removed {
		if b.state != "" {
			err := a.db.StateKeys().Remove(ctx, nsdb.KeyPortActive(), b.port, b.state)
			if err != nil && !errors.Is(err, nsdb.ErrNotFound) && !errors.Is(err, nsdb.ErrNotOwner) && ctx.Err() == nil {
				a.log.Warn("cannot withdraw port active state", namedIn(old.snap, "port", topology.KindPort, b.port), "err", err)
			}
		}
		if err := a.dp.DeletePort(ctx, b.dp); err != nil && !errors.Is(err, datapath.ErrNotFound) {
			a.log.Warn("cannot delete datapath port", "interface", b.ifc, "err", err)
		}
		a.log.Info("port unbound", namedIn(old.snap, "port", topology.KindPort, b.port), "interface", b.ifc)
	}
	for _, c := range closing {
		c()
	}
	var rev nsdb.Version
	for _, e := range evs {
		rev = max(rev, e.Version)
	}
	if uint64(rev) > a.applied.Load() {
		a.applied.Store(uint64(rev))
	}
	return nil
}

// diffTags returns the invalidation tags of a topology change: the
// devices, routes, port links and exterior port sets it touched.
func (a *Agent) diffTags(old, cur *topology.Snapshot, evs []nsdb.Event) []simulation.Tag {
	var tags []simulation.Tag
	for _, e := range evs {
		if e.Kind == topology.KindPort && onlyTunnelKey(old, cur, e.ID) {
			// An agent keeping a port's tunnel key in the NSDB changes
			// nothing any simulation read.
			continue
		}
		tags = append(tags, simulation.TagDevice(e.ID))
		switch e.Kind {
		case topology.KindRoute:
			tags = append(tags, simulation.TagRoute(e.ID))
			if r, ok := cur.Route(e.ID); ok {
				tags = append(tags, a.flows.routerDsts(r.Router, r.Dst)...)
			}
		case topology.KindPort:
			op, _ := old.Port(e.ID)
			np, _ := cur.Port(e.ID)
			tags = portTags(tags, old, cur, e.ID, op, np)
		case topology.KindDHCPSubnet:
			// Whether a bridge serves DHCP decides what the flows from
			// its exterior ports match (see checkDHCP).
			for _, s := range []*topology.Snapshot{old, cur} {
				if d, ok := s.DHCPSubnet(e.ID); ok {
					tags = append(tags, simulation.TagDevice(d.Bridge))
				}
			}
		}
	}
	return tags
}

func portTags(tags []simulation.Tag, old, cur *topology.Snapshot, id topology.ID, op, np *topology.Port) []simulation.Tag {
	for _, p := range []*topology.Port{op, np} {
		if p != nil && p.IsRouterPort() {
			// Implicit routes and publishing depend on the router's ports.
			tags = append(tags, simulation.TagDevice(p.Router))
		}
	}
	var oe, ne bool
	var ob, nb, oPeer, nPeer topology.ID
	if op != nil && !op.IsRouterPort() {
		oe, ob, oPeer = op.Kind() == topology.PortExterior, op.Bridge, op.Peer
	}
	if np != nil && !np.IsRouterPort() {
		ne, nb, nPeer = np.Kind() == topology.PortExterior, np.Bridge, np.Peer
	}
	if oe != ne || ob != nb {
		if oe {
			tags = append(tags, simulation.TagBroadcast(ob))
		}
		if ne {
			tags = append(tags, simulation.TagBroadcast(nb))
		}
	}
	if oPeer != nPeer || ob != nb {
		if !oPeer.IsZero() {
			tags = append(tags, simulation.TagBridgePort(ob, id))
		}
		if !nPeer.IsZero() {
			if rp, ok := cur.Port(nPeer); ok && rp.IsRouterPort() {
				tags = append(tags, simulation.TagARPRequests(nb), simulation.TagFloodedTo(nb, 0, rp.MAC))
			}
		}
	}
	return tags
}

// tableKeys lists the state tables a snapshot's device needs.
func macVLANs(s *topology.Snapshot, bridge topology.ID) []uint16 {
	bv, ok := s.BridgeView(bridge)
	if !ok {
		return nil
	}
	vlans := []uint16{0}
	for v := range bv.VLANPorts {
		vlans = append(vlans, v)
	}
	return vlans
}

// onlyTunnelKey reports whether port id differs between old and cur in its
// TunnelKey alone.
func onlyTunnelKey(old, cur *topology.Snapshot, id topology.ID) bool {
	op, ok1 := old.Port(id)
	np, ok2 := cur.Port(id)
	if !ok1 || !ok2 || op.TunnelKey == np.TunnelKey {
		return false
	}
	cp := *op
	cp.TunnelKey = np.TunnelKey
	return reflect.DeepEqual(&cp, np)
}

// touches reports whether evs change an object of kind k.
func touches(evs []nsdb.Event, k topology.Kind) bool {
	for _, e := range evs {
		if e.Kind == k {
			return true
		}
	}
	return false
}
