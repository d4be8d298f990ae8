package inproc

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/hivenet/hivenet/datapath"
)

// port is one datapath port. Its identity fields are immutable; counters
// and upcall PIDs are atomics.
type port struct {
	d       *Datapath
	no      datapath.PortNumber
	typ     datapath.PortType
	name    string
	dstPort uint16
	pids    atomic.Pointer[[]uint32]

	rxPackets, rxBytes, rxErrors, rxDropped atomic.Uint64
	txPackets, txBytes, txErrors, txDropped atomic.Uint64

	ep        *Endpoint  // internal and netdev ports
	vx        *vxlanPort // VXLAN ports
	closeOnce sync.Once
}

func (d *Datapath) newPort(no datapath.PortNumber, typ datapath.PortType, name string, dst uint16, pids []uint32) *port {
	p := &port{d: d, no: no, typ: typ, name: name, dstPort: dst}
	p.setPIDs(pids)
	if typ == datapath.PortInternal || typ == datapath.PortNetdev {
		p.ep = &Endpoint{p: p, rx: make(chan []byte, d.epQ), done: make(chan struct{})}
	}
	return p
}

func (p *port) setPIDs(pids []uint32) {
	c := slices.Clone(pids)
	if len(c) == 0 {
		c = []uint32{0}
	}
	p.pids.Store(&c)
}

// upcallPID picks the socket for a packet with hash h, as the kernel picks
// among a port's PIDs by skb hash.
func (p *port) upcallPID(h uint32) uint32 {
	pids := *p.pids.Load()
	return pids[h%uint32(len(pids))]
}

func (p *port) info() datapath.Port {
	return datapath.Port{
		Number: p.no, Type: p.typ, Name: p.name, DstPort: p.dstPort,
		UpcallPIDs: slices.Clone(*p.pids.Load()),
		Stats: datapath.PortStats{
			RxPackets: p.rxPackets.Load(), TxPackets: p.txPackets.Load(),
			RxBytes: p.rxBytes.Load(), TxBytes: p.txBytes.Load(),
			RxErrors: p.rxErrors.Load(), TxErrors: p.txErrors.Load(),
			RxDropped: p.rxDropped.Load(), TxDropped: p.txDropped.Load(),
		},
	}
}

func (p *port) close() {
	p.closeOnce.Do(func() {
		if p.ep != nil {
			close(p.ep.done)
		}
		if p.vx != nil {
			p.vx.close()
		}
	})
}

// transmit hands a frame the datapath outputs to the port. frame is not
// retained.
func (p *port) transmit(frame []byte, pk *pkt) {
	switch {
	case p.ep != nil:
		p.ep.deliver(frame)
	case p.vx != nil:
		p.vx.send(p, frame, pk)
	default:
		p.txDropped.Add(1)
	}
}

// Endpoint is the far side of an internal or netdev port: what a VM's
// interface or the host stack would be. Frames sent through it enter the
// datapath on its port; frames the datapath outputs to the port are queued
// for Receive.
type Endpoint struct {
	p    *port
	rx   chan []byte
	done chan struct{}
	// free holds the frames given back by Release, made by its first
	// call: an endpoint whose reader releases frames receives without
	// allocating.
	free     atomic.Pointer[chan []byte]
	freeOnce sync.Once
}

// Endpoint returns the endpoint of internal or netdev port n. It fails
// with ENODEV if the port does not exist and EINVAL if it is a tunnel port.
func (d *Datapath) Endpoint(n datapath.PortNumber) (*Endpoint, error) {
	p := d.port(n)
	if p == nil {
		return nil, opErr("endpoint", errno(syscall.ENODEV))
	}
	if p.ep == nil {
		return nil, opErr("endpoint", invalid("port %d is a %s port", n, p.typ))
	}
	return p.ep, nil
}

// Port returns the endpoint's port number.
func (e *Endpoint) Port() datapath.PortNumber { return e.p.no }

// Send injects frame as if received on the port, and processes it before
// returning: flow lookup, actions (outputs to other endpoints are queued,
// outputs to VXLAN ports are sent), or a miss upcall. frame is not
// retained. It fails with ENODEV once the port is deleted, and with EINVAL
// for a frame shorter than an Ethernet header or longer than 65535 bytes.
// Failures of the actions themselves are not reported (they are counted,
// as the kernel counts them).
func (e *Endpoint) Send(frame []byte) error {
	select {
	case <-e.done:
		return opErr("endpoint send", errno(syscall.ENODEV))
	default:
	}
	if len(frame) < ethHdrLen || len(frame) > 0xffff {
		e.p.rxErrors.Add(1)
		return opErr("endpoint send", invalid("frame of %d bytes", len(frame)))
	}
	e.p.d.receive(e.p, frame, nil)
	return nil
}

// Receive returns the next frame output to the port, blocking until one
// arrives, ctx is done, or the port is deleted (ENODEV). The frame belongs
// to the caller.
func (e *Endpoint) Receive(ctx context.Context) ([]byte, error) {
	select {
	case f := <-e.rx:
		return f, nil
	default:
	}
	select {
	case f := <-e.rx:
		return f, nil
	case <-ctx.Done():
		return nil, opErr("endpoint receive", ctx.Err())
	case <-e.done:
		return nil, opErr("endpoint receive", errno(syscall.ENODEV))
	}
}

// Release gives back a frame returned by Receive, once the caller is done
// with it: later frames output to the port reuse its memory. The caller
// must not use frame afterwards. Calling it is optional.
func (e *Endpoint) Release(frame []byte) {
	e.freeOnce.Do(func() {
		c := make(chan []byte, cap(e.rx))
		e.free.Store(&c)
	})
	select {
	case *e.free.Load() <- frame[:0]:
	default:
	}
}

// Pending returns the number of frames waiting to be received.
func (e *Endpoint) Pending() int { return len(e.rx) }

func (e *Endpoint) deliver(frame []byte) {
	select {
	case <-e.done:
		e.p.txDropped.Add(1)
		return
	default:
	}
	var c []byte
	if free := e.free.Load(); free != nil {
		select {
		case c = <-*free:
		default:
		}
	}
	c = append(c[:0], frame...)
	select {
	case e.rx <- c:
		e.p.txPackets.Add(1)
		e.p.txBytes.Add(uint64(len(frame)))
	default:
		e.p.txDropped.Add(1)
	}
}

// String describes the endpoint.
func (e *Endpoint) String() string { return fmt.Sprintf("%s port %d (%s)", e.p.typ, e.p.no, e.p.name) }
