package lbhealth_test

import (
	"context"
	"testing"

	"github.com/hivenet/hivenet/nsdb/cluster/lbhealth"
)

// BenchmarkTCPProbe is one probe of a listening member on loopback: a TCP
// handshake and close.
func BenchmarkTCPProbe(b *testing.B) {
	be := newBackend(b)
	p := &lbhealth.TCPProber{}
	target := lbhealth.Target{Addr: be.addr}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Probe(ctx, target); err != nil {
			b.Fatal(err)
		}
	}
}
