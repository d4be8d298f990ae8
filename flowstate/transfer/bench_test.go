package transfer

import (
	"context"
	"testing"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/flowstate/storetest"
	"github.com/hivenet/hivenet/topology"
)

// BenchmarkPeerTransfer100k moves a port holding 100,000 connections (each
// a one-connection message: a conntrack key and two NAT entries, as the
// agent saves them) from a server on loopback, read from its local store,
// to a client that decodes every message. One op is one whole transfer.
func BenchmarkPeerTransfer100k(b *testing.B) { benchmarkPeerTransfer(b, nil) }

// BenchmarkPeerTransfer100kAuth is BenchmarkPeerTransfer100k authenticated:
// every frame signed by the server and verified by the client.
func BenchmarkPeerTransfer100kAuth(b *testing.B) { benchmarkPeerTransfer(b, testKeys(b, 1)) }

func benchmarkPeerTransfer(b *testing.B, keys *auth.Keyring) {
	st := localStore(b)
	vm := topology.NameID(topology.KindPort, "vm")
	for i := range 100_000 {
		if err := st.Save(context.Background(), storetest.Message(host, vm, nil, router, i, 1)); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Flush(); err != nil {
		b.Fatal(err)
	}
	addr, _ := serve(b, ServerConfig{Store: st, Keys: keys})
	c := Client{Keys: keys}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		res, err := c.Fetch(context.Background(), addr, vm, func(m *flowstate.Message) error { n += len(m.Conns); return nil })
		if err != nil || n != 100_000 {
			b.Fatalf("fetched %d connections (%+v), %v", n, res, err)
		}
	}
	b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "conns/s")
}
