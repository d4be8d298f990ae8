package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw/ovsdb"
	"github.com/hivenet/hivenet/vxgw/ovsdb/vtep"
)

// NSDB → VTEP. The syncer plans one transaction that moves the VTEP's
// database toward what the NSDB says — a Logical_Switch per bound bridge
// with the bridge's VNI, the Physical_Port VLAN bindings, the unknown-dst
// Mcast_Macs_Remote row toward the flooding proxy, one Ucast_Macs_Remote
// row per MAC of the bridge behind a host of the VTEP's tunnel zone, and
// nothing left of bridges no longer bound — runs it, and waits until the
// monitor shows it before planning the next. Every remote MAC is inserted
// with its locator in the same transaction (by name when the locator is
// new), or the server would garbage-collect the locator first.

// effect says what a planned operation's result means to the expectation.
type effect uint8

const (
	effNone    effect = iota
	effInsert         // the inserted row must show
	effDelete         // row must vanish
	effModify         // row must show a later version
	effDeletes        // the rows listed in deletes must vanish
)

// plan is one transaction being planned.
type plan struct {
	x       *index
	ops     []ovsdb.Operation
	effects []effect
	rows    []ovsdb.UUID   // the row of effDelete and effModify
	deletes [][]ovsdb.UUID // the rows of effDeletes
	names   int
	locs    map[netip.Addr]ovsdb.NamedUUID // locators inserted by this plan
	macs    int                            // MAC rows written
	limit   int
}

func (p *plan) add(op ovsdb.Operation, e effect, row ovsdb.UUID, rows []ovsdb.UUID) {
	p.ops = append(p.ops, op)
	p.effects = append(p.effects, e)
	p.rows = append(p.rows, row)
	p.deletes = append(p.deletes, rows)
}

func (p *plan) name(prefix string) string {
	p.names++
	return prefix + itoa(p.names)
}

func (p *plan) full() bool { return p.macs >= p.limit }

func byUUID(u ovsdb.UUID) []ovsdb.Condition {
	return []ovsdb.Condition{ovsdb.Cond("_uuid", ovsdb.FuncEQ, u)}
}

// deleteRow deletes one row by UUID.
func (p *plan) deleteRow(table string, u ovsdb.UUID) {
	p.add(ovsdb.Delete{Table: table, Where: byUUID(u)}, effDelete, u, nil)
}

// locator returns a reference to the VXLAN locator of addr, inserting it
// (once per plan) when the VTEP has none.
func (p *plan) locator(addr netip.Addr) any {
	if u, ok := p.x.locatorByIP[addr]; ok {
		return u
	}
	if n, ok := p.locs[addr]; ok {
		return n
	}
	n := ovsdb.NamedUUID(p.name("loc"))
	p.locs[addr] = n
	p.add(ovsdb.Insert{Table: vtep.TablePhysicalLocator, Row: vtep.PhysicalLocator{DstIP: addr}.Row(), UUIDName: string(n)}, effInsert, "", nil)
	return n
}

// expectation returns what the index must show once the transaction is
// applied, from its results.
func (p *plan) expectation(res []ovsdb.OperationResult, since uint64) *expectation {
	e := &expectation{since: since}
	for i, eff := range p.effects {
		if i >= len(res) {
			break
		}
		switch eff {
		case effInsert:
			if res[i].UUID != "" {
				e.present = append(e.present, res[i].UUID)
			}
		case effDelete:
			e.absent = append(e.absent, p.rows[i])
		case effDeletes:
			e.absent = append(e.absent, p.deletes[i]...)
		case effModify:
			if res[i].Count > 0 {
				e.modified = append(e.modified, p.rows[i])
			}
		}
	}
	return e
}

// syncRemote runs one NSDB → VTEP transaction when there is something to
// write and the last one shows in the index.
func (s *syncer) syncRemote(ctx context.Context) {
	if !s.remoteDirty {
		return
	}
	now := time.Now()
	x := s.idx
	x.mu.Lock()
	if s.pending != nil && !x.met(s.pending) && now.Before(s.pendingUntil) {
		x.mu.Unlock()
		return
	}
	if s.pending != nil && !x.met(s.pending) {
		s.log.Warn("gateway: the VTEP's database did not show the last transaction in time; planning again")
	}
	s.pending = nil
	if s.fails > 0 && now.Before(s.retryAt) {
		x.mu.Unlock()
		return
	}
	p := s.planRemote()
	since := x.seq
	x.mu.Unlock()
	if len(p.ops) == 0 {
		s.remoteDirty = false
		return
	}
	res, err := s.client.Transact(ctx, vtep.Database, p.ops...)
	if err != nil {
		s.g.m.txns.WithLabelValues("error").Inc()
		if ctx.Err() != nil {
			return
		}
		s.fails++
		s.retryAt = now.Add(s.g.backoff(s.fails))
		lvl := slog.LevelWarn
		if errors.Is(err, ovsdb.ErrDisconnected) || errors.Is(err, ovsdb.ErrClosed) {
			lvl = slog.LevelDebug
		}
		s.log.Log(ctx, lvl, "gateway: VTEP transaction failed", "ops", len(p.ops), "err", err, "retry-in", s.retryAt.Sub(now))
		return
	}
	s.g.m.txns.WithLabelValues("ok").Inc()
	s.g.m.rows.WithLabelValues("to_vtep").Add(float64(p.macs))
	s.fails = 0
	s.pending = p.expectation(res, since)
	s.pendingUntil = time.Now().Add(s.g.cfg.Settle)
}

// planRemote plans the next transaction. Caller holds the index's lock.
func (s *syncer) planRemote() *plan {
	x := s.idx
	p := &plan{x: x, locs: map[netip.Addr]ovsdb.NamedUUID{}, limit: s.g.cfg.BatchSize}
	want := s.m.switches()
	bridges := make([]topology.ID, 0, len(want))
	for br := range want {
		bridges = append(bridges, br)
	}
	slices.SortFunc(bridges, func(a, b topology.ID) int { return strings.Compare(a.String(), b.String()) })

	// Logical switches: one per bound bridge, none for others.
	refs := make(map[topology.ID]any, len(want))
	for _, br := range bridges {
		vni := int64(want[br])
		if u, ok := x.switchByName[switchName(br)]; ok {
			refs[br] = u
			if ls := x.switches[u]; !ls.HasTunnelKey || ls.TunnelKey != vni {
				p.add(ovsdb.Update{Table: vtep.TableLogicalSwitch, Where: byUUID(u), Row: ovsdb.Row{"tunnel_key": ovsdb.Set{vni}}}, effModify, u, nil)
			}
			continue
		}
		n := p.name("ls")
		desc := "hivenet bridge " + br.String()
		if b := s.m.bridges[br]; b != nil && b.Name != "" {
			desc = "hivenet bridge " + b.Name
		}
		row := vtep.LogicalSwitch{Name: switchName(br), Description: desc, TunnelKey: vni, HasTunnelKey: true}.Row()
		p.add(ovsdb.Insert{Table: vtep.TableLogicalSwitch, Row: row, UUIDName: n}, effInsert, "", nil)
		refs[br] = ovsdb.NamedUUID(n)
	}
	for u, ls := range x.switches {
		if br, ok := bridgeOfSwitch(ls.Name); ok && want[br] == 0 {
			p.deleteSwitch(u)
		}
	}
	s.planBindings(p, refs)
	remote := 0
	for _, br := range bridges {
		s.planFlood(p, br, refs[br])
		remote += s.planMACs(p, br, refs[br])
	}
	s.g.m.remote.WithLabelValues(s.name()).Set(float64(remote))
	return p
}

// deleteSwitch deletes a logical switch the gateway owns and every MAC row
// on it (the VTEP's own rows refer to it too and would keep it).
func (p *plan) deleteSwitch(u ovsdb.UUID) {
	x := p.x
	for table, rows := range map[string]map[ovsdb.UUID]struct{}{
		vtep.TableUcastMacsRemote: x.ucastRemote.ls[u], vtep.TableUcastMacsLocal: x.ucastLocal.ls[u],
		vtep.TableMcastMacsRemote: x.mcastRemote.ls[u], vtep.TableMcastMacsLocal: x.mcastLocal.ls[u],
	} {
		if len(rows) == 0 {
			continue
		}
		gone := make([]ovsdb.UUID, 0, len(rows))
		for r := range rows {
			gone = append(gone, r)
		}
		where := []ovsdb.Condition{ovsdb.Cond("logical_switch", ovsdb.FuncEQ, u)}
		p.add(ovsdb.Delete{Table: table, Where: where}, effDeletes, "", gone)
	}
	p.deleteRow(vtep.TableLogicalSwitch, u)
}

// planBindings binds each bound port and VLAN to its bridge's switch and
// unbinds the VLANs bound to switches the gateway owns that the VTEP
// object no longer binds.
func (s *syncer) planBindings(p *plan, refs map[topology.ID]any) {
	x := p.x
	ps, ok := x.physicalSwitch(s.m.vtep.Name)
	if !ok {
		return
	}
	want := map[string]map[uint16]topology.ID{}
	for _, b := range s.m.vtep.Bindings {
		if _, ok := refs[b.Bridge]; !ok {
			continue
		}
		if want[b.PortName] == nil {
			want[b.PortName] = map[uint16]topology.ID{}
		}
		want[b.PortName][b.VLAN] = b.Bridge
	}
	found := map[string]bool{}
	for _, pu := range ps.Ports {
		pp, ok := x.physPorts[pu]
		if !ok {
			continue
		}
		found[pp.Name] = true
		w := want[pp.Name]
		var del ovsdb.Set
		ins := ovsdb.Map{}
		for vlan, ls := range pp.VLANBindings {
			br, wanted := w[vlan]
			if wanted && refs[br] == any(ls) {
				continue
			}
			if _, ours := bridgeOfSwitch(x.switches[ls].Name); wanted || ours {
				del = append(del, int64(vlan))
			}
		}
		for vlan, br := range w {
			if ls, ok := pp.VLANBindings[vlan]; !ok || refs[br] != any(ls) {
				ins[int64(vlan)] = refs[br]
			}
		}
		var muts []ovsdb.Mutation
		if len(del) > 0 {
			muts = append(muts, ovsdb.Mutation{Column: "vlan_bindings", Mutator: ovsdb.MutDelete, Value: del})
		}
		if len(ins) > 0 {
			muts = append(muts, ovsdb.Mutation{Column: "vlan_bindings", Mutator: ovsdb.MutInsert, Value: ins})
		}
		if len(muts) > 0 {
			p.add(ovsdb.Mutate{Table: vtep.TablePhysicalPort, Where: byUUID(pu), Mutations: muts}, effModify, pu, nil)
		}
	}
	for name := range want {
		if !found[name] && !s.missing[name] {
			s.missing[name] = true
			s.log.Warn("gateway: the VTEP has no such physical port; its bindings wait for it", "port-name", name)
		} else if found[name] {
			delete(s.missing, name)
		}
	}
}

// planFlood keeps the switch's unknown-dst row pointing at the flooding
// proxy (none without one) and removes the switch's other multicast rows.
func (s *syncer) planFlood(p *plan, br topology.ID, ref any) {
	x := p.x
	fp, hasFP := s.m.floodingProxy()
	kept := false
	if u, ok := ref.(ovsdb.UUID); ok {
		for r := range x.mcastRemote.ls[u] {
			m := x.mcastRemote.rows[r]
			if ip, ok := x.locatorSetIP(m.LocatorSet); !kept && hasFP && m.MAC == vtep.UnknownDst && ok && ip == fp {
				kept = true
				continue
			}
			p.deleteRow(vtep.TableMcastMacsRemote, r)
		}
	}
	if kept || !hasFP {
		return
	}
	set := p.name("set")
	p.add(ovsdb.Insert{Table: vtep.TablePhysicalLocatorSet, Row: ovsdb.Row{"locators": ovsdb.Set{p.locator(fp)}}, UUIDName: set}, effInsert, "", nil)
	row := vtep.McastMac{MAC: vtep.UnknownDst}.Row()
	row["logical_switch"], row["locator_set"] = ref, ovsdb.NamedUUID(set)
	p.add(ovsdb.Insert{Table: vtep.TableMcastMacsRemote, Row: row}, effInsert, "", nil)
}

// planMACs moves the switch's Ucast_Macs_Remote rows toward the bridge's
// MACs, within the plan's limit, and returns how many MACs are wanted.
func (s *syncer) planMACs(p *plan, br topology.ID, ref any) int {
	x := p.x
	want := s.m.desiredRemote(br)
	if t := s.m.tables[br]; t == nil || !t.macReady || !t.ipReady {
		return len(want) // not loaded yet: leave the rows alone
	}
	have := map[topology.MAC]bool{}
	if u, ok := ref.(ovsdb.UUID); ok {
		for r := range x.ucastRemote.ls[u] {
			m := x.ucastRemote.rows[r]
			mac, okMAC := toMAC(m.MAC)
			w, wanted := want[mac]
			if okMAC && wanted && !have[mac] && x.locators[m.Locator].DstIP == w.loc && m.IP == w.ip {
				have[mac] = true
				continue
			}
			if p.full() {
				continue
			}
			p.deleteRow(vtep.TableUcastMacsRemote, r)
			p.macs++
		}
	}
	for mac, w := range want {
		if have[mac] || p.full() {
			continue
		}
		row := vtep.UcastMac{MAC: mac[:], IP: w.ip}.Row()
		row["logical_switch"], row["locator"] = ref, p.locator(w.loc)
		p.add(ovsdb.Insert{Table: vtep.TableUcastMacsRemote, Row: row}, effInsert, "", nil)
		p.macs++
	}
	return len(want)
}

// toMAC converts a row's MAC.
func toMAC(hw []byte) (topology.MAC, bool) {
	var m topology.MAC
	if len(hw) != len(m) {
		return m, false
	}
	copy(m[:], hw)
	return m, true
}
