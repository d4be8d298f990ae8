package harness

import (
	"context"
	"fmt"

	"github.com/hivenet/hivenet/simulation/packet"
)

// Reply sends the answer to the packet r delivered, from the port it was
// delivered to, as the machine there would: an echo reply to an echo
// request, SYN+ACK to a SYN and ACK to other TCP segments, a UDP datagram
// back, an ARP reply to an ARP request. Addresses, ports and MACs are the
// delivered packet's, swapped (so a reply to a translated packet goes to
// the translated address). r must have delivered to exactly one port; see
// ReplyFrom otherwise.
func (h *Harness) Reply(r *Result) (*Result, error) {
	if len(r.Delivered) != 1 {
		return nil, fmt.Errorf("%w: the packet was delivered to %d ports (%s): use ReplyFrom", ErrNoReply, len(r.Delivered), r)
	}
	return h.ReplyFrom(r, r.Delivered[0].Port)
}

// MustReply is Reply for tests: an error fails the test (t.Fatalf).
func (h *Harness) MustReply(t T, r *Result) *Result {
	t.Helper()
	back, err := h.Reply(r)
	if err != nil {
		t.Fatalf("reply to the packet from %s (%s): %v", r.From, r, err)
	}
	return back
}

// ReplyFrom is Reply for the copy of the packet delivered to the port
// named port.
func (h *Harness) ReplyFrom(r *Result, port string) (*Result, error) {
	d, ok := r.At(port)
	if !ok {
		return nil, fmt.Errorf("%w: the packet was not delivered to %q (%s)", ErrNoReply, port, r)
	}
	p, err := ReplyTo(d)
	if err != nil {
		return nil, err
	}
	return h.SendContext(context.Background(), port, p)
}

// ReplyTo returns the answer to the delivered packet d (see Reply), to be
// sent from d's port.
func ReplyTo(d *Delivery) (Packet, error) {
	v := &d.Packet
	switch v.EtherType() {
	case packet.EtherTypeARP:
		if v.ARPOp() != packet.ARPRequest {
			return Packet{}, fmt.Errorf("%w: an ARP reply", ErrNoReply)
		}
		return Packet{kind: kindARPReply, to: v.ARPSPA().String(), src: v.ARPTPA(), dstMAC: v.ARPSHA(), vlan: outerVLAN(v)}, nil
	case packet.EtherTypeIPv4:
	default:
		return Packet{}, fmt.Errorf("%w: ethertype %#04x", ErrNoReply, v.EtherType())
	}
	p := Packet{to: v.IPSrc().String(), src: v.IPDst(), dstMAC: v.EthSrc(), vlan: outerVLAN(v)}
	if m := v.EthDst(); m.IsUnicast() {
		p.srcMAC = m
	}
	switch v.IPProto() {
	case packet.ProtoICMP:
		if v.ICMPType() != packet.ICMPEchoRequest {
			return Packet{}, fmt.Errorf("%w: ICMP type %d", ErrNoReply, v.ICMPType())
		}
		p.kind, p.echoID = kindEchoReply, v.ICMPID()
	case packet.ProtoTCP:
		p.kind, p.flags = kindTCP, ACK
		if v.TCPFlags()&(SYN|ACK) == SYN {
			p.flags = SYN | ACK
		}
	case packet.ProtoUDP:
		p.kind = kindUDP
	default:
		return Packet{}, fmt.Errorf("%w: IP protocol %d", ErrNoReply, v.IPProto())
	}
	p.srcPort, p.dstPort = v.DstPort(), v.SrcPort()
	if l := v.Layout(); int(l.Payload) <= int(l.End) && int(l.End) <= len(d.Frame) && l.Payload > 0 {
		p.payload = append([]byte(nil), d.Frame[l.Payload:l.End]...)
	}
	return p, nil
}

func outerVLAN(v *packet.View) uint16 {
	if t, ok := v.VLANs().Outer(); ok {
		return t.ID
	}
	return 0
}
