package agent

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
)

// testKeys is a keyring with one fixed key, and sealState a flow-state
// frame carrying msg signed with it at t0.
var testKeys = auth.NewKeyring(auth.KeySet{Keys: []auth.Key{{ID: 1, Secret: [auth.SecretSize]byte{1, 2, 3}}}})

func sealState(tb testing.TB, keys *auth.Keyring, msg *flowstate.Message) []byte {
	tb.Helper()
	payload, err := msg.AppendBinary(nil)
	if err != nil {
		tb.Fatal(err)
	}
	if payload, err = keys.NewMAC().Seal(payload, 0, auth.FlowStateMessage, nil, t0); err != nil {
		tb.Fatal(err)
	}
	frame, err := translate.AppendFlowStateFrame(nil, payload)
	if err != nil {
		tb.Fatal(err)
	}
	return frame
}

// FuzzImportState feeds arbitrary frames to the flow-state receiver: bad
// input is dropped, never a panic, and only a well-formed message with a
// valid MAC reaches the tables.
func FuzzImportState(f *testing.F) {
	msg := flowstate.Message{Sender: portA, IngressPort: portB,
		Conns: []flowstate.ConnKey{{Device: bridge, SrcIP: flowstate.IPv4{10, 0, 0, 1}, DstIP: flowstate.IPv4{10, 0, 0, 2}, SrcPort: 1, DstPort: 2, Proto: 6}}}
	good := sealState(f, testKeys, &msg)
	unsigned, _ := msg.AppendBinary(nil)
	unsignedFrame, _ := translate.AppendFlowStateFrame(nil, unsigned)
	f.Add(good)
	f.Add(unsignedFrame)
	f.Add(good[:20])
	f.Add([]byte{})
	f.Add(udpFrame(f, 2925, 2925, "not a state message"))
	dp := inproc.New(inproc.Config{})
	defer dp.Close()
	m := mustMetrics(f)
	f.Fuzz(func(t *testing.T, frame []byte) {
		fs := NewL4(L4Config{})
		a := &Agent{fs: fs, dp: dp, m: m, flows: newFlowTable(Timeouts{}.withDefaults()), now: func() time.Time { return t0 },
			log: slog.New(slog.DiscardHandler), macs: &macLearner{refs: map[simulation.MACLearning]*macRef{}, now: time.Now}, keys: testKeys}
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
		payload, err := testKeys.NewMAC().Open(frame[l.Payload:l.End], auth.FlowStateMessage, nil, t0)
		if err != nil {
			t.Fatalf("state imported from a message without a valid MAC: %v", err)
		}
		var msg flowstate.Message
		if err := msg.UnmarshalBinary(payload); err != nil {
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
	frame := sealState(t, testKeys, &msg)
	fs := NewL4(L4Config{})
	dp := inproc.New(inproc.Config{})
	defer dp.Close()
	a := &Agent{fs: fs, dp: dp, m: mustMetrics(t), flows: newFlowTable(Timeouts{}.withDefaults()), now: func() time.Time { return t0 },
		log: slog.New(slog.DiscardHandler), macs: &macLearner{refs: map[simulation.MACLearning]*macRef{}, now: time.Now}, keys: testKeys}
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

// TestForgedFlowStateNotImported: a flow-state message without a MAC, with
// one under another key, a tampered one and a stale one import nothing and
// are counted by reason; the genuine one imports.
func TestForgedFlowStateNotImported(t *testing.T) {
	k := flowstate.ConnKey{Device: bridge, SrcIP: flowstate.IPv4{10, 0, 0, 1}, DstIP: flowstate.IPv4{10, 0, 0, 2}, SrcPort: 1, DstPort: 2, Proto: 6}
	msg := flowstate.Message{Sender: portA, Conns: []flowstate.ConnKey{k}}
	unsigned, _ := msg.AppendBinary(nil)
	noMAC, _ := translate.AppendFlowStateFrame(nil, unsigned)
	other := auth.NewKeyring(auth.KeySet{Keys: []auth.Key{{ID: 1, Secret: [auth.SecretSize]byte{9}}}})
	stranger := auth.NewKeyring(auth.KeySet{Keys: []auth.Key{{ID: 5, Secret: [auth.SecretSize]byte{9}}}})
	tampered := sealState(t, testKeys, &msg)
	tampered[len(tampered)-auth.Overhead-1] ^= 1 // the payload's last byte: the key's protocol
	fs := NewL4(L4Config{})
	dp := inproc.New(inproc.Config{})
	defer dp.Close()
	now := t0
	m := mustMetrics(t)
	a := &Agent{fs: fs, dp: dp, m: m, flows: newFlowTable(Timeouts{}.withDefaults()), now: func() time.Time { return now },
		log: slog.New(slog.DiscardHandler), macs: &macLearner{refs: map[simulation.MACLearning]*macRef{}, now: time.Now}, keys: testKeys}
	w := &worker{a: a}
	for _, tc := range []struct {
		reason string
		frame  []byte
	}{
		{"no-mac", noMAC},
		{"bad-mac", sealState(t, other, &msg)},
		{"unknown-key", sealState(t, stranger, &msg)},
		{"bad-mac", tampered},
	} {
		before := testutil.ToFloat64(m.stateRejects.WithLabelValues("message", tc.reason))
		w.importState(context.Background(), tc.frame)
		if fs.Conns().Len() != 0 {
			t.Fatalf("a message with %s imported", tc.reason)
		}
		if d := testutil.ToFloat64(m.stateRejects.WithLabelValues("message", tc.reason)) - before; d != 1 {
			t.Errorf("a message with %s counted %v times under its reason", tc.reason, d)
		}
	}
	now = t0.Add(auth.DefaultWindow + time.Second)
	w.importState(context.Background(), sealState(t, testKeys, &msg))
	if fs.Conns().Len() != 0 || testutil.ToFloat64(m.stateRejects.WithLabelValues("message", "stale")) != 1 {
		t.Fatal("a message older than the window imported or not counted as stale")
	}
	now = t0
	w.importState(context.Background(), sealState(t, testKeys, &msg))
	if !fs.Conns().Contains(k) {
		t.Fatal("the genuine message was not imported")
	}
}

// TestForgedFlowStateNoAllocs: refusing a forged message allocates
// nothing, so a flood of them costs no garbage.
func TestForgedFlowStateNoAllocs(t *testing.T) {
	msg := flowstate.Message{Sender: portA, Conns: []flowstate.ConnKey{{Device: bridge, Proto: 6}}}
	forged := sealState(t, auth.NewKeyring(auth.KeySet{Keys: []auth.Key{{ID: 1}}}), &msg)
	a := &Agent{fs: NewL4(L4Config{}), m: mustMetrics(t), now: func() time.Time { return t0 },
		log: slog.New(slog.DiscardHandler), keys: testKeys}
	w := &worker{a: a}
	w.importState(context.Background(), forged) // the MAC's HMAC states are built once
	if n := testing.AllocsPerRun(100, func() { w.importState(context.Background(), forged) }); n != 0 {
		t.Fatalf("%v allocations per refused message, want 0", n)
	}
}
