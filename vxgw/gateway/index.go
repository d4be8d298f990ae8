package gateway

import (
	"net/netip"
	"strings"
	"sync"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw/ovsdb"
	"github.com/hivenet/hivenet/vxgw/ovsdb/vtep"
)

// switchPrefix starts the names of the Logical_Switch rows the gateway
// owns: one per bound bridge, "hivenet-<bridge uuid>". Switches with other
// names belong to someone else and are left alone.
const switchPrefix = "hivenet-"

func switchName(bridge topology.ID) string { return switchPrefix + bridge.String() }

// bridgeOfSwitch returns the bridge of a switch the gateway owns.
func bridgeOfSwitch(name string) (topology.ID, bool) {
	s, ok := strings.CutPrefix(name, switchPrefix)
	if !ok {
		return topology.ID{}, false
	}
	id, err := topology.ParseID(s)
	return id, err == nil
}

// monitored are the tables and columns the gateway replicates.
var monitored = map[string]ovsdb.MonitorRequest{
	vtep.TablePhysicalSwitch:     {Columns: []string{"name", "tunnel_ips", "ports"}},
	vtep.TablePhysicalPort:       {Columns: []string{"name", "vlan_bindings"}},
	vtep.TableLogicalSwitch:      {Columns: []string{"name", "tunnel_key"}},
	vtep.TableUcastMacsLocal:     {Columns: []string{"MAC", "logical_switch", "locator", "ipaddr"}},
	vtep.TableUcastMacsRemote:    {Columns: []string{"MAC", "logical_switch", "locator", "ipaddr"}},
	vtep.TableMcastMacsLocal:     {Columns: []string{"MAC", "logical_switch", "locator_set"}},
	vtep.TableMcastMacsRemote:    {Columns: []string{"MAC", "logical_switch", "locator_set"}},
	vtep.TablePhysicalLocator:    {Columns: []string{"encapsulation_type", "dst_ip", "tunnel_key"}},
	vtep.TablePhysicalLocatorSet: {Columns: []string{"locators"}},
}

// byLS holds the rows of one of the MAC tables, by UUID and by logical
// switch.
type byLS[T any] struct {
	rows map[ovsdb.UUID]T
	ls   map[ovsdb.UUID]map[ovsdb.UUID]struct{}
}

func newByLS[T any]() byLS[T] {
	return byLS[T]{rows: map[ovsdb.UUID]T{}, ls: map[ovsdb.UUID]map[ovsdb.UUID]struct{}{}}
}

func (b *byLS[T]) put(u, ls ovsdb.UUID, row T) {
	b.rows[u] = row
	m := b.ls[ls]
	if m == nil {
		m = map[ovsdb.UUID]struct{}{}
		b.ls[ls] = m
	}
	m[u] = struct{}{}
}

func (b *byLS[T]) del(u, ls ovsdb.UUID) {
	delete(b.rows, u)
	if m := b.ls[ls]; m != nil {
		delete(m, u)
		if len(m) == 0 {
			delete(b.ls, ls)
		}
	}
}

// index is the gateway's typed replica of one VTEP's database, kept up to
// date by the monitor's updates (the client replaces them with a full
// resync after every reconnection). The syncer reads it under mu.
type index struct {
	mu sync.Mutex
	// seq counts the updates applied; rowSeq is the update that last
	// wrote each present row (the syncer waits on them for its own
	// writes to show).
	seq    uint64
	rowSeq map[ovsdb.UUID]uint64
	// bad counts rows that did not parse (ignored).
	bad int

	physSwitches map[ovsdb.UUID]vtep.PhysicalSwitch
	physPorts    map[ovsdb.UUID]vtep.PhysicalPort
	switches     map[ovsdb.UUID]vtep.LogicalSwitch
	switchByName map[string]ovsdb.UUID
	ucastLocal   byLS[vtep.UcastMac]
	ucastRemote  byLS[vtep.UcastMac]
	mcastLocal   byLS[vtep.McastMac]
	mcastRemote  byLS[vtep.McastMac]
	locators     map[ovsdb.UUID]vtep.PhysicalLocator
	locatorByIP  map[netip.Addr]ovsdb.UUID // VXLAN locators without a tunnel key
	locatorSets  map[ovsdb.UUID]vtep.PhysicalLocatorSet

	// kick tells the syncer that the index changed.
	kick func()
}

func newIndex(kick func()) *index {
	return &index{
		rowSeq: map[ovsdb.UUID]uint64{}, physSwitches: map[ovsdb.UUID]vtep.PhysicalSwitch{},
		physPorts: map[ovsdb.UUID]vtep.PhysicalPort{}, switches: map[ovsdb.UUID]vtep.LogicalSwitch{},
		switchByName: map[string]ovsdb.UUID{}, ucastLocal: newByLS[vtep.UcastMac](),
		ucastRemote: newByLS[vtep.UcastMac](), mcastLocal: newByLS[vtep.McastMac](),
		mcastRemote: newByLS[vtep.McastMac](), locators: map[ovsdb.UUID]vtep.PhysicalLocator{},
		locatorByIP: map[netip.Addr]ovsdb.UUID{}, locatorSets: map[ovsdb.UUID]vtep.PhysicalLocatorSet{},
		kick: kick,
	}
}

// apply is the monitor's UpdateHandler.
func (x *index) apply(u ovsdb.Updates) {
	x.mu.Lock()
	x.seq++
	for table, rows := range u.Tables {
		for id, ru := range rows {
			if ru.Old != nil {
				x.remove(table, id, ru.Old)
			}
			if ru.New != nil {
				if err := x.insert(table, id, ru.New); err != nil {
					x.bad++
					delete(x.rowSeq, id)
					continue
				}
				x.rowSeq[id] = x.seq
			} else {
				delete(x.rowSeq, id)
			}
		}
	}
	x.mu.Unlock()
	x.kick()
}

// remove forgets the old version of a row.
func (x *index) remove(table string, id ovsdb.UUID, old ovsdb.Row) {
	switch table {
	case vtep.TablePhysicalSwitch:
		delete(x.physSwitches, id)
	case vtep.TablePhysicalPort:
		delete(x.physPorts, id)
	case vtep.TableLogicalSwitch:
		if ls, ok := x.switches[id]; ok && x.switchByName[ls.Name] == id {
			delete(x.switchByName, ls.Name)
		}
		delete(x.switches, id)
	case vtep.TableUcastMacsLocal:
		if m, ok := x.ucastLocal.rows[id]; ok {
			x.ucastLocal.del(id, m.LogicalSwitch)
		}
	case vtep.TableUcastMacsRemote:
		if m, ok := x.ucastRemote.rows[id]; ok {
			x.ucastRemote.del(id, m.LogicalSwitch)
		}
	case vtep.TableMcastMacsLocal:
		if m, ok := x.mcastLocal.rows[id]; ok {
			x.mcastLocal.del(id, m.LogicalSwitch)
		}
	case vtep.TableMcastMacsRemote:
		if m, ok := x.mcastRemote.rows[id]; ok {
			x.mcastRemote.del(id, m.LogicalSwitch)
		}
	case vtep.TablePhysicalLocator:
		if l, ok := x.locators[id]; ok && x.locatorByIP[l.DstIP] == id {
			delete(x.locatorByIP, l.DstIP)
		}
		delete(x.locators, id)
	case vtep.TablePhysicalLocatorSet:
		delete(x.locatorSets, id)
	}
}

// insert records the new version of a row.
func (x *index) insert(table string, id ovsdb.UUID, r ovsdb.Row) error {
	switch table {
	case vtep.TablePhysicalSwitch:
		s, err := vtep.ParsePhysicalSwitch(id, r)
		if err != nil {
			return err
		}
		x.physSwitches[id] = s
	case vtep.TablePhysicalPort:
		p, err := vtep.ParsePhysicalPort(id, r)
		if err != nil {
			return err
		}
		x.physPorts[id] = p
	case vtep.TableLogicalSwitch:
		ls, err := vtep.ParseLogicalSwitch(id, r)
		if err != nil {
			return err
		}
		x.switches[id] = ls
		x.switchByName[ls.Name] = id
	case vtep.TableUcastMacsLocal, vtep.TableUcastMacsRemote:
		m, err := vtep.ParseUcastMac(id, r)
		if err != nil {
			return err
		}
		if table == vtep.TableUcastMacsLocal {
			x.ucastLocal.put(id, m.LogicalSwitch, m)
		} else {
			x.ucastRemote.put(id, m.LogicalSwitch, m)
		}
	case vtep.TableMcastMacsLocal, vtep.TableMcastMacsRemote:
		m, err := vtep.ParseMcastMac(id, r)
		if err != nil {
			return err
		}
		if table == vtep.TableMcastMacsLocal {
			x.mcastLocal.put(id, m.LogicalSwitch, m)
		} else {
			x.mcastRemote.put(id, m.LogicalSwitch, m)
		}
	case vtep.TablePhysicalLocator:
		l, err := vtep.ParsePhysicalLocator(id, r)
		if err != nil {
			return err
		}
		x.locators[id] = l
		if !l.HasTunnelKey && l.DstIP.IsValid() {
			x.locatorByIP[l.DstIP] = id
		}
	case vtep.TablePhysicalLocatorSet:
		s, err := vtep.ParsePhysicalLocatorSet(id, r)
		if err != nil {
			return err
		}
		x.locatorSets[id] = s
	}
	return nil
}

// physicalSwitch returns the VTEP's Physical_Switch: the only one, or the
// one named name.
func (x *index) physicalSwitch(name string) (vtep.PhysicalSwitch, bool) {
	if len(x.physSwitches) == 1 {
		for _, s := range x.physSwitches {
			return s, true
		}
	}
	for _, s := range x.physSwitches {
		if s.Name == name {
			return s, true
		}
	}
	return vtep.PhysicalSwitch{}, false
}

// locatorIP returns the single locator address of a locator set.
func (x *index) locatorSetIP(set ovsdb.UUID) (netip.Addr, bool) {
	s, ok := x.locatorSets[set]
	if !ok || len(s.Locators) != 1 {
		return netip.Addr{}, false
	}
	l, ok := x.locators[s.Locators[0]]
	return l.DstIP, ok
}

// expectation is what the syncer's last transaction must make the index
// show before the syncer plans the next one: rows inserted present, rows
// deleted absent, rows updated written by a later update than since.
type expectation struct {
	since    uint64
	present  []ovsdb.UUID
	absent   []ovsdb.UUID
	modified []ovsdb.UUID
}

// met reports whether the index shows e. Caller holds mu.
func (x *index) met(e *expectation) bool {
	for _, u := range e.present {
		if _, ok := x.rowSeq[u]; !ok {
			return false
		}
	}
	for _, u := range e.absent {
		if _, ok := x.rowSeq[u]; ok {
			return false
		}
	}
	for _, u := range e.modified {
		if s, ok := x.rowSeq[u]; ok && s <= e.since {
			return false
		}
	}
	return true
}
