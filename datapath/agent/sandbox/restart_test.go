package sandbox_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/nat"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation/packet"
)

// TestCrashRestartKeepsSNATConnection: host-b's agent dies (its NSDB
// session lingers, holding its NAT blocks, as after kill -9) while vm2 has
// a TCP connection through source NAT. The new agent restores the
// connection's state from its local store before handling upcalls: it
// keeps the datapath's flows (the connection's next segment needs no
// upcall), leaves with the same translated address and port, reserves the
// NAT port and claims its block once the dead session is gone, and serves
// new connections meanwhile.
func TestCrashRestartKeepsSNATConnection(t *testing.T) {
	c, reg := startPersistent(t, loadTopology(t, "two-tenant-cloud.yaml"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := sandbox.StartTwoTenantVMs(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	vm2, ext := e.VMs["vm2"], e.VMs["ext"]
	b := c.Host("host-b")
	const sport, dport = 40002, 80
	if _, err := vm2.SendTCP(ctx, ext.Addr(), sport, dport, packet.TCPSyn, true); err != nil {
		t.Fatalf("the connection's SYN-ACK: %v", err)
	}
	var natAddr netip.AddrPort
	for i, data := range []string{"first segment", "second segment"} {
		p, err := vm2.DeliverTCPData(ctx, ext, ext.Addr(), sport, dport, packet.TCPAck|packet.TCPPsh, []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			natAddr = netip.AddrPortFrom(p.View().IPSrc(), p.View().SrcPort())
		}
	}
	leased := l4Of(t, b).Leaser().Leased()
	if len(leased) == 0 {
		t.Fatal("host-b leased no NAT block for the connection")
	}
	block := nat.Block{Device: leased[0].Device, IP: leased[0].IP, Index: natAddr.Port() / nat.BlockSize}
	flushState(t, b)

	old, err := c.KillAgent("host-b")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { old.Close() })
	if err := c.StartAgent(ctx, "host-b"); err != nil {
		t.Fatal(err)
	}
	if n := restoredFrom(t, reg, "host-b", "local"); n < 1 {
		t.Errorf("the restarted agent restored %v ports from its local store", n)
	}
	got := nats(b, flowstate.NATFwdSNAT, vm2.Addr(), sport)
	if len(got) != 1 || got[0].Binding.IP.Addr() != natAddr.Addr() || got[0].Binding.Port != natAddr.Port() {
		t.Fatalf("the restarted agent's NAT state for the connection: %v, want its binding %s", got, natAddr)
	}
	if r := l4Of(t, b).Leaser().Reserved(); !slices.Contains(r, block) {
		t.Errorf("the connection's block %v is not reserved while the dead session holds it (reserved: %v)", block, r)
	}

	missed := b.Datapath.Stats().Missed
	after, err := vm2.DeliverTCPData(ctx, ext, ext.Addr(), sport, dport, packet.TCPAck|packet.TCPPsh, []byte("after the restart"))
	if err != nil {
		t.Fatal(err)
	}
	if src := netip.AddrPortFrom(after.View().IPSrc(), after.View().SrcPort()); src != natAddr {
		t.Fatalf("after the restart the connection's segment came from %s, before from %s", src, natAddr)
	}
	if d := b.Datapath.Stats().Missed - missed; d != 0 {
		t.Errorf("%d upcalls on host-b for the connection's segment after the restart, want 0 (its flows kept)", d)
	}
	if _, err := ext.DeliverTCPData(ctx, vm2, natAddr.Addr(), dport, natAddr.Port(), packet.TCPAck|packet.TCPPsh, []byte("answer after the restart")); err != nil {
		t.Fatalf("the server's answer after the restart: %v", err)
	}
	// New connections are served while the dead session holds the block.
	if _, err := vm2.SendTCP(ctx, ext.Addr(), sport+1, dport, packet.TCPSyn, true); err != nil {
		t.Fatalf("a new connection after the restart: %v", err)
	}

	// The NSDB expires the dead session: its block comes free and the new
	// agent claims it.
	old.Close()
	within(t, 10*time.Second, "the connection's block claimed by the new agent", func() bool {
		return slices.Contains(l4Of(t, b).Leaser().Leased(), block)
	})
}

func l4Of(t *testing.T, h *sandbox.Host) *agent.L4 {
	t.Helper()
	l, ok := h.Agent().FlowState().(*agent.L4)
	if !ok || l.Leaser() == nil {
		t.Fatalf("%s's agent has no L4 with a NAT leaser", h.Name)
	}
	return l
}

// TestTakeoverKeepsSNATConnection: a second agent takes over from
// host-b's running agent (a fast reboot). It loads the connection's state
// from the store the running agent writes while that one still forwards
// (the connection's segments still go through), then the running agent
// stops and the new one carries the connection on with the same
// translated source, claiming its NAT block as soon as the old session
// has ended.
func TestTakeoverKeepsSNATConnection(t *testing.T) {
	c, _ := startPersistent(t, loadTopology(t, "two-tenant-cloud.yaml"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := sandbox.StartTwoTenantVMs(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	vm2, ext := e.VMs["vm2"], e.VMs["ext"]
	b := c.Host("host-b")
	const sport, dport = 40004, 80
	if _, err := vm2.SendTCP(ctx, ext.Addr(), sport, dport, packet.TCPSyn, true); err != nil {
		t.Fatalf("the connection's SYN-ACK: %v", err)
	}
	send := func(data string) netip.AddrPort {
		t.Helper()
		p, err := vm2.DeliverTCPData(ctx, ext, ext.Addr(), sport, dport, packet.TCPAck|packet.TCPPsh, []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		return netip.AddrPortFrom(p.View().IPSrc(), p.View().SrcPort())
	}
	natAddr := send("before the takeover")
	block := nat.Block{Device: l4Of(t, b).Leaser().Leased()[0].Device, IP: flowstate.IPv4(natAddr.Addr().As4()), Index: natAddr.Port() / nat.BlockSize}
	flushState(t, b)
	running := b.Agent()
	err = c.TakeOver(ctx, "host-b", func(next *agent.Agent) error {
		// The new agent has the state; the running one still forwards.
		l, _ := next.FlowState().(*agent.L4)
		var got []flowstate.NATEntry
		l.NATs().Range(func(k flowstate.NATKey, v flowstate.NATBinding) bool {
			if k.Type == flowstate.NATFwdSNAT && k.SrcIP.Addr() == vm2.Addr() && k.SrcPort == sport {
				got = append(got, flowstate.NATEntry{Key: k, Binding: v})
			}
			return true
		})
		if len(got) != 1 || got[0].Binding.Port != natAddr.Port() {
			t.Errorf("before the handover the new agent holds %v for the connection, want its binding %s", got, natAddr)
		}
		if !running.SessionUp() {
			t.Error("the running agent stopped before the new one had loaded the state")
		}
		// The new agent's session owns vm2's announcement already, so
		// that it outlives the running agent's session.
		s, err := b.Client().Session(ctx)
		if err != nil {
			return err
		}
		p2, _ := c.Port("vm2")
		vs, err := c.Client().StateKeys().Get(ctx, nsdb.KeyPortActive(), p2.ID)
		if err != nil || len(vs) != 1 || vs[0].Owner != s.ID() {
			t.Errorf("before the handover vm2's announcement is %v (%v), want one owned by the new agent's session %v", vs, err, s.ID())
		}
		if src := send("during the takeover"); src != natAddr {
			t.Errorf("during the takeover the connection's segment left as %s, want %s", src, natAddr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if src := send("after the takeover"); src != natAddr {
		t.Fatalf("after the takeover the connection's segment left as %s, before as %s", src, natAddr)
	}
	if _, err := ext.DeliverTCPData(ctx, vm2, natAddr.Addr(), dport, natAddr.Port(), packet.TCPAck|packet.TCPPsh, []byte("answer after the takeover")); err != nil {
		t.Fatalf("the server's answer after the takeover: %v", err)
	}
	within(t, 10*time.Second, "the connection's block claimed by the new agent", func() bool {
		return slices.Contains(l4Of(t, b).Leaser().Leased(), block)
	})
}

// flushState waits until h's agent has handed the connection's state to
// its store (the agent saves off the packet path) and writes it out (the
// store's flusher does so every 20 ms; a crash loses what it has not
// written yet).
func flushState(t *testing.T, h *sandbox.Host) {
	t.Helper()
	within(t, 5*time.Second, "the connection's state saved on "+h.Name, func() bool { return h.StateStore().Stats().Records > 0 })
	if err := h.StateStore().Flush(); err != nil {
		t.Fatal(err)
	}
}
