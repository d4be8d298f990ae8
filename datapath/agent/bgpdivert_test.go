package agent_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/agent/bgp"
	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// idleSpeaker stands for a speaker: the diversion test only needs its
// datapath port.
type idleSpeaker struct{}

func (idleSpeaker) StartSpeaker(context.Context, topology.ID, string, bgp.Config) (agent.BGPSpeaker, error) {
	return idleSpeaker{}, nil
}
func (idleSpeaker) Status(context.Context) ([]bgp.PeerStatus, error) { return nil, nil }
func (idleSpeaker) Stop()                                            {}

// TestBGPDiversion: with a speaker attached to the datapath, BGP (TCP 179)
// from the configured peer to the uplink's address reaches the speaker's
// port, the speaker's BGP reaches the uplink, and other traffic from the
// speaker is dropped.
func TestBGPDiversion(t *testing.T) {
	topo, err := topofile.Load(strings.NewReader(gatewaysYAML), "gateways.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	c, err := sandbox.Start(ctx, sandbox.Config{Topology: topo, Hosts: []string{"gw1"}, Registerer: reg,
		Agent: func(_ string, cfg *agent.Config) {
			cfg.BGP = agent.BGPConfig{Speakers: idleSpeaker{}, Attach: func(_ context.Context, p agent.BGPPortInfo) (string, string, func(), error) {
				return "bgp-" + p.Name, "", func() {}, nil
			}}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dp := c.Host("gw1").Datapath
	var uplink, speaker datapath.PortNumber
	waitFor(t, 10*time.Second, "speaker's datapath port", func() (bool, string) {
		ps, _ := dp.Ports(ctx)
		for _, p := range ps {
			switch p.Name {
			case "eth1":
				uplink = p.Number
			case "bgp-uplink1":
				speaker = p.Number
			}
		}
		return uplink != 0 && speaker != 0, fmt.Sprint(ps)
	})
	upEP, _ := dp.Endpoint(uplink)
	spEP, _ := dp.Endpoint(speaker)
	p1, _ := c.Port("uplink1")
	peerMAC := topology.MustParseMAC("02:00:00:00:43:02")
	peer, addr := netip.MustParseAddr("127.0.43.2"), p1.Address
	tcp := func(src, dst netip.Addr, smac, dmac topology.MAC, sport, dport uint16) []byte {
		var m packet.Match
		m.SetEthSrc(smac)
		m.SetEthDst(dmac)
		m.SetEtherType(packet.EtherTypeIPv4)
		m.SetIPSrc(src)
		m.SetIPDst(dst)
		m.SetIPProto(packet.ProtoTCP)
		m.SetIPTTL(1)
		m.SetSrcPort(sport)
		m.SetDstPort(dport)
		m.SetTCPFlags(packet.TCPSyn)
		f, err := packet.AppendFrame(nil, &m, nil)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	recv := func(ep interface {
		Receive(context.Context) ([]byte, error)
	}, what string) *packet.View {
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		defer rcancel()
		f, err := ep.Receive(rctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		var m packet.Match
		if err := m.Parse(f); err != nil {
			t.Fatal(err)
		}
		return m.Peek()
	}
	// Peer -> uplink address, TCP 179: to the speaker.
	if err := upEP.Send(tcp(peer, addr, peerMAC, p1.MAC, 40179, 179)); err != nil {
		t.Fatal(err)
	}
	if v := recv(spEP, "the peer's SYN at the speaker"); v.IPSrc() != peer || v.DstPort() != 179 {
		t.Fatalf("speaker got %s:%d", v.IPSrc(), v.DstPort())
	}
	// Speaker -> peer, from TCP 179: to the uplink.
	if err := spEP.Send(tcp(addr, peer, p1.MAC, peerMAC, 179, 40179)); err != nil {
		t.Fatal(err)
	}
	if v := recv(upEP, "the speaker's SYN-ACK at the uplink"); v.IPDst() != peer || v.SrcPort() != 179 {
		t.Fatalf("uplink got %s:%d", v.IPDst(), v.SrcPort())
	}
	// Speaker -> elsewhere: dropped and counted.
	if err := spEP.Send(tcp(addr, netip.MustParseAddr("127.0.43.9"), p1.MAC, peerMAC, 179, 40179)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "drop counted", func() (bool, string) {
		n := counter(t, reg, "hivenet_agent_drops_total", "reason", "bgp-not-allowed")
		return n == 1, fmt.Sprint(n)
	})
	if upEP.Pending() != 0 {
		t.Fatalf("%d frames reached the uplink", upEP.Pending())
	}
}

func counter(t *testing.T, g prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
