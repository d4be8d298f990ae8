package gateway

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw"
)

// VTEP → NSDB. Every unicast MAC the VTEP learnt on a bound bridge's
// switch (Ucast_Macs_Local) is a persistent entry of the bridge's MAC table
// pointing at the bridge's VxLAN port toward the VTEP, and its address, if
// the row has one, a persistent IPv4-MAC entry. Entries are persistent so
// that they outlive this node: a new owner finds them, keeps those the VTEP
// still has and removes the others (entries pointing at the VxLAN port
// whose MAC the VTEP no longer has).

// localMACs returns the unicast MACs of the bridge's switch. Caller holds
// the index's lock.
func (s *syncer) localMACs(br topology.ID) (map[topology.MAC]netip.Addr, bool) {
	x := s.idx
	u, ok := x.switchByName[switchName(br)]
	if !ok {
		return nil, false
	}
	out := map[topology.MAC]netip.Addr{}
	for r := range x.ucastLocal.ls[u] {
		m := x.ucastLocal.rows[r]
		mac, ok := toMAC(m.MAC)
		if !ok || !mac.IsUnicast() {
			continue
		}
		if ip := m.IP; ip.Is4() || !out[mac].IsValid() {
			out[mac] = ip
		}
	}
	return out, true
}

// syncLocal writes the VTEP's MACs into the NSDB tables of the bound
// bridges.
func (s *syncer) syncLocal(ctx context.Context) {
	if !s.localDirty || s.localFails > 0 && time.Now().Before(s.localAt) {
		return
	}
	s.localDirty = false
	failed := false
	for br, t := range s.m.tables {
		port := vxgw.PortID(br, s.id)
		if _, ok := s.m.ports[port]; !ok || t.mac == nil || t.ip4 == nil || !t.macReady || !t.ipReady {
			continue // the port or the tables come later: another pass
		}
		s.idx.mu.Lock()
		want, ok := s.localMACs(br)
		s.idx.mu.Unlock()
		if !ok {
			continue
		}
		if !s.writeLocal(ctx, t, port, want) {
			failed = true
		}
	}
	if failed {
		s.localDirty = true
		s.localFails++
		s.localAt = time.Now().Add(s.g.backoff(s.localFails))
		return
	}
	s.localFails = 0
}

// writeLocal makes the bridge's tables hold want; false if a write failed.
func (s *syncer) writeLocal(ctx context.Context, t *bridgeTables, port topology.ID, want map[topology.MAC]netip.Addr) bool {
	ok := true
	fail := func(what string, err error) {
		if err == nil || errors.Is(err, nsdb.ErrNotFound) || errors.Is(err, nsdb.ErrNotOwner) {
			return
		}
		ok = false
		if ctx.Err() == nil {
			s.log.Warn("gateway: cannot write a VTEP MAC to the NSDB", "what", what, "err", err)
		}
	}
	wrote := func() { s.g.m.rows.WithLabelValues("to_nsdb").Inc() }
	// Removals first: addresses of MACs that go, then the MACs — those
	// this instance wrote, and those a previous owner left (entries on
	// the VxLAN port the VTEP no longer has).
	gone := map[topology.MAC]bool{}
	for mac := range t.wroteMAC {
		if _, keep := want[mac]; !keep {
			gone[mac] = true
		}
	}
	for mac, p := range t.macs {
		if _, keep := want[mac]; p == port && !keep {
			gone[mac] = true
		}
	}
	for ip, mac := range t.wroteIP {
		if w, keep := want[mac]; !keep || w != ip {
			fail("ip4-mac remove", t.ip4.RemovePersistent(ctx, ip, mac))
			delete(t.wroteIP, ip)
			wrote()
		}
	}
	for ip, mac := range t.ips {
		if _, mine := t.wroteIP[ip]; gone[mac] && !mine {
			fail("ip4-mac remove", t.ip4.RemovePersistent(ctx, ip, mac))
			wrote()
		}
	}
	for mac := range gone {
		fail("mac remove", t.mac.RemovePersistent(ctx, mac, port))
		delete(t.wroteMAC, mac)
		wrote()
	}
	for mac, ip := range want {
		if !t.wroteMAC[mac] || t.macs[mac] == (topology.ID{}) {
			if err := t.mac.AddPersistent(ctx, mac, port); err != nil {
				fail("mac add", err)
				continue
			}
			t.wroteMAC[mac] = true
			wrote()
		}
		if ip.Is4() && t.wroteIP[ip] != mac {
			if err := t.ip4.AddPersistent(ctx, ip, mac); err != nil {
				fail("ip4-mac add", err)
				continue
			}
			t.wroteIP[ip] = mac
			wrote()
		}
	}
	return ok
}

// unbindLocal removes what the instance wrote for a bridge no longer
// bound, and the entries on its VxLAN port.
func (s *syncer) unbindLocal(ctx context.Context, br topology.ID, t *bridgeTables) {
	if t.mac == nil || t.ip4 == nil {
		return
	}
	s.writeLocal(ctx, t, vxgw.PortID(br, s.id), nil)
}
