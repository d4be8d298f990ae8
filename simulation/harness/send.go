package harness

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// upstreamMAC is the source MAC of packets sent from an exterior router
// port nothing was plugged into (a neighbour outside the topology).
var upstreamMAC = topology.MAC{0x02, 0x00, 0x00, 0x00, 0xee, 0x01}

// Limits of the work one Send does.
const (
	// maxAttempts bounds the simulations of one packet (NAT claims, ARP
	// resolutions).
	maxAttempts = 8
	// maxDepth bounds the generations of generated packets followed.
	maxDepth = 3
)

// Send sends p from the machine behind the exterior port named from (a
// VM, a machine plugged with Plug, or, on an exterior router port, a
// neighbour with MAC 02:00:00:00:ee:01 and no address unless the packet
// names one with WithSrc) and returns what the network did with it; see
// the package documentation for what happens on the way. Network outcomes,
// drops included, are in the Result; errors say the packet could not be
// sent (an unknown port, a packet that cannot be built).
func (h *Harness) Send(from string, p Packet) (*Result, error) {
	return h.SendContext(context.Background(), from, p)
}

// MustSend is Send for tests: an error fails the test (t.Fatalf).
func (h *Harness) MustSend(t T, from string, p Packet) *Result {
	t.Helper()
	r, err := h.Send(from, p)
	if err != nil {
		t.Fatalf("send %v from %s: %v", p, from, err)
	}
	return r
}

// SendContext is Send with a context bounding the wait for NAT port blocks
// (a leaser given in Config.Ports may take time; the harness's own never
// does).
func (h *Harness) SendContext(ctx context.Context, from string, p Packet) (*Result, error) {
	in, err := h.exteriorPort(from)
	if err != nil {
		return nil, err
	}
	frame, err := p.Build(h.Sender(from))
	if err != nil {
		return nil, err
	}
	return h.run(ctx, in, frame, false, 0)
}

// Sender returns what building a packet sent from the exterior port named
// port needs: its machine's MAC and address, the VMs' addresses by name,
// and the default destination MAC (see NextHop). An unknown port gives a
// Sender that knows names only.
func (h *Harness) Sender(port string) Sender {
	s := Sender{Lookup: h.lookup}
	in, err := h.Port(port)
	if err != nil {
		return s
	}
	if v, ok := h.VM(port); ok {
		s.MAC, s.Addr = v.MAC, v.Addr
	} else if in.IsRouterPort() {
		s.MAC = upstreamMAC
	}
	s.NextHop = func(src, dst netip.Addr) (topology.MAC, error) { return h.nextHop(in, src, dst) }
	return s
}

// lookup returns the address of a VM, plugged machine or router port by
// name.
func (h *Harness) lookup(name string) (netip.Addr, bool) {
	if v, ok := h.VM(name); ok && v.Addr.IsValid() {
		return v.Addr, true
	}
	if p, err := h.Port(name); err == nil && p.IsRouterPort() && p.Address.IsValid() {
		return p.Address, true
	}
	return netip.Addr{}, false
}

// nextHop picks the destination MAC of a packet from src to dst entering
// at in: the port's own MAC for an exterior router port; on a bridge, the
// router port or VM owning dst, else the gateway (the linked router port
// whose subnet holds src).
func (h *Harness) nextHop(in *topology.Port, src, dst netip.Addr) (topology.MAC, error) {
	if in.IsRouterPort() {
		return in.MAC, nil
	}
	if bv, ok := h.snap.BridgeView(in.Bridge); ok {
		if mac, ok := bv.RouterIPs[dst]; ok {
			return mac, nil
		}
	}
	for _, v := range h.vms {
		if v.Bridge == in.Bridge && v.Addr == dst {
			return v.MAC, nil
		}
	}
	for _, rp := range h.gateways(in.Bridge) {
		for _, s := range rp.Subnets {
			if s.Contains(src) {
				return rp.MAC, nil
			}
		}
	}
	return topology.MAC{}, fmt.Errorf("%w: no default destination MAC for %s on port %q (not on the port's bridge, no gateway for %s): give one with WithDstMAC",
		ErrBadPacket, dst, in.Name, src)
}

// run simulates frame entering at in (emitted from it, when generated)
// until the outcome is final, commits the state, and follows the packets
// the network generated.
func (h *Harness) run(ctx context.Context, in *topology.Port, frame []byte, generated bool, depth int) (*Result, error) {
	res := &Result{From: in.Name, Frame: frame}
	r, err := h.settle(ctx, in, frame, generated, res)
	if err != nil {
		return nil, err
	}
	res.Verdict, res.Reason, res.Trace, res.Sim = r.Verdict, r.Reason, r.Trace, r
	for i := range r.Outputs {
		res.Delivered = append(res.Delivered, h.delivery(frame, &r.Original, &r.Outputs[i]))
	}
	if depth+1 >= maxDepth {
		return res, nil
	}
	for _, g := range r.Generated {
		gp, ok := h.snap.Port(g.Port)
		if !ok {
			continue
		}
		gr, err := h.run(ctx, gp, append([]byte(nil), g.Frame...), true, depth+1)
		if err != nil {
			return nil, fmt.Errorf("harness: simulating a packet generated at %s: %w", gp.Name, err)
		}
		res.Generated = append(res.Generated, gr)
	}
	return res, nil
}

// settle simulates frame until the verdict is final: it waits for NAT port
// blocks and resolves missing ARP entries between attempts (noting what it
// did in res), then commits the last simulation's state.
func (h *Harness) settle(ctx context.Context, in *topology.Port, frame []byte, generated bool, res *Result) (*simulation.Result, error) {
	rnd := h.rand()
	for attempt := 1; ; attempt++ {
		r := new(simulation.Result)
		err := h.eng.Simulate(&simulation.Input{
			Snapshot: h.snap, State: h.tables, Stateful: h.svc, InPort: in.ID, Frame: frame,
			Now: h.now, Rand: rnd, Trace: true, Generated: generated,
		}, r)
		if err != nil {
			h.svc.Abort()
			return nil, fmt.Errorf("harness: %w", err)
		}
		retry := false
		if r.Verdict == simulation.NotYet && attempt < maxAttempts {
			switch r.Reason {
			case simulation.ReasonStateful:
				if retry, err = h.waitPorts(ctx, res); err != nil {
					return nil, err
				}
			case simulation.ReasonARPPending:
				h.svc.Abort()
				h.tables.apply(r)
				if retry, err = h.resolve(ctx, r, res); err != nil {
					return nil, err
				}
			}
		}
		if !retry {
			h.svc.Finish(r, nil, nil)
			h.tables.apply(r)
			return r, nil
		}
	}
}

// waitPorts waits for the NAT port block the last simulation is missing.
// It reports whether to simulate again.
func (h *Harness) waitPorts(ctx context.Context, res *Result) (bool, error) {
	w := h.svc.Waiting()
	h.svc.Abort()
	if w == nil {
		return false, nil
	}
	select {
	case <-w.Ready():
	case <-ctx.Done():
		return false, fmt.Errorf("harness: waiting for a NAT port block: %w", ctx.Err())
	}
	if err := w.Err(); err != nil {
		res.Notes = append(res.Notes, "claiming a NAT port block failed: "+err.Error())
		return false, nil
	}
	res.Notes = append(res.Notes, "a NAT port block was claimed: simulating again")
	return true, nil
}

// resolve delivers the ARP request a router sent for a missing next hop
// and lets the machine owning the address answer. It reports whether one
// did (the router learned its MAC).
func (h *Harness) resolve(ctx context.Context, r *simulation.Result, res *Result) (bool, error) {
	want := r.Waiting
	router := h.names.name(want.Router)
	for _, g := range r.Generated {
		gp, ok := h.snap.Port(g.Port)
		if !ok || g.Port != want.Port {
			continue
		}
		req, err := h.run(ctx, gp, append([]byte(nil), g.Frame...), true, maxDepth)
		if err != nil {
			return false, err
		}
		for i := range req.Delivered {
			d := &req.Delivered[i]
			p, err := h.Port(d.Port)
			if err != nil {
				continue
			}
			v, ok := h.VM(d.Port)
			if !ok || v.Addr != want.IP || d.Packet.EtherType() != packet.EtherTypeARP {
				continue
			}
			reply, err := packet.AppendARPReply(nil, packet.VLAN{}, v.MAC, v.Addr, d.Packet.ARPSHA(), d.Packet.ARPSPA())
			if err != nil {
				return false, fmt.Errorf("harness: %w", err)
			}
			if _, err := h.run(ctx, p, reply, false, maxDepth); err != nil {
				return false, err
			}
			res.Notes = append(res.Notes, fmt.Sprintf("router %s asked for %s: %s answered %s, simulating again", router, want.IP, v.Name, v.MAC))
			return true, nil
		}
	}
	res.Notes = append(res.Notes, fmt.Sprintf("router %s asked for %s: nobody answered", router, want.IP))
	return false, nil
}

// delivery describes the packet leaving through output o: frame with the
// output's rewrites applied, parsed. When the frame cannot carry a rewrite
// or does not parse, Packet is the match the simulator computed.
func (h *Harness) delivery(frame []byte, orig *packet.Match, o *simulation.Output) Delivery {
	d := Delivery{Port: h.names.name(o.Port)}
	f, err := packet.Apply(append([]byte(nil), frame...), orig, &o.Match)
	d.Frame = f
	var m packet.Match
	if err != nil || m.Parse(f) != nil {
		m = o.Match
		m.ClearSeen()
		m.ClearModified()
	}
	d.Packet = packet.View(m)
	return d
}
