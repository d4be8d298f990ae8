package harness_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/harness"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

const (
	cloud      = "../../examples/topologies/two-tenant-cloud.yaml"
	twoBridges = "../../examples/topologies/two-bridges-router.yaml"
	lbFile     = "../../examples/topologies/load-balancer.yaml"
)

// upstream is the gateway behind the cloud's uplink.
var (
	upstreamMAC  = topology.MustParseMAC("02:00:00:00:00:99")
	upstreamAddr = netip.MustParseAddr("198.51.100.1")
)

func load(t *testing.T, file string, cfg harness.Config) *harness.Harness {
	t.Helper()
	h, err := harness.LoadFile(file, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// loadCloud loads the two-tenant cloud with the upstream gateway plugged
// into the uplink.
func loadCloud(t *testing.T, cfg harness.Config) *harness.Harness {
	t.Helper()
	h := load(t, cloud, cfg)
	if err := h.Plug("provider-uplink", upstreamMAC, upstreamAddr); err != nil {
		t.Fatal(err)
	}
	return h
}

func send(t *testing.T, h *harness.Harness, from string, p harness.Packet) *harness.Result {
	t.Helper()
	r, err := h.Send(from, p)
	if err != nil {
		t.Fatalf("send %v from %s: %v", p, from, err)
	}
	return r
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestVMsFromDHCP(t *testing.T) {
	h := load(t, cloud, harness.Config{})
	vms := h.VMs()
	if len(vms) != 4 {
		t.Fatalf("%d VMs, want vm1..vm4: %+v", len(vms), vms)
	}
	v, ok := h.VM("vm4")
	if !ok || v.Addr != addr("10.2.0.14") || v.MAC != topology.MustParseMAC("fa:16:3e:0b:00:14") || h.Name(v.Bridge) != "tenant-b-net" {
		t.Errorf("vm4 = %+v, %v", v, ok)
	}
	if _, ok := h.VM("provider-uplink"); ok {
		t.Errorf("the uplink has a machine before Plug")
	}
}

func TestSameBridge(t *testing.T) {
	h := loadCloud(t, harness.Config{})
	d := send(t, h, "vm1", harness.Ping("vm2")).ExpectDelivered(t, "vm2")
	if v := &d.Packet; v.IPSrc() != addr("10.1.0.11") || v.IPDst() != addr("10.1.0.12") || v.ICMPType() != packet.ICMPEchoRequest || v.IPTTL() != 64 {
		t.Errorf("delivered %v", v)
	}
	// Once delivered, the VM answers.
	r, err := h.Reply(send(t, h, "vm1", harness.UDP("vm2:53")))
	if err != nil {
		t.Fatal(err)
	}
	if v := &r.ExpectDelivered(t, "vm1").Packet; v.SrcPort() != 53 || v.DstPort() != harness.DefaultSrcPort {
		t.Errorf("reply delivered %v", v)
	}
}

func TestSecurityGroupDrops(t *testing.T) {
	h := loadCloud(t, harness.Config{})
	// vm2 accepts SSH from anyone, nothing else from the other tenant.
	send(t, h, "vm3", harness.TCP("vm2:22")).ExpectDelivered(t, "vm2")
	r := send(t, h, "vm3", harness.TCP("vm2:80"))
	r.ExpectDropped(t, simulation.ReasonFilter)
	if !strings.Contains(r.TraceText(), "chain tenant-a-sg") {
		t.Errorf("the trace does not show the security group:\n%s", r.TraceText())
	}
}

func TestDynamicSNATAndReply(t *testing.T) {
	h := loadCloud(t, harness.Config{})
	r := send(t, h, "vm2", harness.TCP("8.8.8.8:443"))
	out := r.ExpectDelivered(t, "provider-uplink")
	// The tenant's SNAT address and the first port of the first block, to
	// the upstream gateway whose MAC the provider router learned by ARP.
	if v := &out.Packet; v.IPSrc() != addr("203.0.113.10") || v.SrcPort() != 1024 || v.IPDst() != addr("8.8.8.8") || v.EthDst() != upstreamMAC {
		t.Errorf("delivered %v", v)
	}
	notes := strings.Join(r.Notes, "\n")
	if !strings.Contains(notes, "NAT port block was claimed") || !strings.Contains(notes, "provider-uplink answered 02:00:00:00:00:99") {
		t.Errorf("notes:\n%s", notes)
	}
	// The answer is translated back to vm2's address and port; conntrack
	// lets it through vm2's security group.
	back, err := h.Reply(r)
	if err != nil {
		t.Fatal(err)
	}
	in := back.ExpectDelivered(t, "vm2")
	if v := &in.Packet; v.IPSrc() != addr("8.8.8.8") || v.SrcPort() != 443 || v.IPDst() != addr("10.1.0.12") ||
		v.DstPort() != harness.DefaultSrcPort || v.TCPFlags() != harness.SYN|harness.ACK {
		t.Errorf("reply delivered %v", v)
	}
	// A second connection to the same destination gets the next port.
	r = send(t, h, "vm2", harness.TCP(":40001->8.8.8.8:443"))
	if v := &r.ExpectDelivered(t, "provider-uplink").Packet; v.SrcPort() != 1025 {
		t.Errorf("second connection leaves from port %d, want 1025", v.SrcPort())
	}
}

func TestFloatingIP(t *testing.T) {
	h := loadCloud(t, harness.Config{})
	// Out: static SNAT to the floating IP, ports kept.
	r := send(t, h, "vm1", harness.TCP(":34567->8.8.8.8:443"))
	if v := &r.ExpectDelivered(t, "provider-uplink").Packet; v.IPSrc() != addr("203.0.113.11") || v.SrcPort() != 34567 {
		t.Errorf("delivered %v", v)
	}
	// In: from the internet to the floating IP, DNAT to vm1, whose group
	// accepts HTTP; the reply leaves from the floating IP.
	r = send(t, h, "provider-uplink", harness.TCP("203.0.113.11:80").WithSrc("192.0.2.7"))
	if v := &r.ExpectDelivered(t, "vm1").Packet; v.IPDst() != addr("10.1.0.11") || v.IPSrc() != addr("192.0.2.7") {
		t.Errorf("delivered %v", v)
	}
	back, err := h.Reply(r)
	if err != nil {
		t.Fatal(err)
	}
	if v := &back.ExpectDelivered(t, "provider-uplink").Packet; v.IPSrc() != addr("203.0.113.11") || v.IPDst() != addr("192.0.2.7") || v.SrcPort() != 80 {
		t.Errorf("reply delivered %v", v)
	}
	// The provider routes the tenant's private subnet too, but vm2's
	// security group drops HTTP from outside.
	send(t, h, "provider-uplink", harness.TCP("10.1.0.12:80").WithSrc("192.0.2.7")).ExpectDropped(t, simulation.ReasonFilter)
}

func TestNetworkAnswers(t *testing.T) {
	h := loadCloud(t, harness.Config{})
	r := send(t, h, "vm1", harness.Ping("10.1.0.1"))
	r.ExpectVerdict(t, simulation.Consumed)
	if v := &r.ExpectAnswered(t, "vm1").Packet; v.ICMPType() != packet.ICMPEchoReply || v.IPSrc() != addr("10.1.0.1") || v.ICMPID() != harness.DefaultEchoID {
		t.Errorf("answer %v", v)
	}
	r = send(t, h, "vm3", harness.ARPRequest("10.2.0.1"))
	r.ExpectVerdict(t, simulation.Consumed)
	if v := &r.ExpectAnswered(t, "vm3").Packet; v.ARPOp() != packet.ARPReply || v.ARPSPA() != addr("10.2.0.1") || v.ARPTPA() != addr("10.2.0.13") {
		t.Errorf("answer %v", v)
	}
	// A VM's ARP request reaches the VM, whose reply goes back.
	r = send(t, h, "vm1", harness.ARPRequest("vm2"))
	back, err := h.ReplyFrom(r, "vm2")
	if err != nil {
		t.Fatal(err)
	}
	if v := &back.ExpectDelivered(t, "vm1").Packet; v.ARPOp() != packet.ARPReply || v.ARPSHA() != topology.MustParseMAC("fa:16:3e:0a:00:12") {
		t.Errorf("ARP reply delivered %v", v)
	}
}

func TestColdResolvesARP(t *testing.T) {
	h := load(t, twoBridges, harness.Config{Cold: true})
	r := send(t, h, "vm1", harness.Ping("vm2"))
	if v := &r.ExpectDelivered(t, "vm2").Packet; v.IPTTL() != 63 {
		t.Errorf("delivered %v", v)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "router r1 asked for 10.0.2.11: vm2 answered") {
		t.Errorf("notes %q", r.Notes)
	}
	want := harness.ARPEntry{Router: "r1", IP: addr("10.0.2.11"), MAC: topology.MustParseMAC("fa:16:3e:00:02:11")}
	s := h.State()
	if len(s.ARP) != 1 || s.ARP[0] != want {
		t.Errorf("ARP tables %v, want %v", s.ARP, want)
	}
	// Nobody owns 10.0.2.99: the router is still waiting.
	r = send(t, h, "vm1", harness.Ping("10.0.2.99"))
	r.ExpectVerdict(t, simulation.NotYet)
	if r.Reason != simulation.ReasonARPPending || !strings.Contains(r.Notes[0], "nobody answered") {
		t.Errorf("got %s, notes %q", r, r.Notes)
	}
}

func TestUplinkWithoutNeighbour(t *testing.T) {
	h := load(t, cloud, harness.Config{})
	r := send(t, h, "vm1", harness.TCP("8.8.8.8:443"))
	r.ExpectVerdict(t, simulation.NotYet)
	if err := h.SetARP("provider", upstreamAddr, upstreamMAC); err != nil {
		t.Fatal(err)
	}
	send(t, h, "vm1", harness.TCP("8.8.8.8:443")).ExpectDelivered(t, "provider-uplink")
	// Without the uplink active, the provider has no default route.
	if err := h.SetPortActive("provider-uplink", false); err != nil {
		t.Fatal(err)
	}
	send(t, h, "vm1", harness.TCP("8.8.8.8:443")).ExpectDropped(t, simulation.ReasonNoRoute)
}

func TestSendErrors(t *testing.T) {
	h := load(t, cloud, harness.Config{})
	for _, c := range []struct {
		from string
		p    harness.Packet
		want error
	}{
		{"nope", harness.Ping("vm2"), harness.ErrUnknownName},
		{"tenant-a-lan", harness.Ping("vm2"), harness.ErrNotExterior},
		{"vm1", harness.Ping("nobody"), harness.ErrBadPacket},
		{"vm1", harness.TCP("vm2"), harness.ErrBadPacket},
		{"vm1", harness.Ping("192.0.2.1").WithSrc("10.9.9.9"), harness.ErrBadPacket}, // no gateway for that source
		{"provider-uplink", harness.Ping("203.0.113.11"), harness.ErrBadPacket},      // no source address
		{"vm1", harness.Packet{}, harness.ErrBadPacket},
	} {
		if _, err := h.Send(c.from, c.p); !errors.Is(err, c.want) {
			t.Errorf("send %v from %s: %v, want %v", c.p, c.from, err, c.want)
		}
	}
	if _, err := h.Reply(send(t, h, "vm1", harness.TCP("vm3:80"))); !errors.Is(err, harness.ErrNoReply) {
		t.Errorf("reply to a dropped packet: %v", err)
	}
	if err := h.Learn("provider-uplink"); !errors.Is(err, harness.ErrUnknownName) {
		t.Errorf("learning a router port: %v", err)
	}
}

func TestRawFrameAndVLAN(t *testing.T) {
	h := load(t, twoBridges, harness.Config{})
	f, err := harness.UDP("10.0.2.11:53").Build(h.Sender("vm1"))
	if err != nil {
		t.Fatal(err)
	}
	if v := &send(t, h, "vm1", harness.Frame(f)).ExpectDelivered(t, "vm2").Packet; v.DstPort() != 53 {
		t.Errorf("delivered %v", v)
	}
	// A tagged frame on a VLAN-unaware bridge's access port is dropped.
	send(t, h, "vm1", harness.UDP("10.0.2.11:53").WithVLAN(7)).ExpectDropped(t, simulation.ReasonVLAN)
}

func TestUpdateTopology(t *testing.T) {
	h := load(t, twoBridges, harness.Config{})
	p, err := h.Port("vm2")
	if err != nil {
		t.Fatal(err)
	}
	down := *p
	down.AdminDown = true
	h.Update(topology.Put(&down))
	send(t, h, "vm1", harness.Ping("vm2")).ExpectDropped(t, simulation.ReasonPortDown)
}

// TestNewValidates: New refuses an invalid topology unless told it was
// validated already.
func TestNewValidates(t *testing.T) {
	id := topology.NameID(topology.KindBridge, "b")
	bad := &topology.Topology{Bridges: []topology.Bridge{{ID: id, Name: "b"}, {ID: id, Name: "b"}}}
	if _, err := harness.New(bad, harness.Config{}); err == nil {
		t.Error("New accepted a topology with a duplicate bridge")
	}
	if _, err := harness.New(bad, harness.Config{Validated: true}); err != nil {
		t.Errorf("New validated a topology said to be validated: %v", err)
	}
}
