package sandbox_test

import (
	"context"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// floatingIP is vm1's public address: ext reaches it there.
var floatingIP = netip.MustParseAddr("203.0.113.11")

// startStateEnv is startSpoofEnv with agents re-reading the flow-state keys
// every 50 ms.
func startStateEnv(t *testing.T) *spoofEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	c, err := sandbox.Start(ctx, sandbox.Config{Topology: loadTopology(t, "two-tenant-cloud.yaml"), Logger: testLogger(),
		Stateful: true, Registerer: reg,
		Agent: func(_ string, cfg *agent.Config) { cfg.FlowStateKeyRefresh = 50 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	e, err := sandbox.StartTwoTenantVMs(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	return &spoofEnv{Env: e, reg: reg}
}

// rejected returns how many flow-state messages host refused for reason.
func (e *spoofEnv) rejected(t *testing.T, host, reason string) float64 {
	return e.counter(t, "hivenet_agent_flow_state_rejected_total", host, reason)
}

// clusterKeys reads the cluster's flow-state keys from the NSDB.
func clusterKeys(t *testing.T, e *spoofEnv) *auth.Keyring {
	t.Helper()
	ks, _, err := auth.Load(context.Background(), e.Cluster.Client().(nsdb.SecretKeeper).Secrets())
	if err != nil {
		t.Fatal(err)
	}
	return auth.NewKeyring(ks)
}

// openConnection opens a TCP connection from vm1 (host-a) to ext (behind
// host-c) and returns the conntrack key host-c received for it: the key
// that lets ext's answers through vm1's security group.
func openConnection(t *testing.T, e *spoofEnv, sport uint16) flowstate.ConnKey {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.VMs["vm1"].SendTCP(ctx, e.VMs["ext"].Addr(), sport, 443, packet.TCPSyn, true); err != nil {
		t.Fatalf("vm1's connection from port %d: %v", sport, err)
	}
	var key flowstate.ConnKey
	found := false
	conns(e, "host-c").Range(func(k flowstate.ConnKey, _ struct{}) bool {
		if k.DstPort == sport && k.SrcPort == 443 {
			key, found = k, true
		}
		return !found
	})
	if !found {
		t.Fatalf("host-c has no conntrack key for vm1's connection from port %d", sport)
	}
	return key
}

func conns(e *spoofEnv, host string) *flowstate.ConnTable {
	return e.Cluster.Host(host).Agent().FlowState().(*agent.L4).Conns()
}

// stateMessage is what host-a would push to host-c for key.
func stateMessage(e *spoofEnv, key flowstate.ConnKey) []byte {
	vm1, _ := e.Cluster.Port("vm1")
	uplink, _ := e.Cluster.Port("provider-uplink")
	m := flowstate.Message{Sender: e.Cluster.Host("host-a").ID, IngressPort: vm1.ID, EgressPorts: []topology.ID{uplink.ID},
		Conns: []flowstate.ConnKey{key}}
	b, _ := m.AppendBinary(nil)
	return b
}

// sendState sends payload as a flow-state packet from host-a's underlay
// address (a member of the tunnel zone) to host-c.
func sendState(t *testing.T, e *spoofEnv, payload []byte) {
	t.Helper()
	f, err := translate.AppendFlowStateFrame(nil, payload)
	if err != nil {
		t.Fatal(err)
	}
	sendVXLAN(t, e, e.Cluster.Host("host-a").Underlay, "host-c", translate.FlowStateTunnelKey, f)
}

func seal(t *testing.T, keys *auth.Keyring, payload []byte, at time.Time) []byte {
	t.Helper()
	b, err := keys.NewMAC().Seal(payload, 0, auth.FlowStateMessage, nil, at)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestForgedFlowStateOpensNoSecurityGroup: vm1's security group lets in
// only the answers of its own connections (and HTTP). Flow-state messages
// forged from a tunnel-zone member's address (host-a's) claiming a
// connection vm1 never opened — without a MAC, under a wrong secret, under
// a key ID nobody has, a genuine message with its port rewritten, a genuine
// message replayed past the window — are refused by host-c, each counted
// by reason, and ext's SYN-ACK to that port stays dropped. The same
// message signed with the cluster's key does open the group: the test
// checks what it claims.
func TestForgedFlowStateOpensNoSecurityGroup(t *testing.T) {
	e := startStateEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	vm1, ext := e.VMs["vm1"], e.VMs["ext"]
	key := openConnection(t, e, 40020)
	keys := clusterKeys(t, e)
	cur := keys.Keys().Keys[0]
	const forgedPort, controlPort, otherPort = 40021, 40022, 40029
	forged, control, other := key, key, key
	forged.DstPort, control.DstPort, other.DstPort = forgedPort, controlPort, otherPort

	wrongSecret := auth.NewKeyring(auth.KeySet{Keys: []auth.Key{{ID: cur.ID, Secret: [auth.SecretSize]byte{1}}}})
	unknownID := auth.NewKeyring(auth.KeySet{Keys: []auth.Key{{ID: cur.ID + 100, Secret: cur.Secret}}})
	// A genuine message for another port, its port rewritten to the
	// forged one (the conntrack key's destination port, in the last key).
	tampered := seal(t, keys, stateMessage(e, other), time.Now())
	portAt := len(tampered) - auth.Overhead - 3
	if binary.LittleEndian.Uint16(tampered[portAt:]) != otherPort {
		t.Fatal("the destination port is not where the test rewrites it")
	}
	binary.LittleEndian.PutUint16(tampered[portAt:], forgedPort)
	for _, tc := range []struct {
		reason string
		msg    []byte
	}{
		{"no-mac", stateMessage(e, forged)},
		{"bad-mac", seal(t, wrongSecret, stateMessage(e, forged), time.Now())},
		{"unknown-key", seal(t, unknownID, stateMessage(e, forged), time.Now())},
		{"bad-mac", tampered},
		{"stale", seal(t, keys, stateMessage(e, forged), time.Now().Add(-10*time.Minute))},
	} {
		before := e.rejected(t, "host-c", tc.reason)
		sendState(t, e, tc.msg)
		waitFor(t, "host-c refusing a message with "+tc.reason, func() bool { return e.rejected(t, "host-c", tc.reason) == before+1 })
	}
	if conns(e, "host-c").Contains(forged) {
		t.Fatal("host-c imported the forged connection")
	}

	filterDrops := e.drops(t, "host-c", "filter-drop")
	if _, err := ext.SendTCP(ctx, floatingIP, 443, forgedPort, packet.TCPSyn|packet.TCPAck, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "host-c's security group dropping ext's SYN-ACK", func() bool { return e.drops(t, "host-c", "filter-drop") > filterDrops })
	if n := vm1.Count(func(p *sandbox.Packet) bool { return p.View().DstPort() == forgedPort }); n != 0 {
		t.Fatalf("vm1 received %d packets for the connection it never opened", n)
	}

	// The control: signed with the cluster's key, the same claim opens
	// the group.
	sendState(t, e, seal(t, keys, stateMessage(e, control), time.Now()))
	waitFor(t, "host-c importing the signed message", func() bool { return conns(e, "host-c").Contains(control) })
	p, err := ext.DeliverTCPData(ctx, vm1, floatingIP, 443, controlPort, packet.TCPSyn|packet.TCPAck, []byte("control SYN-ACK"))
	if err != nil {
		t.Fatalf("ext's SYN-ACK after a signed message: %v", err)
	}
	if p.View().DstPort() != controlPort {
		t.Fatalf("ext's SYN-ACK reached vm1 on port %d, want %d", p.View().DstPort(), controlPort)
	}
}
