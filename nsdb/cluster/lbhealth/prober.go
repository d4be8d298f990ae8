package lbhealth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// ErrProbe is wrapped by the errors of failed probes.
var ErrProbe = errors.New("lbhealth: probe failed")

// Target is one member to probe and where it belongs.
type Target struct {
	// Monitor, Pool and Member identify the probe's health monitor, the
	// member's pool and the member; LoadBalancer is the pool's load
	// balancer.
	Monitor, Pool, Member, LoadBalancer topology.ID
	// PoolName names the pool in logs.
	PoolName string
	// Addr is the member's address and port.
	Addr netip.AddrPort
}

// Prober probes a member. Probe returns nil if the member accepted a
// connection before ctx ended (ctx carries the monitor's timeout), an
// error wrapping ErrProbe otherwise. It is called concurrently for
// different members.
type Prober interface {
	Probe(ctx context.Context, t Target) error
}

// TCPProber probes with a TCP handshake from this host's network stack: a
// completed connection is success, and the connection is closed at once.
// Its zero value is ready to use.
type TCPProber struct {
	// Dialer dials the probes; set its LocalAddr to choose the source
	// address, or its Control to bind the socket (a network namespace, a
	// VRF).
	Dialer net.Dialer
	// Resolve, if set, gives the address to dial for a member instead of
	// the member's own (a NAT in front of the members; tests' loopback
	// listeners).
	Resolve func(t Target) netip.AddrPort
}

// Probe implements Prober.
func (p *TCPProber) Probe(ctx context.Context, t Target) error {
	addr := t.Addr
	if p.Resolve != nil {
		addr = p.Resolve(t)
	}
	c, err := p.Dialer.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrProbe, err)
	}
	c.Close()
	return nil
}
