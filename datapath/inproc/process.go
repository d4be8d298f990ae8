package inproc

import (
	"context"

	"github.com/hivenet/hivenet/datapath"
)

// receive processes a frame that arrived on port pt (tun: the tunnel
// metadata of a frame decapsulated by a tunnel port): flow lookup, then the
// flow's actions or a miss upcall. frame is not retained or modified.
func (d *Datapath) receive(pt *port, frame []byte, tun *datapath.TunnelKey) {
	pt.rxPackets.Add(1)
	pt.rxBytes.Add(uint64(len(frame)))
	var p pkt
	p.buf = frame
	receiveKey(frame, pt.no, tun, &p.key)
	f, acts := d.lookup(&p.key, len(frame))
	if f == nil {
		d.missed.Add(1)
		d.upcallMiss(pt, &p)
		return
	}
	d.hit.Add(1)
	p.acts = acts
	if err := d.run(&p, acts); err != nil {
		pt.rxDropped.Add(1)
		d.log.Debug("inproc: actions failed, packet dropped", "port", pt.no, "err", err)
	}
	f.pins.Add(-1)
}

// lookup finds the megaflow for a packet key, updating its statistics
// (n bytes) when found. The flow is returned pinned (the caller unpins it
// once done with its actions). It does not allocate.
func (d *Datapath) lookup(k *datapath.FlowKey, n int) (*flow, datapath.Actions) {
	var fk flatKey
	flatten(k, &fk, false)
	d.flowMu.RLock()
	f, probes, cached := d.cls.lookup(&fk)
	var acts datapath.Actions
	if f != nil {
		acts = *f.acts.Load()
		f.pins.Add(1)
		f.hit(n, k.TCPFlags, d.now())
	}
	d.flowMu.RUnlock()
	d.maskHit.Add(uint64(probes))
	if cached {
		d.cacheHit.Add(1)
	}
	return f, acts
}

// flowHash is a hash of the packet's addresses and ports, used like the
// skb hash to spread a port's upcalls over its PIDs.
func flowHash(k *datapath.FlowKey) uint32 {
	var fk flatKey
	flatten(k, &fk, false)
	h := uint64(14695981039346656037)
	for _, i := range [...]int{0, 4, 5, 6, 20, 21, 22, 23} {
		h ^= fk[i]
		h *= 1099511628211
	}
	return uint32(h ^ h>>32)
}

func (d *Datapath) upcallMiss(pt *port, p *pkt) {
	pid := pt.upcallPID(flowHash(&p.key))
	m := d.getMsg()
	m.kind = datapath.UpcallMiss
	m.key = p.key
	m.packet = append(m.packet[:0], p.buf...)
	m.userdata = m.userdata[:0]
	m.hasEgress, m.egress = false, datapath.TunnelKey{}
	m.actions, m.len = nil, 0
	d.queueUpcall(pid, m)
}

// metadataFields are the groups of an Execute key that describe the packet
// rather than its headers.
const metadataFields = datapath.KeyInPort | datapath.KeyPriority | datapath.KeySKBMark | datapath.KeyRecircID |
	datapath.KeyDPHash | datapath.KeyTunnel | datapath.KeyCTState | datapath.KeyCTZone | datapath.KeyCTMark |
	datapath.KeyCTLabels | datapath.KeyCTOrigTupleIPv4 | datapath.KeyCTOrigTupleIPv6

// Execute implements datapath.Datapath (OVS_PACKET_CMD_EXECUTE): the
// metadata groups of key (in port, priority, mark, tunnel, recirc id, dp
// hash, conntrack) are kept, the headers are extracted from packet, the
// actions are validated against that key and run on a copy of packet
// (packet itself is never modified). Outputs are delivered before Execute
// returns. A missing or out-of-range input port is treated as the kernel
// does: the packet enters through the local port, and the key reported by
// a userspace action then has no in_port.
func (d *Datapath) Execute(ctx context.Context, packet []byte, key *datapath.FlowKey, actions datapath.Actions) error {
	const op = "packet execute"
	if err := d.checkOpen(ctx, op); err != nil {
		return err
	}
	if len(packet) < ethHdrLen || len(packet) > 0xffff {
		return opErr(op, invalid("packet of %d bytes", len(packet)))
	}
	var p pkt
	p.buf = packet
	p.key.Fields = metaFields
	if key != nil {
		// In place: Canonical's value receiver and result copied the
		// 512-byte key three times on the way to p.key.
		p.key = *key
		p.key.Canonicalize()
		if p.key.Fields&datapath.KeyInPort != 0 && p.key.InPort >= maxPorts {
			return opErr(op, invalid("in_port %d", p.key.InPort))
		}
		p.key.Fields = p.key.Fields&metadataFields | metaFields
	}
	extractHeaders(packet, &p.key)
	if err := validateActions(actions, actionKeyOf(&p.key), 0); err != nil {
		return opErr(op, err)
	}
	p.acts = actions
	if err := d.run(&p, actions); err != nil {
		return opErr(op, err)
	}
	return nil
}
