package l4

import (
	"testing"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

const cloudFile = "../../examples/topologies/two-tenant-cloud.yaml"

// gwMAC is the upstream gateway 198.51.100.1, outside the topology.
var gwMAC = mac("02:00:00:00:99:01")

// cloud loads the two-tenant example. Its security groups accept return
// flows, but nothing asks for the direction of the VMs' own connections on
// their way out, and the reference tracks a connection only when a
// condition asked: the VM ports get an inbound filter that asks (and
// accepts everything).
func cloud(t testing.TB) *world {
	t.Helper()
	topo := loadFile(t, cloudFile)
	track := topology.Chain{ID: topology.NameID(topology.KindChain, "track"), Name: "track", Rules: []topology.Rule{
		{Type: topology.RuleLiteral, Action: topology.ActionAccept, Condition: topology.Condition{MatchForwardFlow: true}},
	}}
	topo.Chains = append(topo.Chains, track)
	for i := range topo.Ports {
		switch topo.Ports[i].Name {
		case "vm1", "vm2", "vm3", "vm4":
			topo.Ports[i].InboundFilter = track.ID
		}
	}
	w := newWorld(t, topo)
	w.st.SetARP(rid("provider"), ip("198.51.100.1"), gwMAC)
	return w
}

// toUplink builds a frame from the internet, arriving at provider-uplink.
func (w *world) fromInternet(f frame) frame {
	f.src, f.dst = gwMAC, w.mac("provider-uplink")
	return f
}

// Scenario 38: a VM's TCP connection to the internet is source-NATed from
// the range; one forward key referenced by the flow; the reply is
// translated back and passes the VM's security group as a return flow;
// another packet of the connection reuses the mapping; once the flows are
// gone the keys expire and the port goes back to the leaser.
func TestSNATConnection(t *testing.T) {
	w := cloud(t)
	ta := rid("tenant-a")
	fwd := tcp(w.mac("vm2"), w.mac("tenant-a-lan"), "10.1.0.12:40000", "8.8.8.8:443").bytes(t)
	res, refs := w.send("vm2", fwd)
	wantOut(t, res, "provider-uplink")
	o := out(t, fwd, res, 0)
	natPort := o.SrcPort()
	if o.IPSrc() != ip("203.0.113.10") || natPort < 1024 || o.IPDst() != ip("8.8.8.8") || o.DstPort() != 443 || o.EthDst() != gwMAC {
		t.Fatalf("output %v", o)
	}
	fk, fb := only(t, w.natKeys(flowstate.NATFwdSNAT))
	if want := natKeyOf(flowstate.NATFwdSNAT, ta, packet.ProtoTCP, "10.1.0.12:40000", "8.8.8.8:443"); fk != want {
		t.Errorf("forward key %v, want %v", fk, want)
	}
	if fb != (flowstate.NATBinding{IP: ip4("203.0.113.10"), Port: natPort}) {
		t.Errorf("binding %v, output port %d", fb, natPort)
	}
	rk, rb := only(t, w.natKeys(flowstate.NATRevSNAT))
	if rk != natKeyOf(flowstate.NATRevSNAT, ta, packet.ProtoTCP, "8.8.8.8:443", o.IPSrc().String()+":"+itoa(natPort)) ||
		rb != (flowstate.NATBinding{IP: ip4("10.1.0.12"), Port: 40000}) {
		t.Errorf("return key %v -> %v", rk, rb)
	}
	ck := connKeyOf(rid("provider"), packet.ProtoTCP, "8.8.8.8:443", "203.0.113.10:"+itoa(natPort))
	for _, n := range []int{w.svc.NATs().Refs(fk), w.svc.NATs().Refs(rk), w.svc.Conns().Refs(ck)} {
		if n != 1 {
			t.Errorf("key references %d, want 1", n)
		}
	}
	if len(refs.NATs) != 2 || len(refs.Conns) != 1 || len(w.msg.NATs) != 2 || len(w.msg.Conns) != 1 {
		t.Errorf("flow refs %+v, message %d NAT %d conntrack", refs, len(w.msg.NATs), len(w.msg.Conns))
	}
	if !res.HasTag(natTag(fk)) || !res.HasTag(natTag(rk)) {
		t.Errorf("flow not tagged with its NAT keys")
	}
	if w.ports.allocs != 1 {
		t.Errorf("%d port allocations", w.ports.allocs)
	}

	// The reply is translated back and reaches the VM as a return flow.
	reply := w.fromInternet(tcp(topology.MAC{}, topology.MAC{}, "8.8.8.8:443", "203.0.113.10:"+itoa(natPort))).bytes(t)
	res, rrefs := w.send("provider-uplink", reply)
	wantOut(t, res, "vm2")
	if o := out(t, reply, res, 0); o.IPDst() != ip("10.1.0.12") || o.DstPort() != 40000 || o.IPSrc() != ip("8.8.8.8") || o.SrcPort() != 443 || o.EthDst() != w.mac("vm2") {
		t.Errorf("reply delivered as %v", o)
	}
	if !res.HasTag(natTag(rk)) || rrefs.Len() != 0 {
		t.Errorf("reply: tagged %v, refs %+v", res.HasTag(natTag(rk)), rrefs)
	}

	// Another packet of the connection (another source MAC: another flow)
	// reuses the mapping.
	fwd2 := tcp(mac("02:00:00:00:aa:aa"), w.mac("tenant-a-lan"), "10.1.0.12:40000", "8.8.8.8:443").bytes(t)
	res, refs2 := w.send("vm2", fwd2)
	wantOut(t, res, "provider-uplink")
	if o := out(t, fwd2, res, 0); o.IPSrc() != ip("203.0.113.10") || o.SrcPort() != natPort {
		t.Errorf("second flow translated to %v:%d, want port %d", o.IPSrc(), o.SrcPort(), natPort)
	}
	if w.svc.NATs().Refs(fk) != 2 || w.svc.NATs().Refs(rk) != 2 || w.ports.allocs != 1 {
		t.Errorf("refs %d/%d after the second flow, %d allocations", w.svc.NATs().Refs(fk), w.svc.NATs().Refs(rk), w.ports.allocs)
	}

	// The flows are invalidated (router tag): the keys idle, then expire
	// and free the port.
	w.svc.Release(refs)
	w.svc.Release(refs2)
	if w.svc.NATs().Refs(fk) != 0 || w.svc.Conns().Refs(ck) != 0 {
		t.Fatalf("references left after the flows went")
	}
	w.clock.Add(30 * time.Second)
	if _, n := w.svc.Expire(); n != 0 || w.ports.freed() != 0 {
		t.Fatalf("keys expired early")
	}
	w.clock.Add(30 * time.Second)
	if c, n := w.svc.Expire(); c != 1 || n != 2 {
		t.Fatalf("expired %d conntrack and %d NAT keys, want 1 and 2", c, n)
	}
	if w.ports.freed() != 1 || w.ports.frees[0] != fb {
		t.Errorf("ports freed %v, want [%v]", w.ports.frees, fb)
	}
}

func itoa(n uint16) string {
	if n == 0 {
		return "0"
	}
	var b [5]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

var _ = simulation.Forward
