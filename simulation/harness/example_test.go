package harness_test

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation/harness"
	"github.com/hivenet/hivenet/topology"
)

// A router between two bridges, loaded from a topology file: vm1 pings vm2
// by name; the packet reaches vm2 routed (TTL decremented, MACs rewritten).
func Example() {
	h, err := harness.Load(strings.NewReader(`
hosts: [{name: host}]
bridges:
  - name: left
    ports:
      - {name: vm1, host: host, interface: tap1}
      - {name: left-r1, peer: r1-left}
    dhcp:
      - {subnet: 10.0.1.0/24, hosts: [{name: vm1, mac: "fa:16:3e:00:01:11", addr: 10.0.1.11}]}
  - name: right
    ports:
      - {name: vm2, host: host, interface: tap2}
      - {name: right-r1, peer: r1-right}
    dhcp:
      - {subnet: 10.0.2.0/24, hosts: [{name: vm2, mac: "fa:16:3e:00:02:11", addr: 10.0.2.11}]}
routers:
  - name: r1
    ports:
      - {name: r1-left, address: 10.0.1.1/24}
      - {name: r1-right, address: 10.0.2.1/24}
`), "example.yaml", harness.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := h.Send("vm1", harness.Ping("vm2"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r)
	d, _ := r.At("vm2")
	fmt.Println(d.Packet.IPSrc(), "->", d.Packet.IPDst(), "ttl", d.Packet.IPTTL())
	// Output:
	// forward to vm2
	// 10.0.1.11 -> 10.0.2.11 ttl 63
}

// vm2 opens a connection to the internet: its tenant's router source-NATs
// it. The harness waits for the NAT port block and lets the upstream
// gateway plugged into the uplink answer the provider router's ARP request.
func ExampleHarness_Send() {
	h, err := harness.LoadFile("../../examples/topologies/two-tenant-cloud.yaml", harness.Config{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := h.Plug("provider-uplink", topology.MustParseMAC("02:00:00:00:00:99"), netip.MustParseAddr("198.51.100.1")); err != nil {
		fmt.Println(err)
		return
	}
	r, err := h.Send("vm2", harness.TCP("8.8.8.8:443"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range r.Notes {
		fmt.Println("note:", n)
	}
	fmt.Println(r)
	d, _ := r.At("provider-uplink")
	fmt.Printf("%s:%d -> %s:%d\n", d.Packet.IPSrc(), d.Packet.SrcPort(), d.Packet.IPDst(), d.Packet.DstPort())
	// Output:
	// note: a NAT port block was claimed: simulating again
	// note: router provider asked for 198.51.100.1: provider-uplink answered 02:00:00:00:00:99, simulating again
	// forward to provider-uplink
	// 203.0.113.10:1024 -> 8.8.8.8:443
}

// The server's answer to a load-balanced connection goes back to the
// client from the VIP.
func ExampleHarness_Reply() {
	h, err := harness.LoadFile("../../examples/topologies/load-balancer.yaml", harness.Config{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	syn, err := h.Send("client", harness.TCP("203.0.113.80:80"))
	if err != nil {
		fmt.Println(err)
		return
	}
	synAck, err := h.Reply(syn)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(syn)
	fmt.Println(synAck)
	d, _ := synAck.At("client")
	fmt.Printf("%s:%d flags %#x\n", d.Packet.IPSrc(), d.Packet.SrcPort(), d.Packet.TCPFlags())
	// Output:
	// forward to web1
	// forward to client
	// 203.0.113.80:80 flags 0x12
}

// State in: a sticky load-balancer mapping set before the first packet
// decides the backend. State out: the mapping the connection used.
func ExampleHarness_SetState() {
	h, err := harness.LoadFile("../../examples/topologies/load-balancer.yaml", harness.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	client := netip.MustParseAddrPort("10.9.0.10:0")
	vip, web2 := netip.MustParseAddrPort("203.0.113.80:80"), netip.MustParseAddrPort("10.0.0.12:80")
	err = h.SetState(harness.State{NATs: []harness.NAT{
		{Type: flowstate.NATFwdStickyDNAT, Device: "web-lb", Proto: flowstate.ProtoTCP, Src: client, Dst: vip, To: web2},
		{Type: flowstate.NATRevStickyDNAT, Device: "web-lb", Proto: flowstate.ProtoTCP, Src: web2, Dst: client, To: vip},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := h.Send("client", harness.TCP("203.0.113.80:80"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r)
	for _, n := range h.State().NATs {
		fmt.Println(n)
	}
	// Output:
	// forward to web2
	// web-lb fwd-sticky-dnat tcp 10.9.0.10:0->203.0.113.80:80 => 10.0.0.12:80
	// web-lb rev-sticky-dnat tcp 10.0.0.12:80->10.9.0.10:0 => 203.0.113.80:80
}

// A packet described with the trace command's flags, as a command line or
// a request body holds it.
func ExampleSpec_Packet() {
	s := harness.Spec{From: "vm1", TCP: ":34567->8.8.8.8:443", TTL: 5}
	p, err := s.Packet()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p)
	// Output:
	// tcp :34567->8.8.8.8:443 flags 0x2
}
