package topofile_test

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// topologyFiles returns every example topology and every test fixture.
func topologyFiles(t testing.TB) []string {
	var files []string
	for _, pattern := range []string{"../../examples/topologies/*.yaml", "testdata/*.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 4 {
		t.Fatalf("found only %d topology files", len(files))
	}
	return files
}

func roundTrip(t *testing.T, top *topology.Topology) (*topology.Topology, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := topofile.Write(&buf, top); err != nil {
		t.Fatalf("Write: %v", err)
	}
	back, err := topofile.Load(bytes.NewReader(buf.Bytes()), "written.yaml")
	if err != nil {
		t.Fatalf("Load(Write(t)): %v\n%s", err, buf.Bytes())
	}
	return back, buf.Bytes()
}

// TestRoundTrip loads every file, checks the result is valid, writes it
// and loads it again: the two topologies must be equal, and writing the
// second must give the same bytes.
func TestRoundTrip(t *testing.T) {
	for _, f := range topologyFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			top, err := topofile.LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if top.Len() == 0 {
				t.Fatal("loaded an empty topology")
			}
			if err := top.Validate(); err != nil {
				t.Fatalf("loaded topology does not validate: %v", err)
			}
			back, out := roundTrip(t, top)
			if !reflect.DeepEqual(top, back) {
				t.Errorf("Load(Write(t)) != t\n%s", out)
				diffTopologies(t, top, back)
			}
			_, again := roundTrip(t, back)
			if !bytes.Equal(out, again) {
				t.Errorf("Write is not stable:\n%s\n---\n%s", out, again)
			}
		})
	}
}

// diffTopologies reports the first differing object of each kind.
func diffTopologies(t *testing.T, a, b *topology.Topology) {
	t.Helper()
	var as, bs []topology.Object
	for o := range a.Objects() {
		as = append(as, o)
	}
	for o := range b.Objects() {
		bs = append(bs, o)
	}
	if len(as) != len(bs) {
		t.Errorf("%d objects, then %d", len(as), len(bs))
	}
	for i := range min(len(as), len(bs)) {
		if !reflect.DeepEqual(as[i], bs[i]) {
			t.Errorf("object %d differs:\n%+v\n%+v", i, as[i], bs[i])
			return
		}
	}
}

func loadString(t *testing.T, s string) *topology.Topology {
	t.Helper()
	top, err := topofile.Load(strings.NewReader(s), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return top
}

func portByName(t *testing.T, top *topology.Topology, name string) *topology.Port {
	t.Helper()
	for i := range top.Ports {
		if top.Ports[i].Name == name {
			return &top.Ports[i]
		}
	}
	t.Fatalf("no port %q", name)
	return nil
}

func TestTwoTenantCloud(t *testing.T) {
	top, err := topofile.LoadFile("../../examples/topologies/two-tenant-cloud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(top.Hosts); n != 3 {
		t.Errorf("%d hosts, want 3", n)
	}
	// Peering is symmetric although each pair is written once.
	for _, pair := range [][2]string{{"tenant-a-net-gw", "tenant-a-lan"}, {"provider-tenant-a", "tenant-a-uplink"}, {"provider-tenant-b", "tenant-b-uplink"}} {
		a, b := portByName(t, top, pair[0]), portByName(t, top, pair[1])
		if a.Peer != b.ID || b.Peer != a.ID {
			t.Errorf("%s and %s are not peered both ways", pair[0], pair[1])
		}
	}
	// IDs derive from names; router MACs from port IDs unless given.
	vm1 := portByName(t, top, "vm1")
	if vm1.ID != topology.NameID(topology.KindPort, "vm1") || vm1.Host != topology.NameID(topology.KindHost, "host-a") || vm1.Interface != "tap-vm1" {
		t.Errorf("vm1 = %+v", vm1)
	}
	lan := portByName(t, top, "tenant-a-lan")
	if lan.MAC != topofile.DefaultMAC(lan.ID) || !lan.MAC.IsUnicast() || lan.MAC[0]&2 == 0 {
		t.Errorf("tenant-a-lan MAC %v is not the derived locally administered unicast MAC", lan.MAC)
	}
	if lan.Address != netip.MustParseAddr("10.1.0.1") || !slices.Equal(lan.Subnets, []netip.Prefix{netip.MustParsePrefix("10.1.0.0/24")}) {
		t.Errorf("tenant-a-lan address %v subnets %v", lan.Address, lan.Subnets)
	}
	if up := portByName(t, top, "provider-uplink"); up.MAC != topology.MustParseMAC("02:00:c6:33:64:02") || up.Kind() != topology.PortExterior {
		t.Errorf("provider-uplink MAC %v kind %v", up.MAC, up.Kind())
	}
	// The NAT rules are of the intended kinds.
	kinds := map[string][]topology.NATKind{}
	for _, c := range top.Chains {
		for _, r := range c.Rules {
			if r.Type == topology.RuleNAT {
				kinds[c.Name] = append(kinds[c.Name], r.NATKind())
			}
		}
	}
	want := map[string][]topology.NATKind{
		"tenant-a-pre":  {topology.NATStatic, topology.NATReverse},
		"tenant-a-post": {topology.NATStatic, topology.NATDynamic},
		"tenant-b-pre":  {topology.NATReverse},
		"tenant-b-post": {topology.NATDynamic},
	}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("NAT kinds = %v, want %v", kinds, want)
	}
	// Routes resolve as intended: the provider sends tenant A's public
	// block back to tenant A, and default to the uplink.
	snap := topology.NewSnapshot(top)
	prov, _ := snap.RouterView(topology.NameID(topology.KindRouter, "provider"))
	for dst, via := range map[string]string{"203.0.113.11": "provider-tenant-a", "10.2.0.13": "provider-tenant-b", "8.8.8.8": "provider-uplink", "198.51.100.1": "provider-uplink"} {
		rs := prov.Routes.Lookup(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr(dst), nil, nil)
		if len(rs) != 1 || rs[0].NextHopPort != topology.NameID(topology.KindPort, via) {
			t.Errorf("provider route to %s = %+v, want via %s", dst, rs, via)
		}
	}
	// Every VM is in the DHCP hosts of its bridge with a unicast MAC.
	var vms []string
	for _, d := range top.DHCPSubnets {
		for _, h := range d.Hosts {
			vms = append(vms, h.Name)
		}
	}
	if !slices.Equal(vms, []string{"vm1", "vm2", "vm3", "vm4"}) {
		t.Errorf("DHCP hosts %v", vms)
	}
}

func TestDerivedIDs(t *testing.T) {
	top := loadString(t, `
chains:
  - name: c
    rules:
      - action: accept
      - {id: 11111111-2222-4333-8444-555555555555, action: drop}
routers:
  - name: r
    ports: [{name: p, address: 10.0.0.1/24}]
    routes: [{dst: 0.0.0.0/0, port: p, gateway: 10.0.0.254}]
`)
	c := top.Chains[0]
	if c.ID != topology.NameID(topology.KindChain, "c") {
		t.Errorf("chain ID %v", c.ID)
	}
	if c.Rules[0].ID != topofile.RuleID(c.ID, 0) || c.Rules[1].ID != topology.MustParseID("11111111-2222-4333-8444-555555555555") {
		t.Errorf("rule IDs %v %v", c.Rules[0].ID, c.Rules[1].ID)
	}
	if topofile.RuleID(c.ID, 0) == topofile.RuleID(c.ID, 1) || topofile.RuleID(c.ID, 0)[6]>>4 != 5 {
		t.Error("RuleID is not a distinct v5 ID per index")
	}
	r := top.Routers[0]
	if top.Routes[0].ID != topofile.ChildID(r.ID, topology.KindRoute, 0) {
		t.Errorf("route ID %v", top.Routes[0].ID)
	}
	if topofile.ChildID(r.ID, topology.KindRoute, 0) == topofile.ChildID(r.ID, topology.KindBGPPeer, 0) {
		t.Error("ChildID ignores the kind")
	}
	if a, b := topofile.DefaultMAC(top.Ports[0].ID), topofile.DefaultMAC(topology.NameID(topology.KindPort, "q")); a == b || a[0] != 0x02 || b[0] != 0x02 {
		t.Errorf("DefaultMAC: %v %v", a, b)
	}
}

// TestWriteOmitsDerived checks that derivable IDs, MACs and defaults are
// not written, and explicit ones are.
func TestWriteOmitsDerived(t *testing.T) {
	top := loadString(t, `
routers:
  - name: r
    ports:
      - {name: p1, address: 10.0.0.1/24}
      - {name: p2, address: 10.0.1.1/24, mac: "02:aa:00:00:00:01", id: 9a9a9a9a-0000-4000-8000-000000000001}
`)
	var buf bytes.Buffer
	if err := topofile.Write(&buf, top); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Count(out, "id:") != 1 || !strings.Contains(out, "id: 9a9a9a9a-0000-4000-8000-000000000001") {
		t.Errorf("want exactly p2's explicit id written:\n%s", out)
	}
	if strings.Count(out, "mac:") != 1 || !strings.Contains(out, "02:aa:00:00:00:01") {
		t.Errorf("want exactly p2's explicit MAC written:\n%s", out)
	}
	for _, s := range []string{"admin-down", "weight", "subnets"} {
		if strings.Contains(out, s) {
			t.Errorf("default %s written:\n%s", s, out)
		}
	}
}

// TestWriteUnnamed writes a topology built in code whose objects have no
// or shared names: references fall back to UUIDs and the result loads back
// equal.
func TestWriteUnnamed(t *testing.T) {
	br := topology.MustParseID("00000000-0000-4000-8000-000000000001")
	p1 := topology.MustParseID("00000000-0000-4000-8000-000000000002")
	p2 := topology.MustParseID("00000000-0000-4000-8000-000000000003")
	ch := topology.MustParseID("00000000-0000-4000-8000-000000000004")
	top := &topology.Topology{
		Bridges: []topology.Bridge{{ID: br, InboundFilter: ch}},
		Ports: []topology.Port{
			{ID: p1, Name: "dup", Bridge: br},
			{ID: p2, Name: "dup", Bridge: br},
		},
		Chains: []topology.Chain{{ID: ch, Name: "c", Rules: []topology.Rule{
			{ID: topofile.RuleID(ch, 0), Action: topology.ActionDrop, Condition: topology.Condition{InPorts: topology.Is([]topology.ID{p2})}},
		}}},
	}
	var buf bytes.Buffer
	if err := topofile.Write(&buf, top); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "in-ports: ["+p2.String()+"]") {
		t.Errorf("a port with a shared name is not referred to by ID:\n%s", buf.String())
	}
	// The duplicate name is a validation error, so decode without
	// validating by checking the error is only that.
	_, err := topofile.Load(&buf, "x.yaml")
	var p *topology.Problem
	if !errors.As(err, &p) || !errors.Is(err, topology.ErrDuplicateName) || p.ID != p2 {
		t.Fatalf("Load = %v, want only the duplicate name of the second port", err)
	}
	top.Ports[1].Name = "other"
	back, _ := roundTrip(t, top)
	if !reflect.DeepEqual(top, back) {
		t.Errorf("unnamed bridge does not round-trip:\n%+v\n%+v", top, back)
	}
}

func TestWriteNotRepresentable(t *testing.T) {
	br := topology.NameID(topology.KindBridge, "b")
	tests := map[string]*topology.Topology{
		"orphan port": {Ports: []topology.Port{{ID: topology.NameID(topology.KindPort, "p"), Name: "p", Bridge: br}}},
		"bridge port with MAC": {Bridges: []topology.Bridge{{ID: br, Name: "b"}},
			Ports: []topology.Port{{ID: topology.NameID(topology.KindPort, "p"), Name: "p", Bridge: br, MAC: topology.MustParseMAC("02:00:00:00:00:01")}}},
		"literal rule with NAT": {Chains: []topology.Chain{{ID: br, Name: "c", Rules: []topology.Rule{{Action: topology.ActionAccept, NAT: topology.NATSpec{DNAT: true}}}}}},
		"rule without action":   {Chains: []topology.Chain{{ID: br, Name: "c", Rules: []topology.Rule{{}}}}},
		"orphan route":          {Routes: []topology.Route{{ID: br, Dst: netip.MustParsePrefix("0.0.0.0/0"), NextHop: topology.NextHopBlackhole}}},
	}
	for name, top := range tests {
		var buf bytes.Buffer
		if err := topofile.Write(&buf, top); !errors.Is(err, topofile.ErrNotRepresentable) {
			t.Errorf("%s: Write = %v, want ErrNotRepresentable", name, err)
		}
	}
}

func TestLoadEmpty(t *testing.T) {
	for _, s := range []string{"", "# nothing\n", "{}\n", "hosts: []\n", "hosts:\n"} {
		top, err := topofile.Load(strings.NewReader(s), "empty.yaml")
		if err != nil || top == nil || top.Len() != 0 {
			t.Errorf("Load(%q) = %v, %v; want an empty topology", s, top, err)
		}
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := topofile.LoadFile(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadFile(missing) = %v, want os.ErrNotExist", err)
	}
}

// TestDocExample loads the example of the package documentation, so that
// it stays correct.
func TestDocExample(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(line, "//\thosts:") {
			in = true
		}
		if in {
			if !strings.HasPrefix(line, "//\t") {
				break
			}
			b.WriteString(strings.TrimPrefix(line, "//\t") + "\n")
		}
	}
	if b.Len() == 0 {
		t.Fatal("no example in doc.go")
	}
	top := loadString(t, b.String())
	if len(top.Ports) != 4 || len(top.Routes) != 1 || len(top.Chains[0].Rules) != 3 {
		t.Errorf("doc example loaded as %+v", top)
	}
}

// TestRoundTripAwkwardNames writes names that YAML would read as something
// else, or that need quoting, in every place a name appears.
func TestRoundTripAwkwardNames(t *testing.T) {
	names := []string{"true", "123", "0x10", "null", "~", "a: b", "- x", "#x", "x,y", "[x]", "{x}", "*x", "&x", "!x",
		"multi\nline", " spaced ", "tab\there", "é", "00000000-0000-4000-8000-000000000001", "'q'", `"dq"`, "%x", "@x", "`x"}
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			host := topology.Host{ID: topology.NameID(topology.KindHost, n), Name: n}
			br := topology.NameID(topology.KindBridge, n)
			pg := topology.NameID(topology.KindPortGroup, n)
			ch := topology.NameID(topology.KindChain, n)
			p := topology.NameID(topology.KindPort, n)
			top := &topology.Topology{
				Hosts:       []topology.Host{host},
				TunnelZones: []topology.TunnelZone{{ID: topology.NameID(topology.KindTunnelZone, n), Name: n, Type: topology.TunnelZoneVXLAN, Members: []topology.TunnelZoneMember{{Host: host.ID, Addr: netip.MustParseAddr("10.0.0.1")}}}},
				Bridges:     []topology.Bridge{{ID: br, Name: n, InboundFilter: ch}},
				Ports:       []topology.Port{{ID: p, Name: n, Bridge: br, Host: host.ID, Interface: n, PortGroups: []topology.ID{pg}}},
				PortGroups:  []topology.PortGroup{{ID: pg, Name: n}},
				Chains: []topology.Chain{{ID: ch, Name: n, Rules: []topology.Rule{
					{ID: topofile.RuleID(ch, 0), Action: topology.ActionDrop, Condition: topology.Condition{InPorts: topology.Is([]topology.ID{p}), PortGroup: topology.Not(pg)}},
					{ID: topofile.RuleID(ch, 1), Type: topology.RuleJump, Action: topology.ActionJump, JumpChain: ch, Condition: topology.Condition{TraversedDevice: topology.Is(br)}},
				}}},
				DHCPSubnets: []topology.DHCPSubnet{{ID: topofile.ChildID(br, topology.KindDHCPSubnet, 0), Bridge: br, Subnet: netip.MustParsePrefix("10.0.0.0/24"),
					Hosts: []topology.DHCPHost{{MAC: topology.MustParseMAC("02:00:00:00:00:01"), Addr: netip.MustParseAddr("10.0.0.5"), Name: n}}}},
			}
			if err := top.Validate(); err != nil {
				t.Fatal(err)
			}
			back, out := roundTrip(t, top)
			if !reflect.DeepEqual(top, back) {
				t.Errorf("round trip differs:\n%s", out)
				diffTopologies(t, top, back)
			}
		})
	}
}

// TestRoundTripEmptyLists checks that empty lists load as nil, so that
// writing (which leaves them out) and loading again gives the same value.
func TestRoundTripEmptyLists(t *testing.T) {
	top := loadString(t, `
bridges: [{name: b, ports: [{name: p, port-groups: []}], dhcp: [{subnet: 10.0.0.0/24, dns-servers: [], hosts: [], routes: []}]}]
ip-addr-groups: [{name: g, addrs: []}]
chains: [{name: c, rules: [{action: drop, in-ports: []}, {rev-snat: [], action: continue}]}]
tunnel-zones: [{name: z, type: gre, members: {}}]
routers: [{name: r, ports: [{name: rp, subnets: []}], routes: [], bgp-peers: [], bgp-networks: []}]
vteps: [{name: v, management-ip: 10.0.0.9, bindings: []}]
`)
	if top.Ports[0].PortGroups != nil || top.IPAddrGroups[0].Addrs != nil || top.DHCPSubnets[0].DNSServers != nil ||
		top.TunnelZones[0].Members != nil || top.Ports[1].Subnets != nil || top.VTEPs[0].Bindings != nil {
		t.Error("an empty list loaded as a non-nil slice")
	}
	if c := top.Chains[0].Rules[0].Condition.InPorts; !c.Set || c.Value != nil {
		t.Errorf("in-ports: [] = %+v, want set and nil", c)
	}
	back, out := roundTrip(t, top)
	if !reflect.DeepEqual(top, back) {
		t.Errorf("round trip differs:\n%s", out)
		diffTopologies(t, top, back)
	}
}

// TestDefaultMACIsDocumented: the MAC is what the documentation says, so
// that files loaded by any release give a port the same MAC.
func TestDefaultMACIsDocumented(t *testing.T) {
	id := topology.NameID(topology.KindPort, "r1-left")
	h := sha1.New()
	h.Write([]byte("hivenet-mac"))
	h.Write(id[:])
	sum := h.Sum(nil)
	want := topology.MAC{0x02, sum[0], sum[1], sum[2], sum[3], sum[4]}
	if got := topofile.DefaultMAC(id); got != want {
		t.Errorf("DefaultMAC = %v, want %v", got, want)
	}
	if allocs := testing.AllocsPerRun(100, func() { topofile.DefaultMAC(id) }); allocs != 0 {
		t.Errorf("DefaultMAC allocates %v times", allocs)
	}
}
