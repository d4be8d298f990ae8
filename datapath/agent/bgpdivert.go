package agent

import (
	"context"
	"net/netip"
	"sync/atomic"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// Diversion of an uplink port's BGP traffic. With BGPConfig.Attach, a
// port's speaker runs behind its own datapath port (a veth whose other
// end, in the speaker's network namespace, holds the router port's address
// and MAC). The agent passes between that port and the uplink only:
//
//   - from the uplink: TCP with port 179 on either side from a configured
//     peer to the port's address, and ICMP to the port's address (diverted:
//     the virtual router does not see them); ARP replies to the port's
//     address (copied: the speaker's namespace and the virtual router
//     both resolve the peers);
//   - from the speaker: ARP, TCP with port 179 on either side to a
//     configured peer, and ICMP from the port's address; anything else is
//     dropped.
//
// These packets are executed one by one from the upcall, with no kernel
// flow: BGP is little traffic. Flows of other traffic from the uplink
// match the fields the check read (the destination address first, then,
// only for the port's own address, protocol, source and ports), so that no
// megaflow captures BGP packets.

// dropBGPFiltered counts the packets of a speaker that the diversion does
// not pass to its uplink.
const dropBGPFiltered = "bgp-not-allowed"

// bgpLink is one attached speaker's wiring.
type bgpLink struct {
	port   topology.ID
	uplink datapath.PortNumber // the uplink's datapath port
	veth   datapath.PortNumber // the speaker's datapath port
	addr   netip.Addr
	peers  map[netip.Addr]bool
}

// bgpLinks are the attached speakers, by uplink port and by speaker
// datapath port; replaced as a whole (copy on write).
type bgpLinks struct {
	byPort map[topology.ID]*bgpLink
	byVeth map[datapath.PortNumber]*bgpLink
}

type bgpLinksPtr = atomic.Pointer[bgpLinks]

// setBGPLink publishes (l non-nil) or withdraws the link of port.
func (a *Agent) setBGPLink(port topology.ID, l *bgpLink) {
	old := a.bgpLinks.Load()
	nl := &bgpLinks{byPort: map[topology.ID]*bgpLink{}, byVeth: map[datapath.PortNumber]*bgpLink{}}
	if old != nil {
		for p, x := range old.byPort {
			if p != port {
				nl.byPort[p], nl.byVeth[x.veth] = x, x
			}
		}
	}
	if l != nil {
		nl.byPort[port], nl.byVeth[l.veth] = l, l
	}
	a.bgpLinks.Store(nl)
}

// fromSpeaker handles a packet from a speaker's datapath port; it reports
// whether the port is one.
func (w *worker) fromSpeaker(ctx context.Context, u *datapath.Upcall) bool {
	ls := w.a.bgpLinks.Load()
	if ls == nil {
		return false
	}
	l, ok := ls.byVeth[u.Key.InPort]
	if !ok {
		return false
	}
	m := &w.pm
	if m.Parse(u.Packet) != nil {
		w.a.m.drop(dropBGPFiltered)
		return true
	}
	pass := false
	switch m.EtherType() {
	case packet.EtherTypeARP:
		pass = true
	case packet.EtherTypeIPv4:
		switch m.IPProto() {
		case packet.ProtoTCP:
			pass = l.peers[m.IPDst()] && (m.DstPort() == 179 || m.SrcPort() == 179)
		case packet.ProtoICMP:
			pass = m.IPSrc() == l.addr
		}
	}
	if !pass {
		w.a.m.drop(dropBGPFiltered)
		return true
	}
	w.execOut(ctx, u.Packet, l.uplink)
	return true
}

// divertBGP checks a packet entering uplink port: it reports whether the
// packet was diverted to the speaker (and is done with). ARP replies to
// the port's address are copied to the speaker and simulated too (with
// no kernel flow). The fields read are added to dc, whose match the
// simulation reuses.
func (w *worker) divertBGP(ctx context.Context, port topology.ID, frame []byte, dc *dhcpCheck) bool {
	ls := w.a.bgpLinks.Load()
	if ls == nil {
		return false
	}
	l, ok := ls.byPort[port]
	if !ok {
		return false
	}
	m := &w.pm
	if !dc.parsed {
		if m.Parse(frame) != nil {
			return false
		}
		dc.parsed = true
	}
	defer func() { dc.seen |= m.Seen() }()
	switch m.EtherType() {
	case packet.EtherTypeARP:
		if m.ARPOp() == 2 && m.ARPTPA() == l.addr {
			w.execOut(ctx, frame, l.veth)
			dc.noFlow = true
		}
		return false
	case packet.EtherTypeIPv4:
		if m.IPDst() != l.addr {
			return false
		}
		switch m.IPProto() {
		case packet.ProtoTCP:
			if l.peers[m.IPSrc()] && (m.DstPort() == 179 || m.SrcPort() == 179) {
				w.execOut(ctx, frame, l.veth)
				return true
			}
		case packet.ProtoICMP:
			w.execOut(ctx, frame, l.veth)
			return true
		}
	}
	return false
}

// execOut sends frame out of datapath port out.
func (w *worker) execOut(ctx context.Context, frame []byte, out datapath.PortNumber) {
	w.dacts = append(w.dacts[:0], datapath.Output{Port: out})
	w.dkey = datapath.FlowKey{}
	if err := w.a.dp.Execute(ctx, frame, &w.dkey, w.dacts); err != nil {
		w.a.log.Debug("BGP diversion execute failed", "port", out, "err", err)
	}
}
