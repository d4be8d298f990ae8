package agent

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
)

// FuzzImportState feeds arbitrary frames to the flow-state receiver: bad
// input is dropped, never a panic, and only a well-formed message reaches
// the tables.
func FuzzImportState(f *testing.F) {
	msg := flowstate.Message{Sender: portA, IngressPort: portB,
		Conns: []flowstate.ConnKey{{Device: bridge, SrcIP: flowstate.IPv4{10, 0, 0, 1}, DstIP: flowstate.IPv4{10, 0, 0, 2}, SrcPort: 1, DstPort: 2, Proto: 6}}}
	payload, _ := msg.AppendBinary(nil)
	good, err := translate.AppendFlowStateFrame(nil, payload)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:20])
	f.Add([]byte{})
	f.Add(udpFrame(f, 2925, 2925, "not a state message"))
	dp := inproc.New(inproc.Config{})
	defer dp.Close()
	m := mustMetrics(f)
	f.Fuzz(func(t *testing.T, frame []byte) {
		fs := NewL4(L4Config{})
		a := &Agent{fs: fs, dp: dp, m: m, flows: newFlowTable(Timeouts{}.withDefaults()), now: time.Now,
			log: slog.New(slog.DiscardHandler), macs: &macLearner{refs: map[simulation.MACLearning]*macRef{}, now: time.Now}}
		w := &worker{a: a}
		w.importState(context.Background(), frame)
		if fs.Conns().Len() == 0 && fs.NATs().Len() == 0 {
			return
		}
		// Something was imported: the frame must be a flow-state packet
		// whose payload decodes, and hold exactly the imported keys.
		var pm packet.Match
		if err := pm.Parse(frame); err != nil {
			t.Fatalf("state imported from an unparsable frame: %v", err)
		}
		v, l := pm.Peek(), pm.Layout()
		if v.IPProto() != packet.ProtoUDP || v.DstPort() != translate.FlowStatePort {
			t.Fatalf("state imported from a frame that is not a flow-state packet: %v", v)
		}
		var msg flowstate.Message
		if err := msg.UnmarshalBinary(frame[l.Payload:l.End]); err != nil {
			t.Fatalf("state imported from a message that does not decode: %v", err)
		}
		fs.Conns().Range(func(k flowstate.ConnKey, _ struct{}) bool {
			if !slices.Contains(msg.Conns, k) {
				t.Errorf("imported conntrack key %v is not in the message", k)
			}
			return true
		})
		fs.NATs().Range(func(k flowstate.NATKey, _ flowstate.NATBinding) bool {
			found := false
			for _, n := range msg.NATs {
				found = found || n.Key == k
			}
			if !found {
				t.Errorf("imported NAT key %v is not in the message", k)
			}
			return true
		})
	})
}

func mustMetrics(tb testing.TB) *metrics {
	m, err := newMetrics(nil, func() float64 { return 0 }, func() float64 { return 0 }, func() float64 { return 0 }, func() float64 { return 0 })
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// A received flow-state message reaches the tables and invalidates the
// flows tagged with its keys (forward flows that looked them up).
func TestImportState(t *testing.T) {
	k := flowstate.ConnKey{Device: bridge, SrcIP: flowstate.IPv4{10, 0, 0, 1}, DstIP: flowstate.IPv4{10, 0, 0, 2}, SrcPort: 1, DstPort: 2, Proto: 6}
	msg := flowstate.Message{Sender: portA, Conns: []flowstate.ConnKey{k}}
	payload, _ := msg.AppendBinary(nil)
	frame, _ := translate.AppendFlowStateFrame(nil, payload)
	fs := NewL4(L4Config{})
	dp := inproc.New(inproc.Config{})
	defer dp.Close()
	a := &Agent{fs: fs, dp: dp, m: mustMetrics(t), flows: newFlowTable(Timeouts{}.withDefaults()), now: time.Now,
		log: slog.New(slog.DiscardHandler), macs: &macLearner{refs: map[simulation.MACLearning]*macRef{}, now: time.Now}}
	e := entry(1, ClassNormal, ConnTag(k))
	other := entry(2, ClassNormal, simulation.TagDevice(bridge))
	a.flows.add(e, a.flows.begin(), t0)
	a.flows.add(other, a.flows.begin(), t0)
	w := &worker{a: a}
	w.importState(context.Background(), frame)
	if !fs.Conns().Contains(k) {
		t.Error("key not imported")
	}
	if !e.dead || other.dead {
		t.Errorf("invalidated: tagged flow %v, other flow %v", e.dead, other.dead)
	}
	// Garbage changes nothing.
	w.importState(context.Background(), frame[:len(frame)-3])
	if a.flows.len() != 1 {
		t.Error("a truncated message removed flows")
	}
}

func TestArpRequestTarget(t *testing.T) {
	req, _ := packet.AppendARPRequest(nil, packet.VLAN{}, macA, ipA, ipB)
	if ip, ok := arpRequestTarget(req); !ok || ip != ipB {
		t.Errorf("got %v %v", ip, ok)
	}
	rep, _ := packet.AppendARPReply(nil, packet.VLAN{}, macA, ipA, macB, ipB)
	if _, ok := arpRequestTarget(rep); ok {
		t.Error("a reply taken for a request")
	}
	if _, ok := arpRequestTarget(req[:30]); ok {
		t.Error("a truncated frame taken for a request")
	}
}
