package agent

import (
	"context"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// State tables are opened on demand, as the reference loads a device's
// tables when a simulation first needs them.
//
// A deployment has a MAC table per bridge and VLAN, an IPv4-MAC table per
// bridge and an ARP table per router: 17,000 in a 100,000-port one. An
// agent simulates through the few devices its local ports reach, and
// following every table cost its start one NSDB watch per table and its
// memory every table's entries.
//
// So the agent opens the tables of the devices with a port bound here and
// of the devices peered with those, with the topology (localDevices).
// Any other device's tables are opened the first time a simulation needs
// them: a simulation that reads or writes the table of a device whose
// tables are not open is not acted on. The view records the device
// (tableMisses), the packet waits in the table room, the opener opens the
// device's tables and publishes a world with them, and the packet is
// simulated again. They are closed again once no installed flow has gone
// through the device for Timeouts.TableIdle (tableidle.go).

// maxTableMisses bounds the devices one simulation records; a packet that
// needs more is postponed again once the first ones are open.
const maxTableMisses = 8

// maxTableTries bounds how often one packet is postponed for tables, so
// that a device whose tables cannot be opened does not keep a packet
// cycling.
const maxTableTries = 4

// tableRoomSize bounds the packets waiting for tables; more are dropped.
const tableRoomSize = 4096

// tableMisses lists the devices whose tables a simulation needed and the
// world did not have. It lives in a worker's view, so recording does not
// allocate; callers clear it (n = 0) before each simulation.
type tableMisses struct {
	n   int
	ids [maxTableMisses]topology.ID
}

// addTo adds the recorded devices to want.
func (m *tableMisses) addTo(want map[topology.ID]struct{}) {
	for _, id := range m.ids[:m.n] {
		want[id] = struct{}{}
	}
}

func (m *tableMisses) add(id topology.ID) {
	if slices.Contains(m.ids[:m.n], id) || m.n == len(m.ids) {
		return
	}
	m.ids[m.n] = id
	m.n++
}

// missBridge records that bridge b's tables are needed, unless they are
// open or b does not exist.
func (v *view) missBridge(b topology.ID) {
	if _, open := v.w.ip4[b]; open {
		return
	}
	if _, ok := v.w.snap.Bridge(b); ok {
		v.miss.add(b)
	}
}

// missRouter records that router r's ARP table is needed, unless it is
// open or r does not exist.
func (v *view) missRouter(r topology.ID) {
	if _, open := v.w.arp[r]; open {
		return
	}
	if _, ok := v.w.snap.Router(r); ok {
		v.miss.add(r)
	}
}

// missed reports whether the simulation that produced r needed tables
// that are not open, reading or (through r) writing them.
func (v *view) missed(r *simulation.Result) bool {
	for _, l := range r.Learned {
		if _, ok := v.w.macs[bridgeVLAN{l.Bridge, l.VLAN}]; !ok {
			v.missBridge(l.Bridge)
		}
	}
	for _, wr := range r.ARPWrites {
		v.missRouter(wr.Router)
	}
	for _, wr := range r.IP4MACWrites {
		v.missBridge(wr.Bridge)
	}
	return v.miss.n > 0
}

// tableRoom holds the packets waiting for tables and the devices whose
// tables they wait for; kick wakes the opener.
type tableRoom struct {
	mu     sync.Mutex
	want   map[topology.ID]struct{}
	parked []*parked
	kick   chan struct{}
}

// awaitTables postpones the simulation of p until the tables of the
// devices the view missed are open.
func (w *worker) awaitTables(p *parked) {
	a := w.a
	a.m.tableWaits.Inc()
	if p.tableTries >= maxTableTries {
		a.m.drop(dropTables)
		return
	}
	p.tableTries++
	room := &a.tables
	room.mu.Lock()
	if len(room.parked) >= tableRoomSize {
		room.mu.Unlock()
		a.m.drop(dropTables)
		return
	}
	if room.want == nil {
		room.want = make(map[topology.ID]struct{})
	}
	w.v.miss.addTo(room.want)
	room.parked = append(room.parked, p)
	room.mu.Unlock()
	select {
	case room.kick <- struct{}{}:
	default:
	}
}

// parkForTables postpones an ingress packet until its tables are open.
func (w *worker) parkForTables(port topology.ID, frame []byte, key *datapath.FlowKey) {
	w.awaitTables(&parked{port: port, frame: slices.Clone(frame), key: *key, tableTries: w.tries})
}

// openDemanded opens the tables the table room asks for, then hands its
// packets back to the workers, until ctx ends.
func (a *Agent) openDemanded(ctx context.Context) {
	room := &a.tables
	for {
		select {
		case <-ctx.Done():
			return
		case <-room.kick:
		}
		room.mu.Lock()
		want, ps := room.want, room.parked
		room.want, room.parked = nil, nil
		room.mu.Unlock()
		if err := a.openTables(ctx, want); err != nil {
			if ctx.Err() == nil {
				a.log.Warn("cannot open state tables", "devices", len(want), "err", err)
			}
			for range ps {
				a.m.drop(dropTables)
			}
			continue
		}
		// Blocking: a burst of new flows through one device can park
		// more packets than the workers' queue holds.
		for _, p := range ps {
			select {
			case a.resubmit <- p:
			case <-ctx.Done():
				return
			}
		}
	}
}

// openTables opens the tables of the existing devices of ids that are not
// open yet and publishes a world with them.
func (a *Agent) openTables(ctx context.Context, ids map[topology.ID]struct{}) error {
	a.worldMu.Lock()
	defer a.worldMu.Unlock()
	old := a.world.Load()
	bridges := make(map[topology.ID]bool)
	routers := make(map[topology.ID]bool)
	for id := range ids {
		if _, ok := old.snap.Bridge(id); ok {
			if _, open := old.ip4[id]; !open {
				bridges[id] = true
			}
		} else if _, ok := old.snap.Router(id); ok {
			if _, open := old.arp[id]; !open {
				routers[id] = true
			}
		}
	}
	if len(bridges)+len(routers) == 0 {
		return nil
	}
	nw := *old
	closing, err := a.syncTables(ctx, old, &nw, bridges, routers)
	if err != nil {
		return err
	}
	a.world.Store(&nw)
	for _, c := range closing {
		c()
	}
	a.log.Debug("state tables opened on demand", "bridges", len(bridges), "routers", len(routers))
	return nil
}

// localDevices adds to bridges and routers the devices whose tables the
// agent keeps open ahead of any packet: those with a port bound to this
// host and those peered with them.
func (a *Agent) localDevices(s *topology.Snapshot, bridges, routers map[topology.ID]bool) {
	add := func(p *topology.Port) {
		switch {
		case !p.Bridge.IsZero():
			bridges[p.Bridge] = true
		case !p.Router.IsZero():
			routers[p.Router] = true
		}
	}
	addPeer := func(id topology.ID) {
		if p, ok := s.Port(id); ok && !p.Peer.IsZero() {
			if q, ok := s.Port(p.Peer); ok {
				add(q)
			}
		}
	}
	for _, id := range s.HostPorts(a.host) {
		p, ok := s.Port(id)
		if !ok {
			continue
		}
		add(p)
		switch {
		case !p.Bridge.IsZero():
			// Only the ports peered with routers: a bridge has thousands
			// of exterior ports.
			if bv, ok := s.BridgeView(p.Bridge); ok {
				for _, q := range bv.RouterPorts {
					addPeer(q)
				}
			}
		case !p.Router.IsZero():
			if rv, ok := s.RouterView(p.Router); ok {
				for _, q := range rv.Ports {
					addPeer(q)
				}
			}
		}
	}
}

// tablesOpen counts the state tables the agent follows.
func (a *Agent) tablesOpen() float64 {
	w := a.world.Load()
	return float64(len(w.macs) + len(w.ip4) + len(w.arp))
}

// registerTablesOpen registers the gauge of the open state tables (reg
// nil: none).
func registerTablesOpen(reg prometheus.Registerer, n func() float64) error {
	if reg == nil {
		return nil
	}
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hivenet_agent_state_tables_open",
		Help: "State tables (MAC per bridge and VLAN, IPv4-MAC per bridge, ARP per router) the agent follows: those of the devices its local ports reach directly, and of the devices its simulations have needed since.",
	}, n))
}
