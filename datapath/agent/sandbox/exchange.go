package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/hivenet/hivenet/simulation/packet"
)

// Expect waits for a received frame that satisfies match (frames
// received before the call are not considered).
func (v *VM) expect(ctx context.Context, match func(*Packet) bool, send func() error) (*Packet, error) {
	w := &waiter{match: match, ch: make(chan *Packet, 1)}
	v.mu.Lock()
	v.waiters[w] = struct{}{}
	v.mu.Unlock()
	defer func() {
		v.mu.Lock()
		delete(v.waiters, w)
		v.mu.Unlock()
	}()
	if send != nil {
		if err := send(); err != nil {
			return nil, err
		}
	}
	// A sender that waits for an answer sends again when none comes, with
	// the doubling timeout a TCP stack retransmits a SYN with (RFC 6298:
	// 1 s first). A datapath may lose a packet as a real one does (a full
	// upcall queue, an ARP request lost while the next hop is resolved),
	// and a VM's stack would not give up on the first loss either.
	rto := time.Second
	retransmit := time.NewTimer(rto)
	defer retransmit.Stop()
	for {
		select {
		case p := <-w.ch:
			return p, nil
		case <-retransmit.C:
			if send != nil {
				if err := send(); err != nil {
					return nil, err
				}
			}
			rto = min(2*rto, 8*time.Second)
			retransmit.Reset(rto)
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %s: %w", ErrTimeout, v.cfg.Name, ctx.Err())
		}
	}
}

// DeliverTCPData sends a TCP segment with flags and data from sport to
// dst:dport and sends it again, as a TCP stack retransmits an
// unacknowledged segment (1 s, then doubling), until the VM to has
// received a TCP segment carrying data (to any port: NAT may have
// translated it); it returns that segment as to received it. Tests use it where what matters is where the segment goes
// (which backend, from which translated address), not that the first copy
// survives a loaded machine.
func (v *VM) DeliverTCPData(ctx context.Context, to *VM, dst netip.Addr, sport, dport, flags uint16, data []byte) (*Packet, error) {
	f, err := v.l4Frame(ctx, packet.ProtoTCP, dst, sport, dport, flags, data)
	if err != nil {
		return nil, err
	}
	return to.expect(ctx, func(p *Packet) bool {
		x := p.View()
		return x.EtherType() == packet.EtherTypeIPv4 && x.IPProto() == packet.ProtoTCP && bytes.Contains(p.Frame, data)
	}, func() error { return v.send(f) })
}
