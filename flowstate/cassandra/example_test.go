package cassandra_test

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/cassandra"
	"github.com/hivenet/hivenet/topology"
)

// An agent's shared flow-state backend: every message it saves is written
// by ingress and egress port with the keys' idle expiry as TTL; a port's
// new host reads them back when the old host cannot hand them over. (Not
// run: it needs a Cassandra server.)
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := cassandra.New(ctx, cassandra.Config{
		Hosts:        []string{"cassandra-1:9042", "cassandra-2:9042"},
		CreateSchema: true,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		slog.Error("no shared flow-state store", "err", err)
		return
	}
	defer s.Close()
	vm := topology.NameID(topology.KindPort, "vm1")
	_ = s.Load(ctx, vm, func(m *flowstate.Message) error {
		slog.Info("restored", "conntrack", len(m.Conns), "nat", len(m.NATs))
		return nil
	})
}
