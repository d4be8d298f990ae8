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

// A bridge whose inbound filter accepts forward flows from the left port,
// return flows into the right port, and drops the rest.
const ctBridge = `
hosts: [{name: h}]
bridges:
  - name: br
    inbound-filter: ct
    ports:
      - {name: left, host: h, interface: tap-left}
      - {name: right, host: h, interface: tap-right}
    dhcp:
      - subnet: 10.0.0.0/24
        hosts:
          - {mac: "02:00:00:00:00:01", addr: 10.0.0.1, name: left}
          - {mac: "02:00:00:00:00:02", addr: 10.0.0.2, name: right}
chains:
  - name: ct
    rules:
      - {action: accept, match-forward-flow: true, in-ports: [left]}
      - {action: accept, match-return-flow: true, in-ports: [right]}
      - action: drop
`

// A connection opened from the left is let back in from the right once its
// forward flow is committed; without the commit, the reply is dropped.
func TestConntrackBridge(t *testing.T) {
	l, r := "02:00:00:00:00:01", "02:00:00:00:00:02"
	cases := []struct {
		name     string
		fwd, rev frame
		key      flowstate.ConnKey // the return key the forward flow records
		flow     simulation.FlowClass
	}{
		{"tcp", tcp(mac(l), mac(r), "10.0.0.1:40000", "10.0.0.2:80"), tcp(mac(r), mac(l), "10.0.0.2:80", "10.0.0.1:40000"),
			connKeyOf(bid("br"), packet.ProtoTCP, "10.0.0.2:80", "10.0.0.1:40000"), simulation.FlowNormal},
		{"udp", udp(mac(l), mac(r), "10.0.0.1:5353", "10.0.0.2:53"), udp(mac(r), mac(l), "10.0.0.2:53", "10.0.0.1:5353"),
			connKeyOf(bid("br"), packet.ProtoUDP, "10.0.0.2:53", "10.0.0.1:5353"), simulation.FlowNormal},
		// The echo identifier is part of the key: userspace only.
		{"icmp", ping(mac(l), mac(r), "10.0.0.1", "10.0.0.2", 77), pong(mac(r), mac(l), "10.0.0.2", "10.0.0.1", 77),
			connKeyOf(bid("br"), packet.ProtoICMP, "10.0.0.2:77", "10.0.0.1:77"), simulation.FlowNone},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, load(t, ctBridge))
			fwd, rev := tc.fwd.bytes(t), tc.rev.bytes(t)

			// Without the forward flow committed, the reply is dropped.
			res := w.sim("left", fwd, false)
			wantOut(t, res, "right")
			w.svc.Abort()
			res, _ = w.send("right", rev)
			wantVerdict(t, res, simulation.Drop, simulation.ReasonFilter)
			if w.svc.Conns().Len() != 0 {
				t.Fatalf("aborted transaction reached the table: %d keys", w.svc.Conns().Len())
			}

			res, refs := w.send("left", fwd)
			wantOut(t, res, "right")
			if res.Flow != tc.flow {
				t.Errorf("forward flow class %v, want %v", res.Flow, tc.flow)
			}
			// The forward flow is tagged with the key it looked up.
			lk := tc.key.Reverse()
			if !res.HasTag(connTag(lk)) {
				t.Errorf("forward flow not tagged with its lookup key %v: %v", lk, res.Tags)
			}
			if !w.svc.Conns().Contains(tc.key) {
				t.Fatalf("return key %v not committed", tc.key)
			}
			if len(w.msg.Conns) != 1 || w.msg.Conns[0] != tc.key {
				t.Errorf("state message conntrack keys %v, want [%v]", w.msg.Conns, tc.key)
			}
			wantRefs := 1
			if tc.flow == simulation.FlowNone {
				// No kernel flow holds the key: it idles at once.
				wantRefs = 0
			}
			if n := w.svc.Conns().Refs(tc.key); n != wantRefs || refs.Len() != wantRefs {
				t.Errorf("key refs %d, flow refs %d, want %d", n, refs.Len(), wantRefs)
			}

			res, rrefs := w.send("right", rev)
			wantOut(t, res, "left")
			if rrefs.Len() != 0 || w.svc.Conns().Len() != 1 {
				t.Errorf("a return flow recorded state: refs %d, keys %d", rrefs.Len(), w.svc.Conns().Len())
			}
			for _, tg := range res.Tags {
				if tg.Kind() == simulation.TagKindConntrack {
					t.Errorf("return flow tagged with %v", tg)
				}
			}

			// Removing the flow releases the key, which expires after the
			// idle timeout.
			w.svc.Release(refs)
			w.clock.Add(flowstate.DefaultIdleTimeout - time.Second)
			w.svc.Expire()
			if !w.svc.Conns().Contains(tc.key) {
				t.Fatal("key expired early")
			}
			w.clock.Add(time.Second)
			if c, _ := w.svc.Expire(); c != 1 || w.svc.Conns().Len() != 0 {
				t.Fatalf("expired %d keys, %d left", c, w.svc.Conns().Len())
			}
			res, _ = w.send("right", rev)
			wantVerdict(t, res, simulation.Drop, simulation.ReasonFilter)
		})
	}
}

// Without a conntrack condition on the way, nothing is tracked: no key is
// recorded and the ICMP identifier is not read, so the flow stays a kernel
// flow.
func TestConntrackOnlyWhenAsked(t *testing.T) {
	topo := load(t, ctBridge)
	topo.Bridges[0].InboundFilter = topology.ID{}
	w := newWorld(t, topo)
	res, refs := w.send("left", ping(w.mac("left"), w.mac("right"), "10.0.0.1", "10.0.0.2", 9).bytes(t))
	wantOut(t, res, "right")
	if res.Flow != simulation.FlowNormal || res.Seen.Has(packet.FieldICMPID) {
		t.Errorf("flow %v, megaflow %v: the echo identifier was read", res.Flow, res.Seen)
	}
	if refs.Len() != 0 || w.svc.Conns().Len() != 0 {
		t.Errorf("untracked flow recorded state")
	}
}

// Non-IP packets are forward flows; generated packets are return flows; key
// sizes.
func TestConntrackKinds(t *testing.T) {
	topo := load(t, `
hosts: [{name: h}]
bridges:
  - name: br
    ports:
      - {name: left, host: h, interface: tap-left, outbound-filter: only-return}
      - {name: right, host: h, interface: tap-right}
    dhcp:
      - subnet: 10.0.0.0/24
        hosts:
          - {mac: "02:00:00:00:00:01", addr: 10.0.0.1, name: left}
          - {mac: "02:00:00:00:00:02", addr: 10.0.0.2, name: right}
chains:
  - name: only-return
    rules:
      - {action: accept, match-return-flow: true}
      - action: drop
`)
	w := newWorld(t, topo)
	// ARP: not tracked, a forward flow.
	arp, err := packet.AppendARPReply(nil, packet.VLAN{}, w.mac("right"), ip("10.0.0.2"), w.mac("left"), ip("10.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	res, _ := w.send("right", arp)
	wantVerdict(t, res, simulation.Drop, simulation.ReasonFilter)
	// IP from the right, never seen before: forward, dropped.
	u := udp(w.mac("right"), w.mac("left"), "10.0.0.2:53", "10.0.0.1:5353").bytes(t)
	res, _ = w.send("right", u)
	wantVerdict(t, res, simulation.Drop, simulation.ReasonFilter)
	// The same packet generated by the virtual network out of the left
	// port: a return flow, accepted, and it records nothing.
	res = w.sim("left", u, true)
	w.svc.Commit(nil, nil)
	wantOut(t, res, "left")
	if w.svc.Conns().Len() != 0 {
		t.Errorf("a generated packet recorded conntrack keys")
	}

	// Wire sizes are flowstate's compact encoding: a conntrack key is 29
	// bytes, a NAT key 30 and a binding 6 (the reference's SBE encoding
	// takes 33, 34 and 8: it carries IPs as two 64-bit words).
	if flowstate.ConnKeySize != 29 || flowstate.NATKeySize != 30 || flowstate.NATBindingSize != 6 {
		t.Errorf("key sizes %d/%d/%d", flowstate.ConnKeySize, flowstate.NATKeySize, flowstate.NATBindingSize)
	}
	var m flowstate.Message
	base := m.Size()
	m.Conns = append(m.Conns, connKeyOf(bid("br"), packet.ProtoUDP, "10.0.0.1:1", "10.0.0.2:2"))
	m.NATs = append(m.NATs, flowstate.NATEntry{Key: natKeyOf(flowstate.NATFwdSNAT, bid("br"), packet.ProtoUDP, "10.0.0.1:1", "10.0.0.2:2")})
	if got := m.Size() - base; got != 29+30+6 {
		t.Errorf("one conntrack key and one NAT entry take %d bytes", got)
	}
	b, err := m.AppendBinary(nil)
	if err != nil || len(b) != m.Size() {
		t.Errorf("encoded %d bytes (%v), want %d", len(b), err, m.Size())
	}
}

func mac(s string) topology.MAC { return topology.MustParseMAC(s) }

func connKeyOf(device topology.ID, proto uint8, from, to string) flowstate.ConnKey {
	a, b := netip.MustParseAddrPort(from), netip.MustParseAddrPort(to)
	return flowstate.ConnKey{Device: device, SrcIP: ip4(a.Addr().String()), DstIP: ip4(b.Addr().String()),
		SrcPort: a.Port(), DstPort: b.Port(), Proto: proto}
}
