package main

import (
	"context"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/harness"
	"github.com/hivenet/hivenet/topology"
)

// The openstack command builds the README's cloud through a node (memory
// NSDB): what the NSDB then holds lets the VMs bound to the ports reach
// each other as their security groups say, reach the outside through the
// router's SNAT, and be reached through the floating IP — checked on the
// simulator, tables included. The README's teardown leaves the NSDB as it
// was.
func TestOpenStackCLI(t *testing.T) {
	openstackCommand(t)
	cmds := readmeOpenStack(t)
	c, addr := runNode(t, "-nsdb", "memory", "-node", "openstack")
	ctx := context.Background()
	if _, err := c.Store().Commit(ctx, nsdb.PutAll(base())...); err != nil {
		t.Fatal(err)
	}
	before := dumpNSDB(t, c)
	openstack(t, addr, cmds[0])

	vm1, vm2 := cloudPort(t, c, "vm1"), cloudPort(t, c, "vm2")
	if vm1.FixedIPs[0].Addr != vm1Addr || vm2.FixedIPs[0].Addr != vm2Addr {
		t.Fatalf("ports have addresses %v and %v", vm1.FixedIPs, vm2.FixedIPs)
	}
	h := simulate(t, c)
	n1, n2 := vm1.NativeName(), vm2.NativeName()
	for _, vm := range []string{n1, n2} {
		if _, ok := h.VM(vm); !ok {
			t.Fatalf("no VM behind bridge port %s", vm)
		}
	}

	// vm1 (group web): SSH and ping from anywhere, HTTP from the default
	// group's members; vm2 (default group): everything from the default
	// group's members only.
	h.MustSend(t, n2, harness.TCP(n1+":22")).ExpectDelivered(t, n1)
	h.MustSend(t, n2, harness.TCP(n1+":80")).ExpectDelivered(t, n1)
	h.MustSend(t, n2, harness.TCP(n1+":25")).ExpectDropped(t, simulation.ReasonFilter)
	h.MustSend(t, n2, harness.Ping(n1)).ExpectDelivered(t, n1)
	h.MustSend(t, n1, harness.TCP(n2+":80")).ExpectDropped(t, simulation.ReasonFilter)
	syn := h.MustSend(t, n2, harness.TCP(n1+":22"))
	syn.ExpectDelivered(t, n1)
	h.MustReply(t, syn).ExpectDelivered(t, n2)
	// Anti-spoofing, and vm2's allowed address pair.
	h.MustSend(t, n1, harness.TCP("10.0.0.99:1000->8.8.8.8:443")).ExpectDropped(t, simulation.ReasonFilter)
	h.MustSend(t, n2, harness.TCP("10.0.0.200:1000->"+n1+":22")).ExpectDelivered(t, n1)

	// The outside through r1's SNAT, and back.
	out := h.MustSend(t, n2, harness.TCP("8.8.8.8:443"))
	if src := out.ExpectDelivered(t, "provider-uplink").Packet.IPSrc(); src != snatAddr {
		t.Fatalf("vm2's connection leaves from %s, want r1's gateway address %s", src, snatAddr)
	}
	if dst := h.MustReply(t, out).ExpectDelivered(t, n2).Packet.IPDst(); dst != vm2Addr {
		t.Fatalf("the answer reaches vm2 addressed to %s", dst)
	}
	// The floating IP: SSH in (answered from the floating IP), HTTP from
	// the outside dropped, vm1's own connections out with it.
	in := h.MustSend(t, "provider-uplink", harness.TCP(floatingIP.String()+":22").WithSrc("192.0.2.7"))
	if dst := in.ExpectDelivered(t, n1).Packet.IPDst(); dst != vm1Addr {
		t.Fatalf("the floating IP's traffic reaches vm1 addressed to %s", dst)
	}
	if src := h.MustReply(t, in).ExpectDelivered(t, "provider-uplink").Packet.IPSrc(); src != floatingIP {
		t.Fatalf("vm1 answers from %s, want its floating IP", src)
	}
	h.MustSend(t, "provider-uplink", harness.TCP(floatingIP.String()+":80").WithSrc("192.0.2.7")).ExpectDropped(t, simulation.ReasonFilter)
	if src := h.MustSend(t, n1, harness.TCP("8.8.4.4:443")).ExpectDelivered(t, "provider-uplink").Packet.IPSrc(); src != floatingIP {
		t.Fatalf("vm1's own connection leaves from %s, want its floating IP", src)
	}

	openstack(t, addr, cmds[1])
	if after := dumpNSDB(t, c); after != before {
		t.Fatalf("the NSDB after the teardown differs:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// simulate returns a harness on the topology the NSDB holds, with the
// bridges' IPv4-MAC tables as the NSDB holds them (the translation's
// seeds: the floating IP's MAC on the external network among them) and
// the upstream gateway plugged behind the provider router's uplink.
func simulate(t *testing.T, c nsdb.Client) *harness.Harness {
	t.Helper()
	ctx := context.Background()
	top, err := nsdb.Load(ctx, c.Store())
	if err != nil {
		t.Fatal(err)
	}
	h, err := harness.New(top, harness.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	st := h.State()
	for _, b := range top.Bridges {
		tb, err := c.Tables().IP4MACTable(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		for ip, mac := range tb.Entries() {
			st.IP4MACs = append(st.IP4MACs, harness.IP4MACEntry{Bridge: b.Name, IP: ip, MAC: mac})
		}
		tb.Close()
	}
	if err := h.SetState(st); err != nil {
		t.Fatal(err)
	}
	if err := h.Plug("provider-uplink", topology.MustParseMAC("02:00:00:00:00:99"), upstream); err != nil {
		t.Fatal(err)
	}
	return h
}
