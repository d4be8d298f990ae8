package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"time"

	"github.com/hivenet/hivenet/simulation/harness"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// Sent is a packet Cluster.Send sent, to wait for where it arrives.
type Sent struct {
	// From is the VM that sent it; Frame the frame as sent.
	From  *VM
	Frame []byte
	At    time.Time

	c     *Cluster
	match packet.Match // Frame parsed
	mark  []byte       // the payload that identifies the packet's copies
}

// Send sends p from the VM started on the port named from, as that VM
// would: from its MAC and address, to the MAC of its next hop resolved
// with ARP (the destination on its subnet, else its gateway), destinations
// named by VM (the cluster's VMs, then the topology's DHCP host entries)
// or router port. These are the packets simulation/harness sends, so one
// scenario runs on the simulator and on agents. An IP packet without a
// payload gets one unique to it, which is how Sent recognizes its copies.
func (c *Cluster) Send(ctx context.Context, from string, p harness.Packet) (*Sent, error) {
	vm, ok := c.VM(from)
	if !ok {
		return nil, fmt.Errorf("sandbox: no VM started on port %q", from)
	}
	if len(p.Payload()) == 0 {
		var id [8]byte
		_, _ = rand.Read(id[:]) // never fails
		p = p.WithPayload(fmt.Appendf(nil, "hivenet sandbox packet %x", id))
	}
	f, err := p.Build(c.sender(ctx, vm))
	if err != nil {
		return nil, err
	}
	s := &Sent{From: vm, Frame: f, c: c}
	if err := s.match.Parse(f); err != nil {
		return nil, fmt.Errorf("sandbox: the packet built does not parse: %w", err)
	}
	s.mark = payload(f, s.match.Peek())
	s.At = time.Now()
	if err := vm.send(f); err != nil {
		return nil, err
	}
	return s, nil
}

// sender is what building a packet sent by vm needs.
func (c *Cluster) sender(ctx context.Context, vm *VM) harness.Sender {
	return harness.Sender{
		MAC:    vm.MAC(),
		Addr:   vm.Addr(),
		Lookup: c.lookup,
		NextHop: func(_, dst netip.Addr) (topology.MAC, error) {
			return vm.nextHop(ctx, dst)
		},
	}
}

// lookup returns the address of a VM or router port by name.
func (c *Cluster) lookup(name string) (netip.Addr, bool) {
	if vm, ok := c.VM(name); ok && vm.Addr().IsValid() {
		return vm.Addr(), true
	}
	c.mu.Lock()
	snap := topology.NewSnapshot(c.topo)
	c.mu.Unlock()
	for _, v := range harness.VMs(snap) {
		if v.Name == name && v.Addr.IsValid() {
			return v.Addr, true
		}
	}
	if p, ok := c.Port(name); ok && p.IsRouterPort() && p.Address.IsValid() {
		return p.Address, true
	}
	return netip.Addr{}, false
}

// payload returns the bytes after the transport header of a parsed frame.
func payload(f []byte, v *packet.View) []byte {
	l := v.Layout()
	if l.Payload == 0 || int(l.Payload) > int(l.End) || int(l.End) > len(f) {
		return nil
	}
	return f[l.Payload:l.End]
}

// copyOf reports whether a received frame is a copy of the sent packet,
// whatever the network rewrote: same IP protocol and payload for IP
// packets, same operation and addresses for ARP, same bytes otherwise.
func (s *Sent) copyOf(p *Packet) bool {
	if p.At.Before(s.At) {
		return false
	}
	sv, v := s.match.Peek(), p.View()
	if sv.EtherType() != v.EtherType() {
		return false
	}
	switch sv.EtherType() {
	case packet.EtherTypeIPv4:
		return v.IPProto() == sv.IPProto() && (v.IPProto() != packet.ProtoICMP || v.ICMPType() == sv.ICMPType()) &&
			bytes.Equal(payload(p.Frame, v), s.mark)
	case packet.EtherTypeARP:
		return v.ARPOp() == sv.ARPOp() && v.ARPSHA() == sv.ARPSHA() && v.ARPSPA() == sv.ARPSPA() && v.ARPTPA() == sv.ARPTPA()
	}
	return bytes.Equal(p.Frame, s.Frame)
}

// WaitDelivered waits until the VM started on the port named to receives
// the packet, and returns the copy it received (rewrites applied).
func (s *Sent) WaitDelivered(ctx context.Context, to string) (*Packet, error) {
	vm, ok := s.c.VM(to)
	if !ok {
		return nil, fmt.Errorf("sandbox: no VM started on port %q", to)
	}
	return vm.WaitFor(ctx, s.copyOf)
}

// WaitReply waits until the sending VM receives the answer to the packet:
// an echo reply with its identifier, or a TCP or UDP packet from its
// destination port to its source port (translated back, if the network
// translated the packet).
func (s *Sent) WaitReply(ctx context.Context) (*Packet, error) {
	sv := s.match.Peek()
	return s.From.WaitFor(ctx, func(p *Packet) bool {
		if p.At.Before(s.At) {
			return false
		}
		v := p.View()
		if v.EtherType() != packet.EtherTypeIPv4 || v.IPProto() != sv.IPProto() || v.IPDst() != sv.IPSrc() {
			return false
		}
		switch sv.IPProto() {
		case packet.ProtoICMP:
			return v.ICMPType() == packet.ICMPEchoReply && v.ICMPID() == sv.ICMPID()
		case packet.ProtoTCP, packet.ProtoUDP:
			return v.SrcPort() == sv.DstPort() && v.DstPort() == sv.SrcPort()
		}
		return false
	})
}
