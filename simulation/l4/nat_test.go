package l4

import (
	"net/netip"
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
		{ID: topology.NameID(topology.KindInvalid, "track-0"), Type: topology.RuleLiteral, Action: topology.ActionAccept, Condition: topology.Condition{MatchForwardFlow: true}},
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

// A VM's TCP connection to the internet is source-NATed from the range; one
// forward key referenced by the flow; the reply is translated back and passes
// the VM's security group as a return flow; another packet of the connection
// reuses the mapping; once the flows are gone the keys expire and the port
// goes back to the leaser.
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

// dnatNet is a router between a client network and a server network, with
// destination NAT of 1.1.1.1:80 to two backends on port 81 and of ICMP to
// 1.1.1.2, and source NAT of everything entering the server network
// (DnatPlusSnatTest).
const dnatNet = `
hosts: [{name: h}]
bridges:
  - name: cnet
    ports:
      - {name: client, host: h, interface: tap-client}
      - {name: cnet-r, peer: r-client}
    dhcp:
      - subnet: 10.0.0.0/24
        hosts: [{mac: "02:00:00:00:00:05", addr: 10.0.0.5, name: client}]
  - name: lan
    ports:
      - {name: b2, host: h, interface: tap-b2}
      - {name: b3, host: h, interface: tap-b3}
      - {name: lan-r, peer: r-lan}
    dhcp:
      - subnet: 10.0.1.0/24
        hosts:
          - {mac: "02:00:00:00:01:02", addr: 10.0.1.2, name: b2}
          - {mac: "02:00:00:00:01:03", addr: 10.0.1.3, name: b3}
routers:
  - name: r
    inbound-filter: pre
    outbound-filter: post
    ports:
      - {name: r-client, address: 10.0.0.1/24}
      - {name: r-lan, address: 10.0.1.1/24}
chains:
  - name: pre
    rules:
      - {dnat: "10.0.1.2-10.0.1.3:81", nw-dst: 1.1.1.1, nw-proto: tcp, tp-dst: 80}
      - {dnat: "10.0.1.3:1-65535", nw-dst: 1.1.1.2, nw-proto: icmp}
      - {rev-snat: true, nw-dst: 10.0.1.1}
  - name: post
    rules:
      - {rev-dnat: true, in-ports: [r-lan]}
      - {snat: "10.0.1.1:11000-30000", out-ports: [r-lan]}
`

// DNAT to a random backend plus SNAT into the server network; all four keys
// are present; the backend's reply is restored to 1.1.1.1:80 -> client:12345.
func TestDNATPlusSNAT(t *testing.T) {
	w := newWorld(t, load(t, dnatNet))
	r := rid("r")
	seen := map[string]bool{}
	for i := range 8 {
		sport := uint16(12345 + i)
		fwd := tcp(w.mac("client"), w.mac("r-client"), "10.0.0.5:"+itoa(sport), "1.1.1.1:80").bytes(t)
		res, refs := w.send("client", fwd)
		wantVerdict(t, res, simulation.Forward, simulation.ReasonNone)
		backend := map[topology.ID]string{pid("b2"): "10.0.1.2", pid("b3"): "10.0.1.3"}[res.Outputs[0].Port]
		if backend == "" || len(res.Outputs) != 1 {
			t.Fatalf("outputs %v", res.OutPorts(nil))
		}
		seen[backend] = true
		o := out(t, fwd, res, 0)
		// One set-field per layer: Ethernet, IPv4 (addresses and TTL), TCP.
		want := packet.FieldsOf(packet.FieldEthSrc, packet.FieldEthDst, packet.FieldIPSrc, packet.FieldIPDst, packet.FieldIPTTL, packet.FieldSrcPort, packet.FieldDstPort)
		if ch := packet.Changed(&res.Original, &res.Outputs[0].Match); ch != want {
			t.Errorf("rewritten fields %v, want %v", ch, want)
		}
		if o.IPDst() != ip(backend) || o.DstPort() != 81 || o.IPSrc() != ip("10.0.1.1") || o.SrcPort() < 11000 || o.SrcPort() > 30000 {
			t.Fatalf("forward output %v", o)
		}
		if !res.Outputs[0].Match.Peek().Modified().Has(packet.FieldIPDst) {
			t.Error("destination not rewritten")
		}
		keys := []flowstate.NATKey{
			natKeyOf(flowstate.NATFwdDNAT, r, packet.ProtoTCP, "10.0.0.5:"+itoa(sport), "1.1.1.1:80"),
			natKeyOf(flowstate.NATRevDNAT, r, packet.ProtoTCP, backend+":81", "10.0.0.5:"+itoa(sport)),
			natKeyOf(flowstate.NATFwdSNAT, r, packet.ProtoTCP, "10.0.0.5:"+itoa(sport), backend+":81"),
			natKeyOf(flowstate.NATRevSNAT, r, packet.ProtoTCP, backend+":81", "10.0.1.1:"+itoa(o.SrcPort())),
		}
		for _, k := range keys {
			if w.svc.NATs().Refs(k) != 1 {
				t.Errorf("key %v: %d references", k, w.svc.NATs().Refs(k))
			}
		}
		if len(refs.NATs) != 4 {
			t.Errorf("flow references %d NAT keys", len(refs.NATs))
		}

		// The backend replies to the SNAT address.
		reply := tcp(w.mac(map[string]string{"10.0.1.2": "b2", "10.0.1.3": "b3"}[backend]), w.mac("r-lan"),
			backend+":81", "10.0.1.1:"+itoa(o.SrcPort())).bytes(t)
		res, _ = w.send(map[string]string{"10.0.1.2": "b2", "10.0.1.3": "b3"}[backend], reply)
		wantOut(t, res, "client")
		if o := out(t, reply, res, 0); o.IPSrc() != ip("1.1.1.1") || o.SrcPort() != 80 || o.IPDst() != ip("10.0.0.5") || o.DstPort() != sport {
			t.Errorf("reply delivered as %v", o)
		}
	}
	if len(seen) != 2 {
		t.Errorf("DNAT never chose some backend: %v", seen)
	}
}

// A ping to a DNAT address reaches the backend with its identifier kept, and
// the reply comes back from the DNAT address.
func TestDNATPing(t *testing.T) {
	w := newWorld(t, load(t, dnatNet))
	req := ping(w.mac("client"), w.mac("r-client"), "10.0.0.5", "1.1.1.2", 4242).bytes(t)
	res, _ := w.send("client", req)
	wantOut(t, res, "b3")
	if o := out(t, req, res, 0); o.IPDst() != ip("10.0.1.3") || o.IPSrc() != ip("10.0.1.1") || o.ICMPID() != 4242 {
		t.Errorf("request delivered as %v", o)
	}
	if res.Flow != simulation.FlowNone {
		t.Errorf("NAT on the echo identifier installed a kernel flow (%v)", res.Flow)
	}
	if w.ports.allocs != 0 {
		t.Errorf("ICMP used the port leaser")
	}
	rep := pong(w.mac("b3"), w.mac("r-lan"), "10.0.1.3", "10.0.1.1", 4242).bytes(t)
	res, _ = w.send("b3", rep)
	wantOut(t, res, "client")
	if o := out(t, rep, res, 0); o.IPSrc() != ip("1.1.1.2") || o.IPDst() != ip("10.0.0.5") || o.ICMPID() != 4242 {
		t.Errorf("reply delivered as %v", o)
	}
}

// A floating IP. From the internet and from a VM of the same tenant, traffic
// to the floating IP is DNATed to its VM; the VM's own traffic out is SNATed
// to it, statelessly; the VM reaching its own floating IP is DNATed and not
// SNATed.
func TestFloatingIP(t *testing.T) {
	w := cloud(t)
	in := w.fromInternet(tcp(topology.MAC{}, topology.MAC{}, "198.51.100.77:5555", "203.0.113.11:80")).bytes(t)
	res, _ := w.send("provider-uplink", in)
	wantOut(t, res, "vm1")
	if o := out(t, in, res, 0); o.IPDst() != ip("10.1.0.11") || o.DstPort() != 80 || o.IPSrc() != ip("198.51.100.77") || o.SrcPort() != 5555 {
		t.Errorf("internet -> FIP delivered as %v", o)
	}

	in = tcp(w.mac("vm2"), w.mac("tenant-a-lan"), "10.1.0.12:6000", "203.0.113.11:22").bytes(t)
	res, _ = w.send("vm2", in)
	wantOut(t, res, "vm1")
	if o := out(t, in, res, 0); o.IPDst() != ip("10.1.0.11") || o.IPSrc() != ip("10.1.0.12") {
		t.Errorf("vm2 -> FIP delivered as %v", o)
	}

	in = tcp(w.mac("vm1"), w.mac("tenant-a-lan"), "10.1.0.11:7000", "8.8.8.8:443").bytes(t)
	res, _ = w.send("vm1", in)
	wantOut(t, res, "provider-uplink")
	if o := out(t, in, res, 0); o.IPSrc() != ip("203.0.113.11") || o.SrcPort() != 7000 {
		t.Errorf("vm1 -> internet leaves as %v", o)
	}

	in = tcp(w.mac("vm1"), w.mac("tenant-a-lan"), "10.1.0.11:7001", "203.0.113.11:22").bytes(t)
	res, _ = w.send("vm1", in)
	wantOut(t, res, "vm1")
	if o := out(t, in, res, 0); o.IPDst() != ip("10.1.0.11") || o.IPSrc() != ip("10.1.0.11") {
		t.Errorf("vm1 -> own FIP delivered as %v", o)
	}
	if n := w.svc.NATs().Len(); n != 0 || w.ports.allocs != 0 {
		t.Errorf("static NAT kept state: %d NAT keys, %d ports", n, w.ports.allocs)
	}
}

// Two VMs ping the same host through dynamic SNAT; each keeps its identifier
// and a stable mapping, without the port leaser; the replies reach the right
// VM; NAT on echo identifiers is userspace only.
func TestSNATPing(t *testing.T) {
	w := cloud(t)
	tb := rid("tenant-b")
	for round := range 2 {
		for _, vm := range []struct {
			name, addr string
			id         uint16
		}{{"vm3", "10.2.0.13", 100}, {"vm4", "10.2.0.14", 200}} {
			req := ping(w.mac(vm.name), w.mac("tenant-b-lan"), vm.addr, "8.8.8.8", vm.id).bytes(t)
			res, _ := w.send(vm.name, req)
			wantOut(t, res, "provider-uplink")
			if o := out(t, req, res, 0); o.IPSrc() != ip("203.0.113.17") || o.ICMPID() != vm.id {
				t.Errorf("%s: request leaves as %v", vm.name, o)
			}
			if res.Flow != simulation.FlowNone {
				t.Errorf("%s: flow %v, want none (the identifier is read)", vm.name, res.Flow)
			}
			k := natKeyOf(flowstate.NATFwdSNAT, tb, packet.ProtoICMP, vm.addr+":"+itoa(vm.id), "8.8.8.8:"+itoa(vm.id))
			if b, ok := w.svc.NATs().Get(k); !ok || b != (flowstate.NATBinding{IP: ip4("203.0.113.17"), Port: vm.id}) {
				t.Errorf("round %d %s: key %v -> %v %v", round, vm.name, k, b, ok)
			}
		}
	}
	if w.ports.allocs != 0 || len(w.natKeys(flowstate.NATFwdSNAT)) != 2 {
		t.Errorf("%d port allocations, %d forward keys", w.ports.allocs, len(w.natKeys(flowstate.NATFwdSNAT)))
	}
	for _, vm := range []struct {
		name, addr string
		id         uint16
	}{{"vm4", "10.2.0.14", 200}, {"vm3", "10.2.0.13", 100}} {
		rep := w.fromInternet(pong(topology.MAC{}, topology.MAC{}, "8.8.8.8", "203.0.113.17", vm.id)).bytes(t)
		res, _ := w.send("provider-uplink", rep)
		wantOut(t, res, vm.name)
		if o := out(t, rep, res, 0); o.IPDst() != ip(vm.addr) || o.ICMPID() != vm.id {
			t.Errorf("reply to %s delivered as %v", vm.name, o)
		}
	}
}

// ICMP errors about SNATed TCP and ICMP flows are translated back in both the
// outer and the embedded headers, from userspace.
func TestSNATICMPErrors(t *testing.T) {
	w := cloud(t)
	fwd := tcp(w.mac("vm2"), w.mac("tenant-a-lan"), "10.1.0.12:40000", "8.8.8.8:443").bytes(t)
	res, _ := w.send("vm2", fwd)
	wantOut(t, res, "provider-uplink")
	sent, err := packet.Apply(append([]byte(nil), fwd...), &res.Original, &res.Outputs[0].Match)
	if err != nil {
		t.Fatal(err)
	}
	natPort := out(t, fwd, res, 0).SrcPort()
	e := icmpError(t, gwMAC, w.mac("provider-uplink"), "198.51.100.1", "203.0.113.10", packet.ICMPDestUnreach, packet.CodeHostUnreach, sent)
	res, _ = w.send("provider-uplink", e)
	wantOut(t, res, "vm2")
	o := out(t, e, res, 0)
	in := o.ICMPData()
	if o.IPDst() != ip("10.1.0.12") || o.IPSrc() != ip("198.51.100.1") ||
		in.Src != ip("10.1.0.12") || in.SrcPort != 40000 || in.Dst != ip("8.8.8.8") || in.DstPort != 443 {
		t.Errorf("error delivered as %v, embedded %+v", o, in)
	}
	if res.Flow != simulation.FlowNone {
		t.Errorf("flow %v: an ICMP error translated by its payload needs userspace", res.Flow)
	}
	rk := natKeyOf(flowstate.NATRevSNAT, rid("tenant-a"), packet.ProtoTCP, "8.8.8.8:443", "203.0.113.10:"+itoa(natPort))
	if !res.HasTag(natTag(rk)) {
		t.Errorf("error not tagged with %v", rk)
	}

	// An error about a SNATed ping.
	req := ping(w.mac("vm3"), w.mac("tenant-b-lan"), "10.2.0.13", "8.8.8.8", 100).bytes(t)
	res, _ = w.send("vm3", req)
	wantOut(t, res, "provider-uplink")
	if sent, err = packet.Apply(append([]byte(nil), req...), &res.Original, &res.Outputs[0].Match); err != nil {
		t.Fatal(err)
	}
	e = icmpError(t, gwMAC, w.mac("provider-uplink"), "198.51.100.1", "203.0.113.17", packet.ICMPTimeExceeded, packet.CodeTTLExceeded, sent)
	res, _ = w.send("provider-uplink", e)
	wantOut(t, res, "vm3")
	o = out(t, e, res, 0)
	if in := o.ICMPData(); o.IPDst() != ip("10.2.0.13") || in.Src != ip("10.2.0.13") || in.ICMPID != 100 || in.Dst != ip("8.8.8.8") {
		t.Errorf("error delivered as %v, embedded %+v", o, in)
	}
}

// An echo reply a router generates toward a SNATed client is translated back
// like any reply.
func TestGeneratedReplyThroughSNAT(t *testing.T) {
	w := cloud(t)
	req := ping(w.mac("vm2"), w.mac("tenant-a-lan"), "10.1.0.12", "198.51.100.2", 31).bytes(t)
	res, _ := w.send("vm2", req)
	wantVerdict(t, res, simulation.Consumed, simulation.ReasonNone)
	if len(res.Generated) != 1 || res.Generated[0].Port != pid("provider-tenant-a") {
		t.Fatalf("generated %v\n%s", res.Generated, res.Trace)
	}
	g := append([]byte(nil), res.Generated[0].Frame...)
	gr := w.simAt(res.Generated[0].Port, g, true)
	w.svc.Finish(gr, nil, nil)
	wantOut(t, gr, "vm2")
	if o := out(t, g, gr, 0); o.IPSrc() != ip("198.51.100.2") || o.IPDst() != ip("10.1.0.12") || o.ICMPType() != packet.ICMPEchoReply || o.ICMPID() != 31 {
		t.Errorf("echo reply delivered as %v", o)
	}
}

// Router replies are filtered on a throw-away context: static NAT applies,
// dynamic NAT does not and nothing is allocated or committed.
func TestThrowAwayStaticOnly(t *testing.T) {
	w := newWorld(t, load(t, `
hosts: [{name: h}]
routers:
  - name: r
    outbound-filter: post
    ports:
      - {name: up, address: 198.51.100.2/24, host: h, interface: eth0}
      - {name: lan, address: 10.0.0.1/24, host: h, interface: eth1}
chains:
  - name: post
    rules:
      - {snat: "203.0.113.50:2000-3000", nw-src: 10.0.0.1}
      - {snat: 203.0.113.99, nw-src: 10.0.0.1}
`))
	w.st.SetARP(rid("r"), ip("198.51.100.1"), gwMAC)
	req := ping(gwMAC, w.mac("up"), "198.51.100.1", "10.0.0.1", 5).bytes(t)
	res, _ := w.send("up", req)
	wantVerdict(t, res, simulation.Consumed, simulation.ReasonNone)
	if len(res.Generated) != 1 {
		t.Fatalf("generated %d packets\n%s", len(res.Generated), res.Trace)
	}
	var m packet.Match
	if err := m.Parse(res.Generated[0].Frame); err != nil {
		t.Fatal(err)
	}
	if v := m.Peek(); v.IPSrc() != ip("203.0.113.99") || v.IPDst() != ip("198.51.100.1") {
		t.Errorf("echo reply %v, want it sourced from the floating IP", v)
	}
	if w.ports.allocs != 0 || w.svc.NATs().Len() != 0 || !w.svc.tx.empty() {
		t.Errorf("throw-away context kept state: %d ports, %d keys", w.ports.allocs, w.svc.NATs().Len())
	}
}

// Untranslatable packets (here an ICMP timestamp request) do not apply a
// dynamic NAT rule: the chain goes on.
func TestNATUnsupported(t *testing.T) {
	w := newWorld(t, load(t, `
hosts: [{name: h}]
routers:
  - name: r
    outbound-filter: post
    ports:
      - {name: up, address: 198.51.100.2/24, host: h, interface: eth0}
      - {name: lan, address: 10.0.0.1/24, host: h, interface: eth1}
chains:
  - name: post
    rules:
      - {snat: "203.0.113.50:2000-3000"}
      - action: drop
`))
	w.st.SetARP(rid("r"), ip("198.51.100.1"), gwMAC)
	f := ping(mac("02:00:00:00:00:07"), w.mac("lan"), "10.0.0.7", "198.51.100.1", 1)
	f.icmpType = 13
	res, _ := w.send("lan", f.bytes(t))
	wantVerdict(t, res, simulation.Drop, simulation.ReasonFilter)
	res, _ = w.send("lan", udp(mac("02:00:00:00:00:07"), w.mac("lan"), "10.0.0.7:1", "198.51.100.1:2").bytes(t))
	wantOut(t, res, "up")
}

// cloudMasquerade is the two-tenant cloud with tenant-a's dynamic SNAT
// turned into a masquerade: connections leave with the address of the
// tenant-a-uplink port (169.254.0.2), as a router's default SNAT to its
// gateway port does.
func cloudMasquerade(t *testing.T) *world {
	t.Helper()
	w := cloud(t)
	for i := range w.topo.Chains {
		c := &w.topo.Chains[i]
		switch c.Name {
		case "tenant-a-post":
			c.Rules[1].NAT.Targets, c.Rules[1].NAT.Masquerade = nil, true
		case "tenant-a-pre":
			for j := range c.Rules {
				if c.Rules[j].NAT.Reverse {
					c.Rules[j].Condition.NwDst = topology.Is(netip.MustParsePrefix("169.254.0.2/32"))
				}
			}
		}
	}
	if err := w.topo.Validate(); err != nil {
		t.Fatal(err)
	}
	w.changed()
	return w
}

func TestMasquerade(t *testing.T) {
	w := cloudMasquerade(t)
	fwd := tcp(w.mac("vm2"), w.mac("tenant-a-lan"), "10.1.0.12:40000", "8.8.8.8:443").bytes(t)
	res, _ := w.send("vm2", fwd)
	wantOut(t, res, "provider-uplink")
	o := out(t, fwd, res, 0)
	natPort := o.SrcPort()
	if o.IPSrc() != ip("169.254.0.2") || natPort < 1024 || o.IPDst() != ip("8.8.8.8") || o.DstPort() != 443 {
		t.Fatalf("masqueraded to %v:%d -> %v:%d, want 169.254.0.2:1024-65535", o.IPSrc(), natPort, o.IPDst(), o.DstPort())
	}
	fk, fb := only(t, w.natKeys(flowstate.NATFwdSNAT))
	if fk != natKeyOf(flowstate.NATFwdSNAT, rid("tenant-a"), packet.ProtoTCP, "10.1.0.12:40000", "8.8.8.8:443") ||
		fb != (flowstate.NATBinding{IP: ip4("169.254.0.2"), Port: natPort}) {
		t.Errorf("forward key %v -> %v", fk, fb)
	}
	reply := w.fromInternet(tcp(topology.MAC{}, topology.MAC{}, "8.8.8.8:443", "169.254.0.2:"+itoa(natPort))).bytes(t)
	res, _ = w.send("provider-uplink", reply)
	wantOut(t, res, "vm2")
	if o := out(t, reply, res, 0); o.IPDst() != ip("10.1.0.12") || o.DstPort() != 40000 || o.IPSrc() != ip("8.8.8.8") {
		t.Errorf("reply delivered as %v", o)
	}
}

// A masquerade rule where no router port is the egress (a VM port's
// filter) does not apply: the chain goes on.
func TestMasqueradeWithoutEgressRouterPort(t *testing.T) {
	w := cloud(t)
	for i := range w.topo.Chains {
		if c := &w.topo.Chains[i]; c.Name == "track" {
			c.Rules = append([]topology.Rule{{ID: topology.NameID(topology.KindInvalid, "masq"), Type: topology.RuleNAT,
				Action: topology.ActionAccept, NAT: topology.NATSpec{Masquerade: true}}}, c.Rules...)
		}
	}
	w.changed()
	fwd := udp(w.mac("vm1"), w.mac("vm2"), "10.1.0.11:5000", "10.1.0.12:53").bytes(t)
	res, _ := w.send("vm1", fwd)
	wantOut(t, res, "vm2")
	if o := out(t, fwd, res, 0); o.IPSrc() != ip("10.1.0.11") || o.SrcPort() != 5000 {
		t.Errorf("masquerade applied on a VM port: %v", o)
	}
	if n := len(w.natKeys(flowstate.NATFwdSNAT)); n != 0 {
		t.Errorf("%d NAT keys", n)
	}
}
