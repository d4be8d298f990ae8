package inproc

import (
	"fmt"
	"math/rand/v2"

	"github.com/hivenet/hivenet/datapath"
)

// run executes acts on p. It returns the first error (the packet is then
// dropped, as the kernel drops a packet whose action fails).
func (d *Datapath) run(p *pkt, acts datapath.Actions) error {
	for _, a := range acts {
		var err error
		switch a := a.(type) {
		case datapath.Output:
			d.output(p, a.Port)
		case datapath.Userspace:
			d.userspace(p, &a)
		case datapath.Set[datapath.EthernetKey]:
			err = p.setEthernet(&a.Value, &datapath.EthernetKey{Src: fullMAC, Dst: fullMAC})
		case datapath.SetMasked[datapath.EthernetKey]:
			err = p.setEthernet(&a.Value, &a.Mask)
		case datapath.Set[datapath.IPv4Key]:
			err = p.setIPv4(&a.Value, &allIPv4)
		case datapath.SetMasked[datapath.IPv4Key]:
			err = p.setIPv4(&a.Value, &a.Mask)
		case datapath.SetMasked[datapath.IPv6Key]:
			err = p.setIPv6(&a.Value, &a.Mask)
		case datapath.Set[datapath.TCPKey]:
			err = p.setPorts(protoTCP, a.Value.Src, a.Value.Dst, 0xffff, 0xffff)
		case datapath.SetMasked[datapath.TCPKey]:
			err = p.setPorts(protoTCP, a.Value.Src, a.Value.Dst, a.Mask.Src, a.Mask.Dst)
		case datapath.Set[datapath.UDPKey]:
			err = p.setPorts(protoUDP, a.Value.Src, a.Value.Dst, 0xffff, 0xffff)
		case datapath.SetMasked[datapath.UDPKey]:
			err = p.setPorts(protoUDP, a.Value.Src, a.Value.Dst, a.Mask.Src, a.Mask.Dst)
		case datapath.Set[datapath.TunnelKey]:
			p.egress, p.hasEgress = a.Value, true
		case datapath.Set[datapath.Mark]:
			p.key.SKBMark = a.Value
		case datapath.SetMasked[datapath.Mark]:
			p.key.SKBMark = p.key.SKBMark&^a.Mask | a.Value&a.Mask
		case datapath.Set[datapath.Priority]:
			p.key.Priority = a.Value
		case datapath.SetMasked[datapath.Priority]:
			p.key.Priority = p.key.Priority&^a.Mask | a.Value&a.Mask
		case datapath.PushVLAN:
			err = p.pushVLAN(a)
		case datapath.PopVLAN:
			err = p.popVLAN()
		case datapath.Trunc:
			if n := len(p.buf); n > int(a.MaxLen) {
				p.cutlen = n - int(a.MaxLen)
			}
		case datapath.Clone:
			err = d.runCopy(p, a.Actions)
		case datapath.CheckPktLen:
			// The frame's length as it is now, as the kernel's skb->len.
			if len(p.buf) > int(a.PktLen) {
				err = d.runCopy(p, a.Greater)
			} else {
				err = d.runCopy(p, a.LessEqual)
			}
		case datapath.Sample:
			if a.Probability == ^uint32(0) || (a.Probability != 0 && rand.Uint32() <= a.Probability) {
				err = d.runCopy(p, a.Actions)
			}
		case datapath.CTClear:
			p.key.CTState, p.key.CTZone, p.key.CTMark, p.key.CTLabels = 0, 0, 0, [16]byte{}
			p.key.CTOrigTuple = datapath.CTTuple{}
			p.key.Fields &^= datapath.KeyCTOrigTupleIPv4 | datapath.KeyCTOrigTupleIPv6
		case datapath.Meter:
		default:
			err = unsupported(fmt.Sprintf("action %T", a)) // refused by validation
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// runCopy runs acts on a copy of p (clone, sample), leaving p untouched.
func (d *Datapath) runCopy(p *pkt, acts datapath.Actions) error {
	q := *p
	q.owned = false
	return d.run(&q, acts)
}

// output sends the packet to port n; a missing port drops it silently, as
// in the kernel.
func (d *Datapath) output(p *pkt, n datapath.PortNumber) {
	f := p.cut()
	if pt := d.port(n); pt != nil {
		pt.transmit(f, p)
	}
}

// userspace queues an UpcallAction upcall for a Userspace action.
func (d *Datapath) userspace(p *pkt, a *datapath.Userspace) {
	full := len(p.buf)
	f := p.cut()
	if p.dirty {
		extractHeaders(p.buf, &p.key)
		p.dirty = false
	}
	m := d.getMsg()
	m.kind = datapath.UpcallAction
	m.key = p.key
	m.packet = append(m.packet[:0], f...)
	m.userdata = append(m.userdata[:0], a.Userdata...)
	m.len = 0
	if len(f) < full {
		m.len = uint32(full)
	}
	m.hasEgress, m.egress = false, datapath.TunnelKey{}
	if a.EgressTunnelPort != 0 && p.hasEgress {
		if tp := d.port(a.EgressTunnelPort); tp != nil && tp.vx != nil {
			m.egress, m.hasEgress = tp.vx.egressKey(tp, &p.egress), true
		}
	}
	m.actions = nil
	if a.WithActions {
		// A copy: the flow's own list is reused once the flow is gone.
		m.actions = cloneActions(p.acts)
	}
	d.queueUpcall(a.PID, m)
}
