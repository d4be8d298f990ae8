package agent

import (
	"context"
	"net/netip"
	"sync"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// The VxLAN gateway's data plane. A bridge bound to a hardware VTEP has a
// VxLAN port toward it (topology.Port.VTEP); the simulation treats it as
// an exterior port like any other. Output to it is VXLAN to the VTEP's
// tunnel address (published by the VTEP's manager, nsdb.KeyVTEPConfig)
// with the bridge's VNI, through the agent's VTEP tunnel port (UDP
// Config.VTEPPort, 4789 by default, apart from the overlay's); a frame
// arriving on that tunnel port from a VTEP's address with a bridge's VNI
// is simulated as entering the bridge at that VxLAN port. The flooding
// proxy needs nothing more: the VTEP sends the frames it floods to that
// host, whose simulation floods them to the bridge's ports wherever they
// are.

// vtepPort is a VxLAN port of a bridge toward a VTEP, as this host reaches
// it.
type vtepPort struct {
	vtep topology.ID
	vni  uint32
	// src is this host's address in the VTEP's tunnel zone.
	src netip.Addr
}

// vtepVNI names a VxLAN port by its VTEP and its bridge's VNI.
type vtepVNI struct {
	vtep topology.ID
	vni  uint32
}

// vtepPorts returns the VxLAN ports this host can reach (it is a member of
// their VTEP's tunnel zone and their bridge has a VNI), by port and by
// (VTEP, VNI).
func vtepPorts(s *topology.Snapshot, self topology.ID) (map[topology.ID]vtepPort, map[vtepVNI]topology.ID) {
	out, in := map[topology.ID]vtepPort{}, map[vtepVNI]topology.ID{}
	if s.Len(topology.KindVTEP) == 0 {
		return out, in
	}
	for o := range s.Objects(topology.KindVTEP) {
		v := o.(*topology.VTEP)
		z, ok := s.TunnelZone(v.TunnelZone)
		if !ok {
			continue
		}
		src, ok := z.MemberAddr(self)
		if !ok {
			continue
		}
		for _, b := range v.Bindings {
			br, ok := s.Bridge(b.Bridge)
			bv, ok2 := s.BridgeView(b.Bridge)
			if !ok || !ok2 || br.VNI == 0 {
				continue
			}
			for _, pid := range bv.ExteriorPorts {
				if p, ok := s.Port(pid); ok && p.VTEP == v.ID {
					out[pid] = vtepPort{vtep: v.ID, vni: br.VNI, src: src}
					in[vtepVNI{v.ID, br.VNI}] = pid
				}
			}
		}
	}
	return out, in
}

// vtepAddrs mirrors the VTEPs' published tunnel addresses.
type vtepAddrs struct {
	mu     sync.RWMutex
	byVTEP map[topology.ID]netip.Addr // the first published address
	byAddr map[netip.Addr]topology.ID // every published address
}

func (m *vtepAddrs) addr(vtep topology.ID) (netip.Addr, bool) {
	m.mu.RLock()
	a, ok := m.byVTEP[vtep]
	m.mu.RUnlock()
	return a, ok
}

func (m *vtepAddrs) vtep(a netip.Addr) (topology.ID, bool) {
	m.mu.RLock()
	v, ok := m.byAddr[a]
	m.mu.RUnlock()
	return v, ok
}

// applyVTEPConfig follows the VTEPs' tunnel addresses; the flows toward a
// VTEP whose address changed are invalidated (those from it match its old
// address and expire).
func (a *Agent) applyVTEPConfig(ctx context.Context, evs []nsdb.KeyEvent) {
	m := &a.vteps
	var tags []simulation.Tag
	m.mu.Lock()
	for _, ev := range evs {
		old, had := m.byVTEP[ev.ID]
		for addr, v := range m.byAddr {
			if v == ev.ID {
				delete(m.byAddr, addr)
			}
		}
		delete(m.byVTEP, ev.ID)
		var cfg nsdb.VTEPConfig
		if len(ev.Values) > 0 {
			var err error
			if cfg, err = nsdb.ParseVTEPConfig(ev.Values[0].Value); err != nil {
				a.log.Warn("bad VTEP tunnel addresses", a.named("vtep", topology.KindVTEP, ev.ID), "err", err)
			}
		}
		for i, addr := range cfg.TunnelIPs {
			if i == 0 {
				m.byVTEP[ev.ID] = addr
			}
			m.byAddr[addr] = ev.ID
		}
		if now, ok := m.byVTEP[ev.ID]; had && (!ok || now != old) {
			for _, vp := range a.world.Load().vtepPorts {
				if vp.vtep == ev.ID {
					tags = append(tags, simulation.TagTunnelRoute(vp.src, old))
				}
			}
		}
	}
	m.mu.Unlock()
	a.invalidate(ctx, tags...)
}

// locateVTEP returns the tunnel to a VxLAN port.
func (v *view) locateVTEP(vp vtepPort) (translate.Location, bool) {
	dst, ok := v.vteps.addr(vp.vtep)
	if !ok || !v.w.hasVTEP {
		return translate.Location{}, false
	}
	return translate.Location{Tunnel: translate.Tunnel{Key: vp.vni, Src: vp.src, Dst: dst, Port: v.w.vtep}}, true
}

// fromVTEP simulates a frame a VTEP sent: it enters the bridge whose VNI
// it carries at the bridge's VxLAN port toward that VTEP. Frames from
// unknown VTEPs or VNIs are dropped without a flow (a VTEP published
// later must not be blackholed).
func (w *worker) fromVTEP(ctx context.Context, u *datapath.Upcall) {
	a := w.a
	a.m.upcallMiss.Inc()
	k := &u.Key
	vtep, ok := a.vteps.vtep(k.Tunnel.Src)
	if !ok {
		// Not the published address of a VTEP (underlay admission).
		a.m.drop(dropTunnelSource)
		return
	}
	port, ok := w.v.w.vtepIn[vtepVNI{vtep, uint32(k.Tunnel.ID)}]
	if !ok {
		a.m.drop(dropUnknownTunnel)
		return
	}
	w.ingress(ctx, port, u.Packet, k)
}

// isFromVTEP reports whether key is a packet received on the VTEP tunnel
// port.
func (wd *world) isFromVTEP(k *datapath.FlowKey) bool {
	return wd.hasVTEP && k.Fields&datapath.KeyTunnel != 0 && k.InPort == wd.vtep
}
