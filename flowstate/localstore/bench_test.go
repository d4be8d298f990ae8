package localstore

import (
	"context"
	"testing"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/storetest"
	"github.com/hivenet/hivenet/topology"
)

// BenchmarkStoreSave saves one-connection messages (a conntrack key and
// two NAT entries, ingress and one egress port: two records) spread over
// 100 ports, with the background flusher writing them out every 20 ms.
// One op is one message; msgs/s is the store's write rate.
func BenchmarkStoreSave(b *testing.B) {
	s := open(b, Config{Dir: b.TempDir()})
	uplink := topology.NameID(topology.KindPort, "uplink")
	msgs := make([]*flowstate.Message, 100)
	for i := range msgs {
		msgs[i] = storetest.Message(testHost, topology.NameID(topology.KindPort, string(rune('a'+i))), []topology.ID{uplink}, testRouter, i, 1)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Save(ctx, msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkStoreLoad loads a port holding 100,000 one-connection messages
// (about 16 MB of records); one op is the whole load.
func BenchmarkStoreLoad(b *testing.B) {
	s := open(b, Config{Dir: b.TempDir()})
	port := topology.NameID(topology.KindPort, "vm")
	saveN(b, s, port, 0, 100_000)
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		err := s.Load(context.Background(), port, func(m *flowstate.Message) error { n += len(m.Conns); return nil })
		if err != nil || n != 100_000 {
			b.Fatalf("loaded %d connections, %v", n, err)
		}
	}
	b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "conns/s")
}
