package nsdbtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
)

var electionTests = []test{
	{"OneLeaderAmongMany", testElectionOneLeader},
	{"ResignInCampaignOrder", testElectionResignOrder},
	{"ExpiryHandsOver", testElectionExpiry},
	{"WatchLeader", testElectionWatch},
	{"CancelCampaign", testElectionCancel},
	{"CampaignTwice", testElectionTwice},
	{"Invalid", testElectionInvalid},
}

type won struct {
	c     nsdb.Client
	value string
	l     nsdb.Leadership
}

// campaigners starts n clients campaigning in election; winners arrive on
// the returned channel.
func campaigners(t *testing.T, h Harness, election string, n int) ([]nsdb.Client, chan won) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	wins := make(chan won, n)
	cs := make([]nsdb.Client, n)
	for i := range n {
		cs[i] = h.NewClient(t)
	}
	for i, c := range cs {
		go func() {
			v := fmt.Sprintf("candidate-%d", i)
			l, err := c.Elections().Campaign(ctx, election, v)
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, nsdb.ErrClosed) {
					t.Errorf("Campaign %s: %v", v, err)
				}
				return
			}
			wins <- won{c, v, l}
		}()
	}
	return cs, wins
}

func winner(t *testing.T, wins chan won) won {
	t.Helper()
	select {
	case w := <-wins:
		return w
	case <-time.After(Timeout):
		t.Fatal("no candidate became leader")
		return won{}
	}
}

func noWinner(t *testing.T, wins chan won) {
	t.Helper()
	select {
	case w := <-wins:
		t.Fatalf("%s became leader while another leads", w.value)
	case <-time.After(50 * time.Millisecond):
	}
}

func leaderIs(t *testing.T, c nsdb.Client, election string, want won) {
	t.Helper()
	s := session(t, want.c)
	eventually(t, "leader "+want.value, func() bool {
		l, err := c.Elections().Leader(testContext(t), election)
		if err != nil {
			t.Fatalf("Leader: %v", err)
		}
		return l.Value == want.value && l.Session == s.ID()
	})
}

func testElectionOneLeader(t *testing.T, h Harness) {
	const n = 8
	observer := h.NewClient(t)
	_, wins := campaigners(t, h, "latch", n)
	seen := map[string]bool{}
	for i := range n {
		w := winner(t, wins)
		if seen[w.value] {
			t.Fatalf("%s won twice", w.value)
		}
		seen[w.value] = true
		leaderIs(t, observer, "latch", w)
		if i < n-1 {
			noWinner(t, wins)
		}
		select {
		case <-w.l.Done():
			t.Fatal("fresh leadership already done")
		default:
		}
		if err := w.l.Resign(testContext(t)); err != nil {
			t.Fatalf("Resign: %v", err)
		}
		closed(t, "resigned leadership's Done", w.l.Done())
		wantErr(t, "resigned leadership's Err", w.l.Err(), nsdb.ErrClosed)
	}
	if l, err := observer.Elections().Leader(testContext(t), "latch"); err != nil || !l.IsZero() {
		t.Fatalf("leader after everyone resigned = %+v, %v", l, err)
	}
}

func testElectionResignOrder(t *testing.T, h Harness) {
	ctx := testContext(t)
	a, b, c := h.NewClient(t), h.NewClient(t), h.NewClient(t)
	la, err := a.Elections().Campaign(ctx, "ordered", "a")
	if err != nil {
		t.Fatalf("uncontested Campaign: %v", err)
	}
	order := make(chan string, 2)
	var lbs sync.Map
	start := func(cl nsdb.Client, v string) {
		go func() {
			l, err := cl.Elections().Campaign(ctx, "ordered", v)
			if err == nil {
				lbs.Store(v, l)
				order <- v
			}
		}()
	}
	// b campaigns before c: each campaign is seen queued before the next.
	queued := func(n int) {
		t.Helper()
		eventually(t, fmt.Sprintf("%d candidates queued", n), func() bool {
			got, err := a.Elections().Candidates(ctx, "ordered")
			return err == nil && got == n
		})
	}
	start(b, "b")
	queued(2)
	start(c, "c")
	queued(3)
	la.Resign(ctx)
	select {
	case v := <-order:
		if v != "b" {
			t.Fatalf("%s became leader before b, which campaigned first", v)
		}
	case <-time.After(Timeout):
		t.Fatal("no successor after resign")
	}
	l, _ := lbs.Load("b")
	l.(nsdb.Leadership).Resign(ctx)
	select {
	case v := <-order:
		if v != "c" {
			t.Fatalf("successor %s, want c", v)
		}
	case <-time.After(Timeout):
		t.Fatal("no successor after second resign")
	}
}

func testElectionExpiry(t *testing.T, h Harness) {
	observer := h.NewClient(t)
	_, wins := campaigners(t, h, "latch", 3)
	first := winner(t, wins)
	leaderIs(t, observer, "latch", first)
	noWinner(t, wins)
	h.ExpireSession(t, first.c)
	closed(t, "leadership Done on session expiry", first.l.Done())
	wantErr(t, "leadership Err after expiry", first.l.Err(), nsdb.ErrSessionExpired)
	second := winner(t, wins)
	if second.value == first.value {
		t.Fatal("expired leader won again")
	}
	leaderIs(t, observer, "latch", second)
	// The expired client may campaign again, on its new session; it queues
	// behind the live candidates.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := first.c.Elections().Campaign(ctx, "latch", first.value)
	wantErr(t, "re-campaign while another leads", err, context.DeadlineExceeded)
}

func testElectionWatch(t *testing.T, h Harness) {
	observer := h.NewClient(t)
	w := must[nsdb.Watch[nsdb.Leader]](t, "WatchLeader")(observer.Elections().WatchLeader(testContext(t), "watched"))
	defer w.Close()
	first := next(t, w)
	if len(first) != 1 || !first[0].IsZero() {
		t.Fatalf("first batch = %+v, want one zero Leader", first)
	}
	_, wins := campaigners(t, h, "watched", 2)
	a := winner(t, wins)
	sa := session(t, a.c)
	current := nsdb.Leader{}
	until := func(want func(nsdb.Leader) bool) {
		deadline := time.Now().Add(Timeout)
		for !want(current) {
			if time.Now().After(deadline) {
				t.Fatalf("leader watch stuck at %+v", current)
			}
			b := next(t, w)
			if len(b) != 1 {
				t.Fatalf("leader batch holds %d events, want 1", len(b))
			}
			current = b[0]
		}
	}
	until(func(l nsdb.Leader) bool { return l.Session == sa.ID() && l.Value == a.value })
	h.ExpireSession(t, a.c)
	b := winner(t, wins)
	until(func(l nsdb.Leader) bool { return l.Value == b.value })
	b.l.Resign(testContext(t))
	until(nsdb.Leader.IsZero)
}

func testElectionCancel(t *testing.T, h Harness) {
	a, b := h.NewClient(t), h.NewClient(t)
	la, err := a.Elections().Campaign(testContext(t), "e", "a")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := b.Elections().Campaign(ctx, "e", "b")
		errc <- err
	}()
	// Cancel once b's candidacy is queued, so that it is withdrawn.
	eventually(t, "b's candidacy queued", func() bool {
		n, err := a.Elections().Candidates(context.Background(), "e")
		return err == nil && n == 2
	})
	cancel()
	select {
	case err := <-errc:
		wantErr(t, "cancelled Campaign", err, context.Canceled)
	case <-time.After(Timeout):
		t.Fatal("cancelled Campaign did not return")
	}
	// The withdrawal may finish just after Campaign returned (a backend
	// removes the candidacy in the background once ctx has ended).
	eventually(t, "b's candidacy withdrawn", func() bool {
		n, err := a.Elections().Candidates(testContext(t), "e")
		return err == nil && n == 1
	})
	// The withdrawn candidate does not lead when a resigns.
	la.Resign(testContext(t))
	eventually(t, "no leader", func() bool {
		l, err := a.Elections().Leader(testContext(t), "e")
		return err == nil && l.IsZero()
	})
}

func testElectionTwice(t *testing.T, h Harness) {
	a := h.NewClient(t)
	l, err := a.Elections().Campaign(testContext(t), "e", "a")
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Elections().Campaign(testContext(t), "e", "a")
	wantErr(t, "second Campaign of one session", err, nsdb.ErrExists)
	// Other elections are independent.
	l2, err := a.Elections().Campaign(testContext(t), "other", "a")
	if err != nil {
		t.Fatalf("Campaign in another election: %v", err)
	}
	l.Resign(testContext(t))
	l2.Resign(testContext(t))
	if _, err := a.Elections().Campaign(testContext(t), "e", "a"); err != nil {
		t.Fatalf("Campaign after Resign: %v", err)
	}
}

func testElectionInvalid(t *testing.T, h Harness) {
	el := h.NewClient(t).Elections()
	for _, name := range []string{"", "a/b", ".."} {
		_, err := el.Campaign(testContext(t), name, "v")
		wantErr(t, fmt.Sprintf("Campaign(%q)", name), err, nsdb.ErrInvalid)
	}
}

var sequenceTests = []test{
	{"Seeds", testSequenceSeeds},
	{"UniqueUnderConcurrency", testSequenceConcurrent},
}

func testSequenceSeeds(t *testing.T, h Harness) {
	sq := h.NewClient(t).Sequences()
	ctx := testContext(t)
	for _, tc := range []struct {
		seq  nsdb.Sequence
		want []uint64
	}{
		{nsdb.SeqOverlayTunnelKey(), []uint64{1, 2, 3}},
		{nsdb.SeqVxGWTunnelKey(), []uint64{10000, 10001}},
	} {
		for _, want := range tc.want {
			if got := must[uint64](t, "Next")(sq.Next(ctx, tc.seq)); got != want {
				t.Fatalf("%s: got %d, want %d", tc.seq.Name, got, want)
			}
		}
	}
	// The seed only matters on first use.
	odd := nsdb.SeqOverlayTunnelKey()
	odd.Seed = 500
	if got := must[uint64](t, "Next")(h.NewClient(t).Sequences().Next(ctx, odd)); got != 4 {
		t.Fatalf("existing sequence restarted at its new seed: %d", got)
	}
	_, err := sq.Next(ctx, nsdb.Sequence{Name: "bad/name"})
	wantErr(t, "invalid sequence name", err, nsdb.ErrInvalid)
}

func testSequenceConcurrent(t *testing.T, h Harness) {
	const workers, each = 8, 25
	clients := []nsdb.Client{h.NewClient(t), h.NewClient(t), h.NewClient(t)}
	var mu sync.Mutex
	var got []uint64
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sq := clients[i%len(clients)].Sequences()
			for range each {
				v, err := sq.Next(testContext(t), nsdb.SeqVxGWTunnelKey())
				if err != nil {
					t.Errorf("Next: %v", err)
					return
				}
				mu.Lock()
				got = append(got, v)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(got)
	if len(got) != workers*each {
		t.Fatalf("%d numbers, want %d", len(got), workers*each)
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("number %d dispensed twice", got[i])
		}
	}
	if got[0] != 10000 {
		t.Fatalf("first number %d, want the seed 10000", got[0])
	}
}
