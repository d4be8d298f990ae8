package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Fault tests: a 3-server ensemble on 127.0.0.1-3 loses a follower, its
// leader, or everything.

// serverOf returns the index of the ensemble server c is connected to, or -1.
func serverOf(e *zktest.Ensemble, c *Client) int {
	cn := c.current()
	if cn == nil {
		return -1
	}
	addr := cn.zk.Server()
	for i := range e.Len() {
		if e.Server(i).ConnectString() == addr {
			return i
		}
	}
	return -1
}

func ensembleHarness(t *testing.T, e *zktest.Ensemble, timeout time.Duration) harness {
	return harness{servers: strings.Split(e.ConnectString(), ","), root: zktest.UniquePath(t), timeout: timeout}
}

// writer updates one bridge in a loop and records what was acknowledged.
type writer struct {
	c     *Client
	b     *topology.Bridge
	mu    sync.Mutex
	acked uint32 // last tunnel key acknowledged
	ver   nsdb.Version
	errs  []error
	after int // acknowledgements after mark was set
	mark  bool
}

func (w *writer) run(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	for i := uint32(1); ctx.Err() == nil; i++ {
		nb := *w.b
		nb.TunnelKey = i
		octx, cancel := context.WithTimeout(ctx, 20*time.Second)
		v, err := w.c.Store().Commit(octx, nsdb.Put(&nb))
		cancel()
		w.mu.Lock()
		switch {
		case err == nil:
			w.acked, w.ver = i, v
			if w.mark {
				w.after++
			}
		case ctx.Err() == nil:
			w.errs = append(w.errs, err)
		}
		w.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
}

func (w *writer) snapshot() (uint32, nsdb.Version, int, []error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acked, w.ver, w.after, append([]error(nil), w.errs...)
}

// TestZooKeeperFollowerKill: killing a follower is invisible to clients —
// those connected to it move to another server within their session, and
// no operation fails.
func TestZooKeeperFollowerKill(t *testing.T) {
	e := zktest.StartEnsemble(t, 3)
	h := ensembleHarness(t, e, 8*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	leader, err := e.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Open clients until one sits on a follower: that follower dies.
	var clients []*Client
	victim := -1
	for len(clients) < 4 || victim < 0 {
		if len(clients) == 20 {
			t.Fatal("no client connected to a follower")
		}
		c := h.client(t)
		clients = append(clients, c)
		if i := serverOf(e, c); i >= 0 && i != leader && victim < 0 {
			victim = i
		}
	}
	var onVictim *Client
	for _, c := range clients {
		if serverOf(e, c) == victim {
			onVictim = c
		}
	}
	sessions := make([]nsdb.Session, len(clients))
	for i, c := range clients {
		sessions[i] = must[nsdb.Session](t)(c.Session(ctx))
	}
	// Ephemeral state and a learned table entry owned by the victim's client.
	hid := topology.NameID(topology.KindHost, "h")
	if err := onVictim.StateKeys().Set(ctx, nsdb.KeyHostAlive(), hid, "1"); err != nil {
		t.Fatal(err)
	}
	br := topology.NameID(topology.KindBridge, "b")
	mac := topology.MAC{2, 0, 0, 0, 0, 1}
	mt := must[nsdb.Table[topology.MAC, topology.ID]](t)(onVictim.Tables().MACTable(ctx, br, 0))
	if err := mt.Add(ctx, mac, topology.NameID(topology.KindPort, "p")); err != nil {
		t.Fatal(err)
	}
	// A watcher on the doomed server follows every writer's bridge.
	w := must[nsdb.Watch[nsdb.Event]](t)(onVictim.Store().WatchKinds(ctx, topology.KindBridge))
	defer w.Close()

	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	writers := make([]*writer, len(clients))
	for i, c := range clients {
		writers[i] = &writer{c: c, b: &topology.Bridge{ID: topology.NameID(topology.KindBridge, fmt.Sprint("w", i)), Name: fmt.Sprint("w", i)}}
		wg.Add(1)
		go writers[i].run(wctx, &wg)
	}
	time.Sleep(time.Second)
	t.Logf("killing follower %d (%s); leader is %d", victim, e.Server(victim).ConnectString(), leader)
	for _, wr := range writers {
		wr.mu.Lock()
		wr.mark = true
		wr.mu.Unlock()
	}
	if err := e.Server(victim).Kill(); err != nil {
		t.Fatal(err)
	}
	// Every writer goes on after the kill.
	deadline := time.Now().Add(30 * time.Second)
	for {
		done := true
		for _, wr := range writers {
			if _, _, after, _ := wr.snapshot(); after < 20 {
				done = false
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("writers did not resume after the follower died")
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	wg.Wait()

	final := map[topology.ID]uint32{}
	for i, wr := range writers {
		acked, ver, after, errs := wr.snapshot()
		if len(errs) > 0 {
			t.Errorf("writer %d saw errors: %v", i, errs)
		}
		got, err := clients[(i+1)%len(clients)].Store().Get(ctx, topology.KindBridge, wr.b.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The write in flight when the writers stopped may have landed.
		k := got.Object.(*topology.Bridge).TunnelKey
		if !(k == acked && got.Version == ver) && !(k == acked+1 && got.Version > ver) {
			t.Errorf("writer %d: read back key %d@%d, last acknowledged %d@%d", i, k, got.Version, acked, ver)
		}
		final[wr.b.ID] = k
		t.Logf("writer %d: %d writes acknowledged after the kill", i, after)
	}
	for i, s := range sessions {
		if s.Err() != nil {
			t.Errorf("client %d lost its session: %v", i, s.Err())
		}
	}
	if i := serverOf(e, onVictim); i == victim {
		t.Error("client still reports the dead server")
	}
	// The watcher on the dead server converges on every final state.
	seen := map[topology.ID]uint32{}
	wdeadline := time.Now().Add(nsdbtestTimeout)
	for !sameKeys(seen, final) {
		if time.Now().After(wdeadline) {
			t.Fatalf("watch never converged: %v, want %v", seen, final)
		}
		nctx, ncancel := context.WithTimeout(ctx, nsdbtestTimeout)
		batch, err := w.Next(nctx)
		ncancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range batch {
			if !ev.Deleted() {
				seen[ev.ID] = ev.Object.(*topology.Bridge).TunnelKey
			}
		}
	}
	// The victim's client kept its session: its ephemeral state is intact.
	other := clients[0]
	if other == onVictim {
		other = clients[1]
	}
	vals := must[[]nsdb.KeyValue](t)(other.StateKeys().Get(ctx, nsdb.KeyHostAlive(), hid))
	if len(vals) != 1 || vals[0].Owner != sessions[indexOf(clients, onVictim)].ID() {
		t.Errorf("alive key after the kill = %+v", vals)
	}
	ot := must[nsdb.Table[topology.MAC, topology.ID]](t)(other.Tables().MACTable(ctx, br, 0))
	defer ot.Close()
	if v, ok := ot.Lookup(mac); !ok || v != topology.NameID(topology.KindPort, "p") {
		t.Errorf("learned MAC entry after the kill = %v, %v", v, ok)
	}
}

const nsdbtestTimeout = 10 * time.Second

func sameKeys(a, b map[topology.ID]uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

func indexOf(cs []*Client, c *Client) int {
	for i, x := range cs {
		if x == c {
			return i
		}
	}
	return -1
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestZooKeeperLeaderKill: the leader dies during a burst of creates. No
// acknowledged create is lost (each reads back at the version its Commit
// returned), and every client resumes writing after the re-election,
// within its session.
func TestZooKeeperLeaderKill(t *testing.T) {
	e := zktest.StartEnsemble(t, 3)
	const timeout = 8 * time.Second
	h := ensembleHarness(t, e, timeout)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	clients := []*Client{h.client(t), h.client(t), h.client(t), h.client(t)}
	sessions := make([]nsdb.Session, len(clients))
	for i, c := range clients {
		sessions[i] = must[nsdb.Session](t)(c.Session(ctx))
	}

	type ack struct {
		id  topology.ID
		ver nsdb.Version
		at  time.Time
	}
	var (
		mu     sync.Mutex
		acks   []ack
		failed []error
	)
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for g, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; wctx.Err() == nil; i++ {
				b := &topology.Bridge{ID: topology.NameID(topology.KindBridge, fmt.Sprintf("w%d-%d", g, i)), Name: fmt.Sprintf("w%d-%d", g, i)}
				octx, ocancel := context.WithTimeout(wctx, 2*timeout)
				v, err := c.Store().Commit(octx, nsdb.Create(b))
				ocancel()
				mu.Lock()
				switch {
				case err == nil:
					acks = append(acks, ack{b.ID, v, time.Now()})
				case wctx.Err() == nil:
					failed = append(failed, fmt.Errorf("client %d create %d: %w", g, i, err))
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	leader, err := e.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	t.Logf("killing leader %d (%s)", leader, e.Server(leader).ConnectString())
	if err := e.Server(leader).Kill(); err != nil {
		t.Fatal(err)
	}
	// Wait until writes flow again, then a little more.
	var resumed time.Time
	for resumed.IsZero() {
		if time.Since(killed) > timeout {
			t.Fatalf("no write acknowledged within the session timeout (%v) of the leader's death", timeout)
		}
		mu.Lock()
		for _, a := range acks {
			if a.at.After(killed.Add(50 * time.Millisecond)) {
				resumed = a.at
				break
			}
		}
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	stop()
	wg.Wait()
	t.Logf("writes resumed %v after the kill; %d creates acknowledged", resumed.Sub(killed).Round(time.Millisecond), len(acks))

	for _, err := range failed {
		// The only admissible failure is an unresolvable outcome.
		if !errors.Is(err, nsdb.ErrUnavailable) {
			t.Errorf("unexpected write error: %v", err)
		} else {
			t.Logf("ambiguous write: %v", err)
		}
	}
	all := must[[]nsdb.Versioned](t)(clients[0].Store().List(ctx, topology.KindBridge))
	stored := make(map[topology.ID]nsdb.Version, len(all))
	for _, v := range all {
		stored[v.Object.ObjectID()] = v.Version
	}
	for _, a := range acks {
		if v, ok := stored[a.id]; !ok {
			t.Errorf("acknowledged create of %s lost", a.id)
		} else if v != a.ver {
			t.Errorf("%s: stored at version %d, Commit returned %d", a.id, v, a.ver)
		}
	}
	for i, s := range sessions {
		if s.Err() != nil {
			t.Errorf("client %d lost its session: %v", i, s.Err())
		}
	}
	// Every client writes again.
	for i, c := range clients {
		b := &topology.Bridge{ID: topology.NameID(topology.KindBridge, fmt.Sprint("after-", i))}
		if _, err := c.Store().Commit(ctx, nsdb.Create(b)); err != nil {
			t.Errorf("client %d after re-election: %v", i, err)
		}
	}
}

// TestZooKeeperEnsembleOutage: every server is down for longer than the
// session timeout. Clients report the expiry (Session Done with
// ErrSessionExpired, leaderships end), the old session's ephemeral nodes are
// gone once the ensemble is back, and the agent's re-registration loop
// writes its host's alive key again under its new session.
func TestZooKeeperEnsembleOutage(t *testing.T) {
	e := zktest.StartEnsemble(t, 3)
	const timeout = 2 * time.Second
	h := ensembleHarness(t, e, timeout)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	agent, observer := h.client(t), h.client(t)
	hid := topology.NameID(topology.KindHost, "agent-host")
	br := topology.NameID(topology.KindBridge, "b")
	mac := topology.MAC{2, 0, 0, 0, 0, 9}

	// The agent's registration loop, as package nsdb prescribes.
	registered := make(chan nsdb.SessionID, 4)
	go func() {
		for {
			s, err := agent.Session(ctx)
			if err != nil {
				return
			}
			if err := agent.StateKeys().Set(ctx, nsdb.KeyHostAlive(), hid, "1"); err != nil {
				if ctx.Err() == nil && !errors.Is(err, nsdb.ErrClosed) {
					t.Errorf("register alive: %v", err)
				}
				return
			}
			registered <- s.ID()
			select {
			case <-s.Done():
			case <-ctx.Done():
				return
			}
		}
	}()
	first := <-registered
	s1 := must[nsdb.Session](t)(agent.Session(ctx))
	if s1.ID() != first {
		t.Fatalf("registered under session 0x%x, current is 0x%x", uint64(first), uint64(s1.ID()))
	}
	mt := must[nsdb.Table[topology.MAC, topology.ID]](t)(agent.Tables().MACTable(ctx, br, 0))
	if err := mt.Add(ctx, mac, topology.NameID(topology.KindPort, "p")); err != nil {
		t.Fatal(err)
	}
	lead := must[nsdb.Leadership](t)(agent.Elections().Campaign(ctx, "fp", "agent"))
	values(t, observer, hid, func(vs []nsdb.KeyValue) bool { return len(vs) == 1 && vs[0].Owner == s1.ID() })

	down := time.Now()
	if err := e.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s1.Done():
		t.Logf("session expiry reported %v after the outage began", time.Since(down).Round(time.Millisecond))
	case <-time.After(4 * timeout):
		t.Fatal("no expiry reported while every server is down")
	}
	if !errors.Is(s1.Err(), nsdb.ErrSessionExpired) {
		t.Fatalf("expired session's Err = %v", s1.Err())
	}
	select {
	case <-lead.Done():
		if !errors.Is(lead.Err(), nsdb.ErrSessionExpired) {
			t.Errorf("leadership ended with %v", lead.Err())
		}
	case <-time.After(time.Second):
		t.Error("leadership survived its session")
	}
	if d := time.Since(down); d < 2*timeout {
		time.Sleep(2*timeout - d)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitServing(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("ensemble back after %v", time.Since(down).Round(time.Millisecond))

	// The agent re-registers under a new session.
	var second nsdb.SessionID
	select {
	case second = <-registered:
	case <-ctx.Done():
		t.Fatal("agent never re-registered")
	}
	if second == first {
		t.Fatal("re-registered under the expired session")
	}
	values(t, observer, hid, func(vs []nsdb.KeyValue) bool { return len(vs) == 1 && vs[0].Owner == second })
	// The learned MAC entry of the old session is gone, on both clients.
	ot := must[nsdb.Table[topology.MAC, topology.ID]](t)(observer.Tables().MACTable(ctx, br, 0))
	defer ot.Close()
	eventuallyTrue(t, "learned entry of the expired session gone", func() bool { _, ok := ot.Lookup(mac); return !ok })
	eventuallyTrue(t, "learned entry gone on the agent's handle", func() bool { _, ok := mt.Lookup(mac); return !ok })
	// No leader is left from the old session.
	eventuallyTrue(t, "expired leadership gone", func() bool {
		l, err := observer.Elections().Leader(ctx, "fp")
		return err == nil && l.IsZero()
	})
	// Nothing else of the old session survives anywhere under the root.
	cn := must[*conn](t)(observer.live(ctx))
	eventuallyTrue(t, "no ephemeral node of the old session", func() bool {
		n, err := countOwned(cn, h.root, int64(first))
		return err == nil && n == 0
	})
}

func values(t *testing.T, c *Client, hid topology.ID, ok func([]nsdb.KeyValue) bool) {
	t.Helper()
	eventuallyTrue(t, "alive key", func() bool {
		vs, err := c.StateKeys().Get(context.Background(), nsdb.KeyHostAlive(), hid)
		return err == nil && ok(vs)
	})
}

func eventuallyTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// countOwned counts the ephemeral nodes of session under p.
func countOwned(cn *conn, p string, session int64) (int, error) {
	_, st, err := cn.zk.Exists(p)
	if err != nil {
		return 0, err
	}
	n := 0
	if st.EphemeralOwner == session {
		n++
	}
	names, _, err := cn.zk.Children(p)
	if err != nil {
		return 0, err
	}
	for _, name := range names {
		m, err := countOwned(cn, p+"/"+name, session)
		if err != nil {
			return 0, err
		}
		n += m
	}
	return n, nil
}
