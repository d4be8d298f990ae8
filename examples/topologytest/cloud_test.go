// Package topologytest checks what a controller's virtual network does
// with packets, on the pure simulator: no agent, no datapath, no store.
// Copy this file next to the topology file your controller generates and
// change topologyFile.
package topologytest

import (
	"net/netip"
	"testing"

	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/harness"
	"github.com/hivenet/hivenet/topology"
)

// topologyFile is the topology under test: two tenants behind a provider
// router (see its comments for the addresses and the security groups).
const topologyFile = "../topologies/two-tenant-cloud.yaml"

func newCloud(t *testing.T) *harness.Harness {
	t.Helper()
	h, err := harness.LoadFile(topologyFile, harness.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// The upstream gateway behind the uplink, outside the topology: it
	// answers the provider router's ARP requests.
	err = h.Plug("provider-uplink", topology.MustParseMAC("02:00:00:00:00:99"), netip.MustParseAddr("198.51.100.1"))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSecurityGroups(t *testing.T) {
	h := newCloud(t)
	// Same tenant: anything goes.
	h.MustSend(t, "vm1", harness.Ping("vm2")).ExpectDelivered(t, "vm2")
	h.MustSend(t, "vm1", harness.TCP("vm2:80")).ExpectDelivered(t, "vm2")
	// The other tenant gets SSH only.
	h.MustSend(t, "vm3", harness.TCP("vm2:22")).ExpectDelivered(t, "vm2")
	h.MustSend(t, "vm3", harness.TCP("vm2:80")).ExpectDropped(t, simulation.ReasonFilter)
}

func TestInternetAccess(t *testing.T) {
	h := newCloud(t)
	// vm2 goes out with its tenant's SNAT address...
	syn := h.MustSend(t, "vm2", harness.TCP("8.8.8.8:443"))
	out := syn.ExpectDelivered(t, "provider-uplink")
	if src := out.Packet.IPSrc(); src != netip.MustParseAddr("203.0.113.10") {
		t.Errorf("vm2's connection leaves from %s, want the SNAT address 203.0.113.10", src)
	}
	// ...and the server's answer is translated back to vm2.
	in := h.MustReply(t, syn).ExpectDelivered(t, "vm2")
	if dst := in.Packet.IPDst(); dst != netip.MustParseAddr("10.1.0.12") {
		t.Errorf("the answer reaches vm2 addressed to %s", dst)
	}
	// vm1's floating IP takes HTTP from the internet, and nothing else.
	web := harness.TCP("203.0.113.11:80").WithSrc("192.0.2.7")
	h.MustSend(t, "provider-uplink", web).ExpectDelivered(t, "vm1")
	mail := harness.TCP("203.0.113.11:25").WithSrc("192.0.2.7")
	h.MustSend(t, "provider-uplink", mail).ExpectDropped(t, simulation.ReasonFilter)
}
