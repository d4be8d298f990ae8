package harness_test

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/harness"
	"github.com/hivenet/hivenet/topology"
)

// connect opens vm2's connection to 8.8.8.8:443 through the tenant's SNAT.
func connect(t *testing.T, h *harness.Harness) *harness.Result {
	t.Helper()
	r := send(t, h, "vm2", harness.TCP("8.8.8.8:443"))
	r.ExpectDelivered(t, "provider-uplink")
	return r
}

func TestStateOut(t *testing.T) {
	h := loadCloud(t, harness.Config{})
	connect(t, h)
	s := h.State()
	tcp := flowstate.ProtoTCP
	vm2 := netip.MustParseAddrPort("10.1.0.12:40000")
	dst := netip.MustParseAddrPort("8.8.8.8:443")
	nat := netip.MustParseAddrPort("203.0.113.10:1024")
	wantNATs := []harness.NAT{
		{Type: flowstate.NATFwdSNAT, Device: "tenant-a", Proto: tcp, Src: vm2, Dst: dst, To: nat},
		{Type: flowstate.NATRevSNAT, Device: "tenant-a", Proto: tcp, Src: dst, Dst: nat, To: vm2},
	}
	if !reflect.DeepEqual(s.NATs, wantNATs) {
		t.Errorf("NAT keys %v, want %v", s.NATs, wantNATs)
	}
	// The return key is recorded where the packet left: the provider.
	wantConns := []harness.Conn{{Device: "provider", Proto: tcp, Src: dst, Dst: nat}}
	if !reflect.DeepEqual(s.Conns, wantConns) {
		t.Errorf("conntrack keys %v, want %v", s.Conns, wantConns)
	}
	if !containsString(s.MACs, "tenant-a-net vlan 0 fa:16:3e:0a:00:12 -> vm2") ||
		!containsString(s.ARP, "provider 198.51.100.1 -> 02:00:00:00:00:99") {
		t.Errorf("tables: MACs %v ARP %v", s.MACs, s.ARP)
	}
	if len(s.Inactive) != 0 {
		t.Errorf("inactive ports %v", s.Inactive)
	}
}

func containsString[E interface{ String() string }](s []E, want string) bool {
	for _, e := range s {
		if e.String() == want {
			return true
		}
	}
	return false
}

func TestStateRoundTrip(t *testing.T) {
	h := loadCloud(t, harness.Config{})
	r := connect(t, h)
	s := h.State()
	// A fresh harness given the state answers the reply as the first one.
	g := loadCloud(t, harness.Config{Cold: true})
	if err := g.SetState(s); err != nil {
		t.Fatal(err)
	}
	if got := g.State(); !reflect.DeepEqual(got, s) {
		t.Errorf("state set %+v, read back %+v", s, got)
	}
	back, err := g.Reply(r)
	if err != nil {
		t.Fatal(err)
	}
	back.ExpectDelivered(t, "vm2")
	// Without the conntrack key the reply is not a return flow: vm2's
	// security group drops it.
	s.Conns = nil
	if err := g.SetState(s); err != nil {
		t.Fatal(err)
	}
	back, err = g.Reply(r)
	if err != nil {
		t.Fatal(err)
	}
	back.ExpectDropped(t, simulation.ReasonFilter)
	// Errors leave the state alone.
	before := g.State()
	for _, bad := range []harness.State{
		{MACs: []harness.MACEntry{{Bridge: "nope", Port: "vm1"}}},
		{ARP: []harness.ARPEntry{{Router: "tenant-a-net", IP: addr("10.1.0.11")}}},
		{Inactive: []string{"tenant-a-lan"}},
		{Conns: []harness.Conn{{Device: "tenant-a", Src: netip.MustParseAddrPort("[2001:db8::1]:1"), Dst: netip.MustParseAddrPort("10.0.0.1:2")}}},
		{NATs: []harness.NAT{{Type: 9, Device: "tenant-a", Src: netip.MustParseAddrPort("10.0.0.1:1"), Dst: netip.MustParseAddrPort("10.0.0.2:2"), To: netip.MustParseAddrPort("10.0.0.3:3")}}},
	} {
		if err := g.SetState(bad); err == nil {
			t.Errorf("SetState(%+v) accepted", bad)
		}
	}
	if !reflect.DeepEqual(g.State(), before) {
		t.Errorf("a failed SetState changed the state")
	}
	if err := g.SetState(harness.State{Inactive: []string{"provider-uplink"}}); err != nil {
		t.Fatal(err)
	}
	send(t, g, "vm1", harness.TCP("8.8.8.8:443")).ExpectDropped(t, simulation.ReasonNoRoute)
}

func TestAdvanceExpires(t *testing.T) {
	h := loadCloud(t, harness.Config{})
	connect(t, h)
	start := h.Now()
	if c, n := h.Advance(flowstate.DefaultIdleTimeout / 2); c != 0 || n != 0 {
		t.Errorf("keys expired after half the idle timeout: %d conntrack, %d NAT", c, n)
	}
	if c, n := h.Advance(flowstate.DefaultIdleTimeout); c != 1 || n != 2 {
		t.Errorf("expired %d conntrack and %d NAT keys, want 1 and 2", c, n)
	}
	if s := h.State(); len(s.Conns)+len(s.NATs) != 0 {
		t.Errorf("state left: %v %v", s.Conns, s.NATs)
	}
	if got := h.Now().Sub(start); got != flowstate.DefaultIdleTimeout*3/2 {
		t.Errorf("clock moved %v", got)
	}
	// The port went back to the leaser: the next connection gets it again.
	r := connect(t, h)
	if v := &r.Delivered[0].Packet; v.SrcPort() != 1024 {
		t.Errorf("after expiry the connection left from port %d, want 1024", v.SrcPort())
	}
}

func TestDeterministic(t *testing.T) {
	run := func() (string, harness.State) {
		h := loadCloud(t, harness.Config{Seed: 42})
		var b strings.Builder
		for _, c := range []struct {
			from string
			p    harness.Packet
		}{{"vm2", harness.TCP("8.8.8.8:443")}, {"vm3", harness.UDP("1.1.1.1:53")}, {"vm4", harness.Ping("8.8.4.4")}, {"vm1", harness.TCP("vm3:22")}} {
			r := send(t, h, c.from, c.p)
			b.WriteString(r.TraceText())
		}
		return b.String(), h.State()
	}
	t1, s1 := run()
	t2, s2 := run()
	if t1 != t2 || !reflect.DeepEqual(s1, s2) {
		t.Errorf("two runs with the same seed differ")
	}
}

// slowPorts is a NAT port leaser whose block claims take until released.
type slowPorts struct {
	ready chan struct{}
	err   error
}

type slowWait struct{ p *slowPorts }

func (w slowWait) Error() string                                                    { return "claiming" }
func (w slowWait) Unwrap() error                                                    { return simulation.ErrNotYet }
func (w slowWait) Ready() <-chan struct{}                                           { return w.p.ready }
func (w slowWait) Err() error                                                       { return w.p.err }
func (p *slowPorts) Free(topology.ID, flowstate.NATBinding, flowstate.IPv4, uint16) {}
func (p *slowPorts) Allocate(_ topology.ID, _ flowstate.IPv4, _ uint16, ts []flowstate.NATTarget) (flowstate.NATBinding, error) {
	select {
	case <-p.ready:
		if p.err == nil {
			return flowstate.NATBinding{IP: ts[0].IPStart, Port: 2000}, nil
		}
	default:
	}
	return flowstate.NATBinding{}, slowWait{p}
}

func TestNATWait(t *testing.T) {
	slow := &slowPorts{ready: make(chan struct{})}
	h := loadCloud(t, harness.Config{Ports: slow})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.SendContext(ctx, "vm2", harness.TCP("8.8.8.8:443")); !errors.Is(err, context.Canceled) {
		t.Fatalf("send while the block never comes: %v", err)
	}
	close(slow.ready)
	r := send(t, h, "vm2", harness.TCP("8.8.8.8:443"))
	if v := &r.ExpectDelivered(t, "provider-uplink").Packet; v.SrcPort() != 2000 {
		t.Errorf("delivered %v", v)
	}
	// A claim that fails leaves the packet waiting.
	failed := &slowPorts{ready: make(chan struct{}), err: errors.New("no block for you")}
	close(failed.ready)
	h = loadCloud(t, harness.Config{Ports: failed})
	r = send(t, h, "vm2", harness.TCP("8.8.8.8:443"))
	r.ExpectVerdict(t, simulation.NotYet)
	if r.Reason != simulation.ReasonStateful || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "no block for you") {
		t.Errorf("got %s, notes %q", r, r.Notes)
	}
}
