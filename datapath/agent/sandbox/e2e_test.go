package sandbox_test

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent/sandbox"
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

func startCluster(t *testing.T, topo *topology.Topology, stateful bool) *sandbox.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sandbox.Start(ctx, sandbox.Config{Topology: topo, Logger: testLogger(), Stateful: stateful})
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
	c := startCluster(t, loadTopology(t, "two-tenant-cloud.yaml"), false)
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

// startTwoTenant starts the two-tenant cloud with its VMs. Without flow
// state ICMP gets kernel flows; with it, conntrack reads the ICMP echo
// identifier and pings are handled in userspace (as in the reference).
func startTwoTenant(t *testing.T, stateful bool) *sandbox.Env {
	t.Helper()
	c := startCluster(t, loadTopology(t, "two-tenant-cloud.yaml"), stateful)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := sandbox.StartTwoTenantVMs(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
