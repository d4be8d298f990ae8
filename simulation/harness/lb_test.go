package harness_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/harness"
)

// backend returns the web server a new connection from the client to the
// VIP reaches.
func backend(t *testing.T, h *harness.Harness, p harness.Packet) string {
	t.Helper()
	r := send(t, h, "client", p)
	if r.Verdict != simulation.Forward || len(r.Delivered) != 1 {
		t.Fatalf("%v: %s\n%s", p, r, r.TraceText())
	}
	d := r.Delivered[0]
	if v := &d.Packet; v.DstPort() != 80 || v.IPDst() != map[string]netip.Addr{"web1": addr("10.0.0.11"), "web2": addr("10.0.0.12")}[d.Port] {
		t.Errorf("%s received %v: not DNATed to its address", d.Port, v)
	}
	return d.Port
}

func TestLBStickyAndSeeded(t *testing.T) {
	chosen := map[string]bool{}
	for seed := range uint64(20) {
		h := load(t, lbFile, harness.Config{Seed: seed})
		first := backend(t, h, harness.TCP("203.0.113.80:80"))
		chosen[first] = true
		// Persistence source-ip: every connection of the client goes to
		// the same backend, whatever the draws.
		for port := range uint16(8) {
			if b := backend(t, h, harness.TCP(fmt.Sprintf(":%d->203.0.113.80:80", 41000+port))); b != first {
				t.Fatalf("seed %d: connection %d went to %s, the first to %s", seed, port, b, first)
			}
		}
		// The same seed draws the same backend.
		if again := backend(t, load(t, lbFile, harness.Config{Seed: seed}), harness.TCP("203.0.113.80:80")); again != first {
			t.Errorf("seed %d: %s, then %s", seed, first, again)
		}
	}
	if !chosen["web1"] || !chosen["web2"] {
		t.Errorf("20 seeds chose only %v", chosen)
	}
}

func TestLBReplyFromVIP(t *testing.T) {
	h := load(t, lbFile, harness.Config{Seed: 1})
	r := send(t, h, "client", harness.TCP("203.0.113.80:80"))
	back, err := h.Reply(r)
	if err != nil {
		t.Fatal(err)
	}
	if v := &back.ExpectDelivered(t, "client").Packet; v.IPSrc() != addr("203.0.113.80") || v.SrcPort() != 80 || v.IPDst() != addr("10.9.0.10") {
		t.Errorf("reply delivered %v", v)
	}
}

func TestLBMemberHealth(t *testing.T) {
	// The file's members are active; make them follow the health monitor.
	data, err := os.ReadFile(lbFile)
	if err != nil {
		t.Fatal(err)
	}
	monitored := strings.ReplaceAll(string(data), "port: 80, weight:", "port: 80, status: monitored, weight:")
	h, err := harness.Load(strings.NewReader(monitored), lbFile, harness.Config{Seed: 0})
	if err != nil {
		t.Fatal(err)
	}
	if b := backend(t, h, harness.TCP("203.0.113.80:80")); b != "web2" {
		t.Fatalf("seed 0 chose %s; the test expects web2", b)
	}
	// The health monitor sees web2 down: its sticky mapping is dropped and
	// the client moves to web1.
	if err := h.SetMemberUp("web-pool", "10.0.0.12:80", false); err != nil {
		t.Fatal(err)
	}
	if b := backend(t, h, harness.TCP(":41000->203.0.113.80:80")); b != "web1" {
		t.Errorf("with web2 down the client went to %s", b)
	}
	if err := h.SetMemberUp("web-pool", "10.0.0.11:80", false); err != nil {
		t.Fatal(err)
	}
	send(t, h, "client", harness.TCP(":41001->203.0.113.80:80")).ExpectDropped(t, simulation.ReasonLoadBalancer)
	if err := h.SetMemberUp("web-pool", "10.0.0.99:80", false); !errors.Is(err, harness.ErrUnknownName) {
		t.Errorf("SetMemberUp of a member the pool does not have: %v", err)
	}
	active := load(t, lbFile, harness.Config{})
	if err := active.SetMemberUp("web-pool", "10.0.0.12:80", false); !errors.Is(err, harness.ErrNotMonitored) {
		t.Errorf("SetMemberUp of an active member: %v", err)
	}
}

func TestLBStateIn(t *testing.T) {
	// Seed 0 would pick web2; a sticky mapping set as state sends the
	// client to web1.
	h := load(t, lbFile, harness.Config{Seed: 0})
	vip, web1 := netip.MustParseAddrPort("203.0.113.80:80"), netip.MustParseAddrPort("10.0.0.11:80")
	client := netip.AddrPortFrom(addr("10.9.0.10"), 0)
	s := h.State()
	s.NATs = []harness.NAT{
		{Type: flowstate.NATFwdStickyDNAT, Device: "web-lb", Proto: flowstate.ProtoTCP, Src: client, Dst: vip, To: web1},
		{Type: flowstate.NATRevStickyDNAT, Device: "web-lb", Proto: flowstate.ProtoTCP, Src: web1, Dst: client, To: vip},
	}
	if err := h.SetState(s); err != nil {
		t.Fatal(err)
	}
	if b := backend(t, h, harness.TCP("203.0.113.80:80")); b != "web1" {
		t.Errorf("the sticky mapping set sent the client to %s", b)
	}
	got := h.State().NATs
	if len(got) != 2 || got[0] != s.NATs[0] || got[1] != s.NATs[1] {
		t.Errorf("state after the connection: %v, want %v", got, s.NATs)
	}
}
