package neutron_test

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/neutron"
)

// The translation is valid with the operator's objects, deterministic, and
// made of what the reference's translators made.
func TestTranslation(t *testing.T) {
	c := newCloud(t)
	b := base()
	tr := neutron.Translate(c.m, env(b))
	if again := neutron.Translate(c.m.Clone(), env(b)); !reflect.DeepEqual(tr, again) {
		t.Fatal("two translations of one model differ")
	}
	all := base()
	for o := range tr.Objects() {
		all.Add(o)
	}
	if err := all.Validate(); err != nil {
		t.Fatalf("translation with the base topology: %v", err)
	}

	ports := map[topology.ID]topology.Port{}
	for _, p := range tr.Ports {
		ports[p.ID] = p
	}
	chains := map[topology.ID]topology.Chain{}
	for _, ch := range tr.Chains {
		chains[ch.ID] = ch
	}
	// vm1: bound to host-a's tap-vm1, inbound chain jumps to anti-spoofing
	// first and to web's egress chain, outbound to web's ingress chain.
	vm1 := ports[c.vm1.ID]
	if vm1.Bridge != c.private.ID || vm1.Host != topology.NameID(topology.KindHost, "host-a") || vm1.Interface != "tap-vm1" {
		t.Fatalf("vm1's bridge port: %+v", vm1)
	}
	in, out := chains[vm1.InboundFilter], chains[vm1.OutboundFilter]
	if len(in.Rules) != 5 || in.Rules[0].JumpChain != neutron.DeriveID(c.vm1.ID, "spoof") || !in.Rules[1].Condition.MatchReturnFlow ||
		in.Rules[2].JumpChain != neutron.DeriveID(c.web.ID, neutron.Egress) || in.Rules[4].Action != topology.ActionDrop {
		t.Fatalf("vm1's inbound chain: %+v", in.Rules)
	}
	if len(out.Rules) != 4 || out.Rules[1].JumpChain != neutron.DeriveID(c.web.ID, neutron.Ingress) || out.Rules[3].Action != topology.ActionDrop {
		t.Fatalf("vm1's outbound chain: %+v", out.Rules)
	}
	// vm2's allowed pair is anti-spoofed and in its group's addresses.
	spoof := chains[neutron.DeriveID(c.vm2.ID, "spoof")]
	if !slices.ContainsFunc(spoof.Rules, func(r topology.Rule) bool {
		return r.Action == topology.ActionReturn && r.Condition.NwSrc.Value == netip.MustParsePrefix("10.0.0.200/32")
	}) {
		t.Fatalf("vm2's anti-spoofing chain lacks its allowed pair: %+v", spoof.Rules)
	}
	for _, g := range tr.IPAddrGroups {
		if g.ID == c.defaultGroup && !slices.Equal(g.Addrs, []netip.Addr{c.vm2.FixedIPs[0].Addr, netip.MustParseAddr("10.0.0.200")}) {
			t.Fatalf("default group's addresses %v", g.Addrs)
		}
	}
	// The private subnet's DHCP: its options and a host entry per VM,
	// named after the VM's bridge port.
	for _, d := range tr.DHCPSubnets {
		if d.ID != c.privateSub.ID {
			continue
		}
		if d.Gateway != netip.MustParseAddr("10.0.0.1") || len(d.Routes) != 1 || len(d.DNSServers) != 1 || d.MTU != neutron.DefaultMTU {
			t.Fatalf("private DHCP subnet %+v", d)
		}
		if len(d.Hosts) != 2 || !slices.ContainsFunc(d.Hosts, func(h topology.DHCPHost) bool {
			return h.Name == c.vm1.NativeName() && h.MAC == c.vm1.MAC && h.Addr == c.vm1.FixedIPs[0].Addr
		}) {
			t.Fatalf("private DHCP hosts %+v", d.Hosts)
		}
	}
	// The router: default route via the external subnet's gateway (the
	// provider router's port there), FIP rules before the gateway's.
	var def *topology.Route
	for i := range tr.Routes {
		if tr.Routes[i].Router == c.router.ID && tr.Routes[i].Dst.Bits() == 0 {
			def = &tr.Routes[i]
		}
	}
	if def == nil || def.Gateway != netip.MustParseAddr("203.0.113.1") || def.Weight != 100 {
		t.Fatalf("router default route %+v", def)
	}
	pre := chains[neutron.DeriveID(c.router.ID, "pre")]
	if len(pre.Rules) != 2 || !pre.Rules[0].NAT.DNAT || !pre.Rules[1].NAT.Reverse {
		t.Fatalf("pre-routing rules %+v", pre.Rules)
	}
	// Seeds: the VMs' MACs and addresses, and the floating IP's MAC on
	// the external network (the gateway port's).
	gwMAC := c.m.Ports[c.router.Gateway.PortID].MAC
	want := []neutron.Seed{
		{Kind: neutron.SeedMAC, Bridge: c.private.ID, MAC: c.vm1.MAC, Port: c.vm1.ID},
		{Kind: neutron.SeedIP4MAC, Bridge: c.private.ID, Addr: c.vm1.FixedIPs[0].Addr, MAC: c.vm1.MAC},
		{Kind: neutron.SeedIP4MAC, Bridge: c.public.ID, Addr: c.fip.Addr, MAC: gwMAC},
	}
	for _, s := range want {
		if !slices.Contains(tr.Seeds, s) {
			t.Errorf("seed %+v missing from %+v", s, tr.Seeds)
		}
	}
}

// teardown deletes every object of the cloud in an order Neutron accepts.
func teardown(t *testing.T, c *cloud) []func() error {
	var none *neutron.GatewayFields
	return []func() error{
		func() error { return c.m.DeleteFloatingIP(c.fip.ID) },
		func() error { return c.m.DeletePort(c.vm1.ID) },
		func() error { return c.m.DeletePort(c.vm2.ID) },
		func() error { _, err := c.m.RemoveInterface(c.router.ID, c.privateSub.ID, topology.ID{}); return err },
		func() error {
			_, err := c.m.UpdateRouter(c.router.ID, neutron.RouterFields{Gateway: &none})
			return err
		},
		func() error { return c.m.DeleteRouter(c.router.ID) },
		func() error { return c.m.DeleteSecurityGroup(c.web.ID) },
		func() error { return c.m.DeleteSecurityGroup(c.defaultGroup) },
		func() error { return c.m.DeleteNetwork(c.private.ID) },
		func() error { return c.m.DeleteNetwork(c.public.ID) },
	}
}

// Diffs between successive translations delete referrers before what they
// refer to, and tearing the model down step by step deletes every object
// the translation made.
func TestDiff(t *testing.T) {
	c := newCloud(t)
	e := env(base())
	full := neutron.Translate(c.m, e)
	if p := neutron.Diff(full, full); !p.Empty() {
		t.Fatalf("a translation differs from itself: %+v", p)
	}
	created := neutron.Diff(nil, full)
	if len(created.Put) != full.Len() || len(created.AddSeeds) != len(full.Seeds) {
		t.Fatalf("from nothing: %d puts, %d seeds; the translation has %d objects, %d seeds", len(created.Put), len(created.AddSeeds), full.Len(), len(full.Seeds))
	}
	live := map[topology.ID]bool{}
	for o := range full.Objects() {
		live[o.ObjectID()] = true
	}
	prev := full
	for i, step := range teardown(t, c) {
		if err := step(); err != nil {
			t.Fatalf("teardown step %d: %v", i, err)
		}
		next := neutron.Translate(c.m, e)
		p := neutron.Diff(prev, next)
		for _, o := range p.Put {
			live[o.ObjectID()] = true
		}
		for j, o := range p.Delete {
			if !live[o.ObjectID()] {
				t.Fatalf("step %d deletes %s %s, which is not there", i, o.ObjectKind(), o.ObjectID())
			}
			delete(live, o.ObjectID())
			for _, later := range p.Delete[j+1:] {
				for r := range later.Refs() {
					if r.ID == o.ObjectID() && r.Kind == o.ObjectKind() && r.Kind != topology.KindPort {
						t.Fatalf("step %d deletes %s %s before %s %s, which refers to it", i, o.ObjectKind(), o.ObjectName(), later.ObjectKind(), later.ObjectName())
					}
				}
			}
		}
		prev = next
	}
	if c.m.Len() != 0 || prev.Len() != 0 || len(prev.Seeds) != 0 {
		t.Fatalf("after the teardown: %d Neutron objects, %d native, %d seeds", c.m.Len(), prev.Len(), len(prev.Seeds))
	}
	if len(live) != 0 {
		t.Fatalf("%d translated objects were never deleted", len(live))
	}
}
