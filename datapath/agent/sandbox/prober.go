package sandbox

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/hivenet/hivenet/nsdb/cluster/lbhealth"
	"github.com/hivenet/hivenet/simulation/packet"
)

// Prober is a health-monitor prober (lbhealth.Prober) whose probes travel
// the overlay, as the reference's haproxy's did: a TCP SYN from a VM
// plugged into a port of the load balancer's router (a link-local /30,
// say), routed by the agents to the member; a SYN-ACK within the probe's
// timeout is success (the probe then resets the connection), anything
// else failure. Members are VMs answering SYNs on their VMConfig.TCPListen
// ports (VM.SetTCPListen stops and restarts their service).
//
// It is the in-process counterpart of a probe namespace whose interface is
// bound to a router port, which needs a kernel datapath and root.
type Prober struct {
	// VM sends the probes; its gateway is the router port's address.
	VM    *VM
	sport atomic.Uint32
}

var _ lbhealth.Prober = (*Prober)(nil)

// Probe implements lbhealth.Prober.
func (p *Prober) Probe(ctx context.Context, t lbhealth.Target) error {
	sport := uint16(32768 + p.sport.Add(1)%28000)
	r, err := p.VM.SendTCP(ctx, t.Addr.Addr(), sport, t.Addr.Port(), 0x02, true)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", lbhealth.ErrProbe, t.Addr, err)
	}
	v := r.View()
	if v.IPProto() != packet.ProtoTCP || v.IPSrc() != t.Addr.Addr() || v.TCPFlags()&0x12 != 0x12 {
		return fmt.Errorf("%w: %s answered %v", lbhealth.ErrProbe, t.Addr, r)
	}
	_, _ = p.VM.SendTCP(ctx, t.Addr.Addr(), sport, t.Addr.Port(), 0x04, false) // RST
	return nil
}
