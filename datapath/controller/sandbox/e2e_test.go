package sandbox_test

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/controller/sandbox"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

func loadTopology(t *testing.T, name string) *topology.Topology {
	t.Helper()
	topo, err := topofile.LoadFile("../../../examples/topologies/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func testLogger() *slog.Logger {
	if os.Getenv("HIVENET_SANDBOX_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

func startCluster(t *testing.T, topo *topology.Topology) *sandbox.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sandbox.Start(ctx, sandbox.Config{Topology: topo, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func startVM(t *testing.T, c *sandbox.Cluster, port, mac, addr, gw string) *sandbox.VM {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg := sandbox.VMConfig{MAC: topology.MustParseMAC(mac), Addr: netip.MustParsePrefix(addr)}
	if gw != "" {
		cfg.Gateway = netip.MustParseAddr(gw)
	}
	vm, err := c.StartVM(ctx, port, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

func TestPingL2AcrossHosts(t *testing.T) {
	c := startCluster(t, loadTopology(t, "two-tenant-cloud.yaml"))
	vm1 := startVM(t, c, "vm1", "fa:16:3e:0a:00:11", "10.1.0.11/24", "10.1.0.1")
	vm2 := startVM(t, c, "vm2", "fa:16:3e:0a:00:12", "10.1.0.12/24", "10.1.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := vm1.Ping(ctx, vm2.Addr()); err != nil {
		t.Fatal(err)
	}
	if _, err := vm2.Ping(ctx, vm1.Addr()); err != nil {
		t.Fatal(err)
	}
}

func TestDebugFlows(t *testing.T) {
	c := startCluster(t, loadTopology(t, "two-tenant-cloud.yaml"))
	vm1 := startVM(t, c, "vm1", "fa:16:3e:0a:00:11", "10.1.0.11/24", "10.1.0.1")
	vm2 := startVM(t, c, "vm2", "fa:16:3e:0a:00:12", "10.1.0.12/24", "10.1.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range 3 {
		if _, err := vm1.Ping(ctx, vm2.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range c.Hosts() {
		for _, f := range h.Agent().Flows() {
			t.Logf("%s: %s mask %s -> %s (%s)", h.Name, f.Key.String(), f.Mask.String(), f.Actions.String(), f.Class)
		}
		for f, err := range h.Datapath.Flows(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s DP: %s -> %s", h.Name, f.Match.Key.String(), f.Actions.String())
		}
		st := h.Datapath.Stats()
		t.Logf("%s stats %+v", h.Name, st)
	}
}
