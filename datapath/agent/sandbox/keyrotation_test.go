package sandbox_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation/packet"
)

// TestFlowStateKeyRotationUnderTraffic rotates the cluster's flow-state
// key while vm1 opens connections to ext (their state pushed from host-a
// to host-c, where ext's answers are simulated): one opened before the
// rotation, one while the new key is pending, one after it became the
// signing key, and — after a second rotation retired the first key — one
// more. Every connection's answers reach vm1 throughout, and no agent
// refuses a single flow-state message.
func TestFlowStateKeyRotationUnderTraffic(t *testing.T) {
	e := startStateEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vm1, ext := e.VMs["vm1"], e.VMs["ext"]
	secrets := e.Cluster.Client().(nsdb.SecretKeeper).Secrets()
	hosts := []string{"host-a", "host-b", "host-c"}
	const delay = 500 * time.Millisecond

	// answer sends data from ext on the connection of sport (again, as
	// TCP retransmits) until vm1 receives it.
	answer := func(sport uint16, data string) {
		t.Helper()
		p, err := ext.DeliverTCPData(ctx, vm1, floatingIP, 443, sport, packet.TCPAck|packet.TCPPsh, []byte(data+" "+strconv.Itoa(int(sport))))
		if err != nil {
			t.Fatalf("ext's %q on the connection from port %d: %v", data, sport, err)
		}
		if p.View().DstPort() != sport {
			t.Fatalf("ext's %q for port %d reached vm1 on port %d", data, sport, p.View().DstPort())
		}
	}
	// rotate rotates the key and waits until every agent has the new set
	// and the new key signs.
	rotate := func() auth.KeySet {
		t.Helper()
		ks, err := auth.Rotate(ctx, secrets, time.Now(), delay, nil)
		if err != nil {
			t.Fatal(err)
		}
		newest := ks.Keys[0].ID
		waitFor(t, "every agent reading the rotated keys", func() bool {
			for _, h := range hosts {
				if _, ok := e.Cluster.Host(h).Agent().FlowStateKeys().Keys().Lookup(newest); !ok {
					return false
				}
			}
			return true
		})
		return ks
	}

	first := openConnection(t, e, 40100)
	ks := rotate()
	openConnection(t, e, 40101) // signed with the previous key: the new one is pending
	answer(40100, "before the activation")
	waitFor(t, "the new key becoming the signing key", func() bool { return !time.Now().Before(ks.Keys[0].ActiveFrom) })
	openConnection(t, e, 40102)
	for _, p := range []uint16{40100, 40101, 40102} {
		answer(p, "after the activation")
	}

	// A second rotation retires the first key.
	ks = rotate()
	waitFor(t, "the third key becoming the signing key", func() bool { return !time.Now().Before(ks.Keys[0].ActiveFrom) })
	openConnection(t, e, 40103)
	for _, p := range []uint16{40100, 40101, 40102, 40103} {
		answer(p, "after the second rotation")
	}
	if !conns(e, "host-c").Contains(first) {
		t.Error("host-c lost the state of the connection opened before the rotations")
	}
	for _, h := range hosts {
		for _, r := range []string{"no-mac", "bad-mac", "unknown-key", "stale", "no-keys"} {
			if n := e.rejected(t, h, r); n != 0 {
				t.Errorf("%s refused %v flow-state messages (%s) during the rotations", h, n, r)
			}
		}
	}
	if got := e.Cluster.Host("host-c").Agent().FlowStateKeys().Keys(); len(got.Keys) != 2 || got.Keys[1].ID != ks.Keys[1].ID {
		t.Errorf("host-c's keys after two rotations: %+v, want %+v", got.Info(), ks.Info())
	}
}
