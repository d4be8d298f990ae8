package simulation

import (
	"fmt"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// checkMTU enforces the MTU of router port out on the packet being routed
// from in. A packet that fits continues (0), and Result.MTU records the
// smallest MTU the flow's packets must fit; a larger one is dropped, with
// an ICMP fragmentation-needed error carrying the MTU when it has the
// don't-fragment bit (routers never fragment). Lengths are in no flow key,
// so the oversize decision installs no flow: the agent's megaflow for the
// packets that fit sends larger ones back to userspace (check_pkt_len).
func (e *Engine) checkMTU(r *topology.Router, in, out *portInfo) Verdict {
	v := e.m.Peek()
	n := v.IPTotalLen()
	if n <= int(out.MTU) {
		if e.r.MTU == 0 || out.MTU < e.r.MTU {
			e.r.MTU = out.MTU
		}
		if e.tracing {
			e.notef("mtu", portLabel(out.Port), "%d-byte packet fits the port's MTU %d", n, out.MTU)
		}
		return 0
	}
	e.noFlow = true
	l3 := int(v.Layout().L3)
	df := false
	if f := e.in.Frame; l3+6 < len(f) {
		df = f[l3+6]&0x40 != 0
	}
	why := ""
	if e.tracing {
		why = fmt.Sprintf("%d-byte packet exceeds the MTU %d of port %s", n, out.MTU, portLabel(out.Port))
	}
	if df {
		e.icmpErrorMTU(&e.pre, in, packet.ICMPDestUnreach, packet.CodeFragNeeded, out.MTU)
		return e.fail(Drop, ReasonFragNeeded, r, why+" with DF set")
	}
	return e.fail(Drop, ReasonTooBig, r, why+" (routers do not fragment)")
}
