package agent

import (
	"bytes"
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/hivenet/hivenet/topology"
)

// DeviceTables is what the agent follows of one device's state tables.
type DeviceTables struct {
	// Device is the bridge or router, Kind its kind, Name its name.
	Device topology.ID
	Kind   topology.Kind
	Name   string
	// Local says the tables were opened with the topology: a port bound
	// here reaches the device. Otherwise a simulation needed them.
	Local bool
	// MACVLANs are the VLANs of the bridge's MAC tables followed; IP4MAC
	// says its IPv4-MAC table is followed, ARP the router's ARP table.
	MACVLANs []uint16
	IP4MAC   bool
	ARP      bool
	// IdleSince is when housekeeping found the device, its tables opened on
	// demand, unused: no installed flow through it, no packet waiting on
	// it. Zero while it is in use. Its tables close Timeouts.TableIdle
	// after it.
	IdleSince time.Time
}

// Tables returns the devices whose state tables the agent follows:
// bridges, then routers, each by name.
func (a *Agent) Tables() []DeviceTables {
	w := a.world.Load()
	bridges, routers := make(map[topology.ID]bool), make(map[topology.ID]bool)
	a.localDevices(w.snap, bridges, routers)
	a.idle.mu.Lock()
	idle := maps.Clone(a.idle.since)
	a.idle.mu.Unlock()
	byID := make(map[topology.ID]*DeviceTables)
	get := func(id topology.ID, k topology.Kind, local bool) *DeviceTables {
		d := byID[id]
		if d == nil {
			d = &DeviceTables{Device: id, Kind: k, Name: nameIn(w.snap, k, id), Local: local}
			if !local {
				d.IdleSince = idle[id]
			}
			byID[id] = d
		}
		return d
	}
	for k := range w.macs {
		d := get(k.bridge, topology.KindBridge, bridges[k.bridge])
		d.MACVLANs = append(d.MACVLANs, k.vlan)
	}
	for b := range w.ip4 {
		get(b, topology.KindBridge, bridges[b]).IP4MAC = true
	}
	for r := range w.arp {
		get(r, topology.KindRouter, routers[r]).ARP = true
	}
	out := make([]DeviceTables, 0, len(byID))
	for _, d := range byID {
		slices.Sort(d.MACVLANs)
		out = append(out, *d)
	}
	slices.SortFunc(out, func(x, y DeviceTables) int {
		return cmp.Or(cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Name, y.Name), bytes.Compare(x.Device[:], y.Device[:]))
	})
	return out
}
