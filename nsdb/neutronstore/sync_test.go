package neutronstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/neutronstore"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/neutron"
)

// The Syncer binds a port as soon as the host it names is created, and
// links the external subnets to a provider router created after them.
func TestSyncer(t *testing.T) {
	c := backends["memory"](t)()
	s, _ := neutronstore.New(neutronstore.Config{NSDB: c})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	net, sub, port := topology.NameID(topology.KindBridge, "n"), topology.NameID(topology.KindDHCPSubnet, "s"), topology.NameID(topology.KindPort, "p")
	if _, err := s.Update(ctx, func(m *neutron.Model) error {
		if _, err := m.CreateNetwork(net, neutron.NetworkFields{External: ptr(true)}); err != nil {
			return err
		}
		if _, err := m.CreateSubnet(sub, neutron.SubnetFields{NetworkID: &net, CIDR: ptr(mustPrefix("203.0.113.0/24"))}); err != nil {
			return err
		}
		_, err := m.CreatePort(port, neutron.PortFields{NetworkID: &net, Host: ptr("late"), PortSecurity: ptr(false)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	never := make(chan time.Time)
	y := &neutronstore.Syncer{Store: s, After: func(time.Duration) <-chan time.Time { return never }}
	done := make(chan error, 1)
	go func() { done <- y.Run(ctx) }()
	host := &topology.Host{ID: topology.NameID(topology.KindHost, "late"), Name: "late"}
	prov := &topology.Router{ID: topology.NameID(topology.KindRouter, "provider"), Name: "provider"}
	if _, err := c.Store().Commit(ctx, nsdb.Create(host), nsdb.Create(prov)); err != nil {
		t.Fatal(err)
	}
	w, err := c.Store().WatchKinds(ctx, topology.KindPort)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	bound, linked := false, false
	for !bound || !linked {
		evs, err := w.Next(ctx)
		if err != nil {
			t.Fatalf("port bound %v, provider port %v: %v", bound, linked, err)
		}
		for _, ev := range evs {
			if p, ok := ev.Object.(*topology.Port); ok {
				bound = bound || p.ID == port && p.Host == host.ID
				linked = linked || p.Router == prov.ID && p.Address == mustPrefix("203.0.113.1/32").Addr()
			}
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
}
