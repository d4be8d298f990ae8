package simulation

import (
	"net/netip"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// bridgeARP handles a broadcast ARP frame on a bridge: answer requests for
// linked router ports and (unless disabled) for addresses of the bridge's
// IPv4-MAC table, learn gratuitous ARPs, flood the rest.
func (e *Engine) bridgeARP(bi *bridgeInfo, in *portInfo, src topology.MAC, tagged bool) Verdict {
	bv := bi.view
	b := &bv.Bridge
	untagged := e.m.NumVLANs() == 0
	op := e.m.ARPOp()
	spa, tpa := e.m.ARPSPA(), e.m.ARPTPA()
	if op == packet.ARPRequest && untagged && spa != tpa && tpa.Is4() && spa.Is4() {
		mac, ok := bi.routerIP(tpa)
		from := "a linked router port"
		if !ok && !e.cfg.DisableBridgeARP {
			mac, ok = e.state.IP4MAC(b.ID, tpa)
			from = "the bridge's IPv4-MAC table"
		}
		if ok {
			sha := e.m.ARPSHA()
			if e.tracing {
				e.notef("arp", bridgeLabel(b), "%s is at %s (%s): reply out of port %s", tpa, mac, from, in.Name)
			}
			start := len(e.r.buf)
			buf, err := packet.AppendARPReply(e.r.buf, packet.VLAN{}, mac, tpa, sha, spa)
			e.addGenerated(in.ID, start, buf, err, "ARP reply")
			return Consumed
		}
	}
	if untagged {
		if mac, ok := bi.routerIP(tpa); ok {
			if rp, ok := bv.RouterPorts[mac]; ok {
				if p, ok := e.idx.port(&rp); ok {
					e.tagIDs(TagKindBridgePort, &b.ID, &rp)
					if e.tracing {
						e.note("arp", bridgeLabel(b), "ARP for router address "+tpa.String()+": to the router port")
					}
					e.curOut = p
					if v := e.bridgeOutFilter(bi, tagged); v != 0 {
						return v
					}
					return e.egress(p)
				}
			}
		}
	}
	if spa == tpa && spa.Is4() {
		e.r.IP4MACWrites = append(e.r.IP4MACWrites, IP4MACWrite{Bridge: b.ID, IP: spa, MAC: src})
		e.noFlow = true
		if e.tracing {
			e.notef("arp", bridgeLabel(b), "gratuitous ARP: %s is at %s (IPv4-MAC table write, no kernel flow)", spa, src)
		}
	}
	e.tagID(TagKindARPRequests, &b.ID)
	if e.tracing {
		e.note("flood", bridgeLabel(b), "ARP broadcast")
	}
	return e.flood(bi, in, tagged)
}

// routerARP processes an ARP frame addressed to router port in. ARP frames
// are always consumed.
func (e *Engine) routerARP(rv *topology.RouterView, in *portInfo) Verdict {
	op := e.m.ARPOp()
	spa := e.m.ARPSPA()
	sub := in.Subnet()
	if !in.Address.Is4() || !sub.IsValid() || !spa.Is4() || !sub.Contains(spa) {
		if e.tracing {
			e.note("arp", routerLabel(&rv.Router), "ARP from "+spa.String()+" ignored: outside the subnet of port "+in.Name)
		}
		return Consumed
	}
	tpa, sha, tha := e.m.ARPTPA(), e.m.ARPSHA(), e.m.ARPTHA()
	switch op {
	case packet.ARPRequest:
		switch {
		case tpa == spa && tha.IsZero():
			e.arpWrite(rv, spa, sha, "gratuitous ARP request")
		case tpa == in.Address:
			e.arpWrite(rv, spa, sha, "ARP request for the port's address")
			start := len(e.r.buf)
			buf, err := packet.AppendARPReply(e.r.buf, packet.VLAN{}, in.MAC, in.Address, sha, spa)
			e.addGenerated(in.ID, start, buf, err, "ARP reply")
		default:
			if e.tracing {
				e.note("arp", routerLabel(&rv.Router), "ARP request for "+tpa.String()+" is not for port "+in.Name)
			}
		}
	case packet.ARPReply:
		if (tpa == spa && tha == sha) || (tpa == in.Address && tha == in.MAC) {
			e.arpWrite(rv, spa, sha, "ARP reply")
		} else if e.tracing {
			e.note("arp", routerLabel(&rv.Router), "ARP reply not addressed to port "+in.Name+": ignored")
		}
	default:
		if e.tracing {
			e.note("arp", routerLabel(&rv.Router), "unknown ARP operation: ignored")
		}
	}
	return Consumed
}

func (e *Engine) arpWrite(rv *topology.RouterView, ip netip.Addr, mac topology.MAC, why string) {
	e.r.ARPWrites = append(e.r.ARPWrites, ARPWrite{Router: rv.Router.ID, IP: ip, MAC: mac})
	if e.tracing {
		e.notef("arp", routerLabel(&rv.Router), "%s: ARP table %s -> %s", why, ip, mac)
	}
}

// arpLookup looks the next hop up in the router's ARP table. A stale entry
// is used and reported for refresh; a missing or expired one is not.
func (e *Engine) arpLookup(router topology.ID, out *portInfo, nh netip.Addr) (topology.MAC, bool) {
	e.tagAddr(TagKindARPEntry, &router, nh)
	ent := &e.arp
	if !e.state.ARPEntry(router, nh, ent) || ent.expired(e.in.Now) {
		return topology.MAC{}, false
	}
	if ent.stale(e.in.Now) {
		e.r.ARPRefresh = append(e.r.ARPRefresh, ARPTarget{Router: router, Port: out.ID, IP: nh})
	}
	return ent.MAC, true
}

// arpRequest emits an ARP request for nh out of router port out.
func (e *Engine) arpRequest(out *portInfo, nh netip.Addr) {
	if !out.Address.Is4() {
		return
	}
	start := len(e.r.buf)
	buf, err := packet.AppendARPRequest(e.r.buf, packet.VLAN{}, out.MAC, out.Address, nh)
	e.addGenerated(out.ID, start, buf, err, "ARP request")
}
