package l4

import (
	"fmt"
	"sync"
	"testing"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/nat"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/simulation"
)

// sessions gives each simulated agent its own session on one shared NSDB.
// A ZooKeeper variant of the cross-agent test only needs another
// implementation (one client per agent on a shared ensemble) and a
// TestCrossAgentSNATZooKeeper calling testCrossAgentSNAT with it.
type sessions interface {
	// Blocks opens agent i's session and returns its block claims.
	Blocks(t testing.TB, i int) nsdb.Blocks
	// Expire ends agent i's session, as its death does.
	Expire(t testing.TB, i int)
}

type memorySessions struct {
	srv     *memory.Server
	clients map[int]*memory.Client
}

func (m *memorySessions) Blocks(t testing.TB, i int) nsdb.Blocks {
	c := m.srv.NewClient()
	m.clients[i] = c
	return c.Blocks()
}

func (m *memorySessions) Expire(t testing.TB, i int) { m.srv.ExpireSession(m.clients[i]) }

// Four agents (four NSDB sessions) source-NAT 10,000 connections each
// toward the same destination through a two-address range, concurrently:
// no binding is handed out twice. Then one agent dies: its blocks go back
// to the pool and the survivors reuse them, still without duplicates.
func TestCrossAgentSNATMemory(t *testing.T) {
	testCrossAgentSNAT(t, &memorySessions{srv: memory.NewServer(memory.Config{}), clients: map[int]*memory.Client{}})
}

func testCrossAgentSNAT(t *testing.T, s sessions) {
	if testing.Short() {
		t.Skip("40,000 simulations: skipped in -short mode")
	}
	const (
		agents = 4
		conns  = 10_000
		// 2 addresses x ports 1024-21503: 640 blocks of 64 ports, 40,960
		// ports. The agents need 4 x ceil(10000/64) = 628 blocks.
		targets = `"203.0.113.10-203.0.113.11:1024-21503"`
	)
	ws := make([]*world, agents)
	for i := range ws {
		ws[i] = newAgent(t, load(t, snatRouterFile(targets)), s.Blocks(t, i), uint64(i+1))
		ws[i].st.SetARP(rid("r"), ip("198.51.100.1"), gwMAC)
	}
	var wg sync.WaitGroup
	errs := make([]error, agents)
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.connections(i, 0, conns)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("agent %d: %v", i, err)
		}
	}
	owner := checkBindings(t, ws, agents*conns)
	blocks := leasedBlocks(ws)
	for b, as := range blocks {
		if len(as) != 1 {
			t.Errorf("block %v leased by agents %v", b, as)
		}
	}
	dead := blocksOf(blocks, 0)
	t.Logf("%d blocks leased, agent 0 holds %d; %d bindings", len(blocks), len(dead), len(owner))

	// Agent 0 dies. Agent 1 opens as many connections again: beyond the
	// 12 blocks never claimed, it must reuse agent 0's blocks.
	s.Expire(t, 0)
	_ = ws[0].ports.Close()
	if err := ws[1].connections(1, conns, 2*conns); err != nil {
		t.Fatalf("agent 1 after agent 0 died: %v", err)
	}
	checkBindings(t, ws[1:], (agents-1)*conns+conns)
	reused := 0
	for b, as := range leasedBlocks(ws[1:]) {
		if len(as) != 1 {
			t.Errorf("block %v leased by agents %v", b, as)
		}
		if dead[b] {
			reused++
		}
	}
	if reused == 0 {
		t.Errorf("none of the dead agent's %d blocks was reused", len(dead))
	}
	t.Logf("agent 1 reused %d of agent 0's blocks", reused)
}

func snatRouterFile(targets string) string {
	return `
hosts: [{name: h}]
routers:
  - name: r
    outbound-filter: post
    ports:
      - {name: up, address: 198.51.100.2/24, host: h, interface: eth0}
      - {name: lan, address: 10.0.0.1/24, host: h, interface: eth1}
    routes:
      - {dst: 0.0.0.0/0, port: up, gateway: 198.51.100.1}
chains:
  - name: post
    rules:
      - {snat: ` + targets + `, out-ports: [up]}
`
}

// connections opens connections [from, to) of agent a from the LAN to
// 8.8.8.8:443 (source 10.0.<a>.x), retrying while NAT blocks are claimed,
// and commits them. It is safe to run agents concurrently: each has its
// own world; they share only the NSDB.
func (w *world) connections(a, from, to int) error {
	for i := from; i < to; i++ {
		src := fmt.Sprintf("10.0.%d.%d:%d", a, 1+i/60000, 1+i%60000)
		f := tcp(lanHost, w.mac("lan"), src, "8.8.8.8:443").bytes(w.t)
		var r *simulation.Result
		for try := 0; ; try++ {
			r = w.simQuiet(f)
			if r.Verdict != simulation.NotYet || r.Reason != simulation.ReasonStateful {
				break
			}
			wt := w.svc.Waiting()
			w.svc.Abort()
			if wt == nil || try > 5 {
				return fmt.Errorf("connection %d: still waiting after %d tries", i, try)
			}
			<-wt.Ready()
			if err := wt.Err(); err != nil {
				return fmt.Errorf("connection %d: %w", i, err)
			}
		}
		if r.Verdict != simulation.Forward {
			return fmt.Errorf("connection %d: %v (%v)", i, r.Verdict, r.Reason)
		}
		w.svc.Finish(r, &Refs{}, nil)
	}
	return nil
}

// simQuiet simulates a LAN frame without tracing.
func (w *world) simQuiet(f []byte) *simulation.Result {
	w.seed++
	r := &simulation.Result{}
	if err := w.eng.Simulate(&simulation.Input{Snapshot: w.snapshot(), State: w.st, Stateful: w.svc,
		InPort: pid("lan"), Frame: f, Now: w.clock.Now(), Rand: w.seed}, r); err != nil {
		return &simulation.Result{Verdict: simulation.ErrorDrop}
	}
	return r
}

// checkBindings checks the agents' forward SNAT bindings are all distinct
// and that there are n of them; it returns their owners.
func checkBindings(t *testing.T, ws []*world, n int) map[flowstate.NATBinding]int {
	t.Helper()
	owner := map[flowstate.NATBinding]int{}
	for i, w := range ws {
		for k, b := range w.natKeys(flowstate.NATFwdSNAT) {
			if k.DstIP != ip4("8.8.8.8") || k.DstPort != 443 {
				t.Fatalf("unexpected key %v", k)
			}
			if j, dup := owner[b]; dup {
				t.Fatalf("binding %v handed out twice (agents %d and %d)", b, j, i)
			}
			owner[b] = i
		}
	}
	if len(owner) != n {
		t.Errorf("%d bindings, want %d", len(owner), n)
	}
	return owner
}

func leasedBlocks(ws []*world) map[nat.Block][]int {
	m := map[nat.Block][]int{}
	for i, w := range ws {
		for _, b := range w.ports.Leased() {
			m[b] = append(m[b], i)
		}
	}
	return m
}

func blocksOf(m map[nat.Block][]int, agent int) map[nat.Block]bool {
	s := map[nat.Block]bool{}
	for b, as := range m {
		for _, a := range as {
			if a == agent {
				s[b] = true
			}
		}
	}
	return s
}
