package neutron_test

import (
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/harness"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/neutron"
)

// base is the operator's part of the deployment, outside Neutron: three
// hosts and the provider router, whose uplink on host-c reaches the
// upstream gateway 198.51.100.1.
func base() *topology.Topology {
	id := topology.NameID
	t := &topology.Topology{}
	for _, h := range []string{"host-a", "host-b", "host-c"} {
		t.Hosts = append(t.Hosts, topology.Host{ID: id(topology.KindHost, h), Name: h})
	}
	prov := id(topology.KindRouter, "provider")
	up := id(topology.KindPort, "provider-uplink")
	t.Routers = append(t.Routers, topology.Router{ID: prov, Name: "provider"})
	t.Ports = append(t.Ports, topology.Port{ID: up, Name: "provider-uplink", Router: prov, Host: id(topology.KindHost, "host-c"),
		Interface: "eth1", Subnets: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")},
		Address: netip.MustParseAddr("198.51.100.2"), MAC: topology.MustParseMAC("02:00:c6:33:64:02")})
	t.Routes = append(t.Routes, topology.Route{ID: id(topology.KindRoute, "provider-default"), Router: prov,
		Dst: netip.MustParsePrefix("0.0.0.0/0"), NextHop: topology.NextHopPort, NextHopPort: up, Gateway: netip.MustParseAddr("198.51.100.1")})
	return t
}

func env(t *topology.Topology) neutron.Env {
	e := neutron.Env{ProviderRouter: topology.NameID(topology.KindRouter, "provider"), Hosts: map[string]topology.ID{}}
	for _, h := range t.Hosts {
		e.Hosts[h.Name] = h.ID
	}
	return e
}

// cloud is a Neutron deployment built through the model's methods, as the
// API builds it.
type cloud struct {
	m                     *neutron.Model
	public, private       *neutron.Network
	publicSub, privateSub *neutron.Subnet
	router                *neutron.Router
	web                   *neutron.SecurityGroup
	vm1, vm2              *neutron.Port
	fip                   *neutron.FloatingIP
	defaultGroup          topology.ID
	gatewayAddr           netip.Addr
}

func ptr[T any](v T) *T { return &v }

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// newCloud: an external network 203.0.113.0/24 (gateway .1: the provider
// router), a private network 10.0.0.0/24 behind router r1 (SNAT to its
// gateway address), vm1 on host-a in security group web (SSH and ICMP
// from anywhere, HTTP from members of the default group) with a floating
// IP, vm2 on host-b in its project's default group (everything from the
// group's members) with an allowed address pair 10.0.0.200.
func newCloud(t *testing.T) *cloud {
	t.Helper()
	m := neutron.NewModel()
	m.Rand = rand.NewChaCha8([32]byte{1})
	c := &cloud{m: m}
	newID := func() topology.ID { id, _ := topology.NewID(m.Rand); return id }
	proj := ptr("tenant")
	c.public = must[*neutron.Network](t)(m.CreateNetwork(newID(), neutron.NetworkFields{Name: ptr("public"), External: ptr(true)}))
	c.publicSub = must[*neutron.Subnet](t)(m.CreateSubnet(newID(), neutron.SubnetFields{NetworkID: &c.public.ID, Name: ptr("public-subnet"),
		CIDR: ptr(netip.MustParsePrefix("203.0.113.0/24")), EnableDHCP: ptr(false),
		Pools: &[]neutron.Pool{{Start: netip.MustParseAddr("203.0.113.10"), End: netip.MustParseAddr("203.0.113.200")}}}))
	c.private = must[*neutron.Network](t)(m.CreateNetwork(newID(), neutron.NetworkFields{Name: ptr("private"), ProjectID: proj}))
	c.privateSub = must[*neutron.Subnet](t)(m.CreateSubnet(newID(), neutron.SubnetFields{NetworkID: &c.private.ID, Name: ptr("private-subnet"),
		CIDR: ptr(netip.MustParsePrefix("10.0.0.0/24")), DNS: &[]netip.Addr{netip.MustParseAddr("198.51.100.53")},
		HostRoutes: &[]neutron.Route{{Destination: netip.MustParsePrefix("192.168.0.0/16"), NextHop: netip.MustParseAddr("10.0.0.254")}}}))
	gw := &neutron.GatewayFields{NetworkID: c.public.ID}
	c.router = must[*neutron.Router](t)(m.CreateRouter(newID(), neutron.RouterFields{Name: ptr("r1"), ProjectID: proj, Gateway: &gw}))
	must[neutron.InterfaceInfo](t)(m.AddInterface(c.router.ID, c.privateSub.ID, topology.ID{}))
	c.gatewayAddr = m.Ports[c.router.Gateway.PortID].FixedIPs[0].Addr

	c.web = must[*neutron.SecurityGroup](t)(m.CreateSecurityGroup(newID(), neutron.SecurityGroupFields{Name: ptr("web"), ProjectID: proj}))
	c.vm2 = must[*neutron.Port](t)(m.CreatePort(newID(), neutron.PortFields{NetworkID: &c.private.ID, Name: ptr("vm2"), Host: ptr("host-b"),
		ProjectID: proj, AllowedPairs: &[]neutron.AddressPair{{Prefix: netip.MustParsePrefix("10.0.0.200/32")}}}))
	c.defaultGroup = c.vm2.SecurityGroups[0]
	for _, r := range []neutron.RuleFields{
		{Direction: ptr("ingress"), Protocol: ptr("tcp"), PortMin: ptr(22), PortMax: ptr(22), RemotePrefix: ptr(netip.MustParsePrefix("0.0.0.0/0"))},
		{Direction: ptr("ingress"), Protocol: ptr("icmp")},
		{Direction: ptr("ingress"), Protocol: ptr("tcp"), PortMin: ptr(80), PortMax: ptr(80), RemoteGroup: &c.defaultGroup},
	} {
		r.GroupID = &c.web.ID
		must[*neutron.SecurityGroupRule](t)(m.CreateRule(newID(), r))
	}
	prof := json.RawMessage(`{"interface_name": "tap-vm1"}`)
	c.vm1 = must[*neutron.Port](t)(m.CreatePort(newID(), neutron.PortFields{NetworkID: &c.private.ID, Name: ptr("vm1"), Host: ptr("host-a"),
		Profile: &prof, SecurityGroups: &[]topology.ID{c.web.ID}, ProjectID: proj}))
	c.fip = must[*neutron.FloatingIP](t)(m.CreateFloatingIP(newID(), neutron.FloatingIPFields{NetworkID: &c.public.ID, PortID: &c.vm1.ID}))
	return c
}

// harnessOf simulates the base topology with the model's translation,
// the seeds loaded into the tables and the upstream gateway plugged in.
func harnessOf(t *testing.T, m *neutron.Model) *harness.Harness {
	t.Helper()
	b := base()
	tr := neutron.Translate(m, env(b))
	for o := range tr.Objects() {
		b.Add(o)
	}
	h, err := harness.New(b, harness.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	st := h.State()
	for _, s := range tr.Seeds {
		if s.Kind == neutron.SeedIP4MAC {
			st.IP4MACs = append(st.IP4MACs, harness.IP4MACEntry{Bridge: h.Name(s.Bridge), IP: s.Addr, MAC: s.MAC})
		}
	}
	if err := h.SetState(st); err != nil {
		t.Fatal(err)
	}
	if err := h.Plug("provider-uplink", topology.MustParseMAC("02:00:00:00:00:99"), netip.MustParseAddr("198.51.100.1")); err != nil {
		t.Fatal(err)
	}
	return h
}

// The translated cloud works as Neutron says it should: VMs reach each
// other as their groups allow, the outside through SNAT, and are reached
// through the floating IP as far as the security group admits.
func TestTranslatedCloud(t *testing.T) {
	c := newCloud(t)
	h := harnessOf(t, c.m)
	vm1, vm2 := c.vm1.NativeName(), c.vm2.NativeName()

	// vm2 (default group) reaches vm1's HTTP (web admits the default
	// group's members) and SSH (from anywhere), not its port 25.
	h.MustSend(t, vm2, harness.TCP(vm1+":80")).ExpectDelivered(t, vm1)
	h.MustSend(t, vm2, harness.TCP(vm1+":22")).ExpectDelivered(t, vm1)
	h.MustSend(t, vm2, harness.TCP(vm1+":25")).ExpectDropped(t, simulation.ReasonFilter)
	h.MustSend(t, vm2, harness.Ping(vm1)).ExpectDelivered(t, vm1)
	// vm1 is not in the default group: vm2 admits nothing from it, but
	// answers what vm2 started (return flows).
	h.MustSend(t, vm1, harness.TCP(vm2+":80")).ExpectDropped(t, simulation.ReasonFilter)
	syn := h.MustSend(t, vm2, harness.TCP(vm1+":22"))
	syn.ExpectDelivered(t, vm1)
	h.MustReply(t, syn).ExpectDelivered(t, vm2)

	// Anti-spoofing: vm1 may not use another address; vm2 may use its
	// allowed pair's.
	h.MustSend(t, vm1, harness.TCP("10.0.0.77:1000->8.8.8.8:443")).ExpectDropped(t, simulation.ReasonFilter)
	h.MustSend(t, vm1, harness.TCP("8.8.8.8:443").WithSrcMAC(topology.MustParseMAC("fa:16:3e:00:00:01"))).ExpectDropped(t, simulation.ReasonFilter)
	h.MustSend(t, vm2, harness.TCP("10.0.0.200:1000->"+vm1+":22")).ExpectDelivered(t, vm1)

	// vm2 reaches the outside with the router's gateway address, and the
	// answer comes back.
	out := h.MustSend(t, vm2, harness.TCP("8.8.8.8:443"))
	d := out.ExpectDelivered(t, "provider-uplink")
	if src := d.Packet.IPSrc(); src != c.gatewayAddr {
		t.Fatalf("vm2's connection leaves from %s, want the gateway address %s", src, c.gatewayAddr)
	}
	back := h.MustReply(t, out).ExpectDelivered(t, vm2)
	if dst := back.Packet.IPDst(); dst != c.vm2.FixedIPs[0].Addr {
		t.Fatalf("the answer reaches vm2 addressed to %s", dst)
	}

	// The floating IP takes SSH and ping from the outside to vm1, not
	// HTTP (only the default group's members get that); vm1's answers and
	// its own connections leave with the floating IP.
	ssh := harness.TCP(c.fip.Addr.String() + ":22").WithSrc("192.0.2.7")
	in := h.MustSend(t, "provider-uplink", ssh)
	if got := in.ExpectDelivered(t, vm1).Packet.IPDst(); got != c.vm1.FixedIPs[0].Addr {
		t.Fatalf("the floating IP's traffic reaches vm1 addressed to %s", got)
	}
	if src := h.MustReply(t, in).ExpectDelivered(t, "provider-uplink").Packet.IPSrc(); src != c.fip.Addr {
		t.Fatalf("vm1 answers from %s, want its floating IP %s", src, c.fip.Addr)
	}
	h.MustSend(t, "provider-uplink", harness.Ping(c.fip.Addr.String()).WithSrc("192.0.2.7")).ExpectDelivered(t, vm1)
	web := harness.TCP(c.fip.Addr.String() + ":80").WithSrc("192.0.2.7")
	h.MustSend(t, "provider-uplink", web).ExpectDropped(t, simulation.ReasonFilter)
	own := h.MustSend(t, vm1, harness.TCP("8.8.4.4:443")).ExpectDelivered(t, "provider-uplink")
	if src := own.Packet.IPSrc(); src != c.fip.Addr {
		t.Fatalf("vm1's own connection leaves from %s, want its floating IP %s", src, c.fip.Addr)
	}
}
