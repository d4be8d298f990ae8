package bgp_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent/bgp"
	"github.com/hivenet/hivenet/internal/birdtest"
)

func TestMain(m *testing.M) {
	bgp.MaybeServeChild()
	os.Exit(m.Run())
}

// TestChildBIRD runs the speaker in a child process (this test binary,
// re-executed): routes and status come back to the parent; killing the
// child withdraws its routes in the parent and BIRD loses the session.
func TestChildBIRD(t *testing.T) {
	bird, us := loopback(45, 2), loopback(45, 3)
	d := birdtest.Start(t, birdtest.Config{
		RouterID: bird, ASN: birdASN, Local: bird, LocalPort: 1179, Static: []netip.Prefix{defRoute, upstream},
		Neighbors: []birdtest.Neighbor{{Name: "hive", Addr: us, ASN: ourASN, Port: 1790, Multihop: true}},
	})
	l := newLearned()
	c, err := bgp.StartChild(context.Background(), bgp.Config{
		ASN: ourASN, RouterID: us, ListenPort: 1790, Networks: []netip.Prefix{floating}, OnUpdate: l.on,
		Peers: []bgp.Peer{{Addr: bird, ASN: birdASN, Port: 1179, KeepAlive: time.Second, HoldTime: 3 * time.Second, ConnectRetry: time.Second}},
	}, bgp.ChildOptions{StatusInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	eventually(t, 20*time.Second, "routes learned through the child", func() (bool, string) {
		got := l.get()
		return got[defRoute] == bird && got[upstream] == bird, fmt.Sprint(got)
	})
	eventually(t, 10*time.Second, "BIRD learns the floating range", func() (bool, string) {
		hops, err := d.Paths(floating)
		return slices.Equal(hops, []netip.Addr{us}), fmt.Sprint(hops, err)
	})
	eventually(t, 5*time.Second, "child status", func() (bool, string) {
		st, err := c.Status(context.Background())
		return err == nil && len(st) == 1 && st[0].State == "established" && st[0].Received == 2 && st[0].Sent == 1, fmt.Sprintf("%+v %v", st, err)
	})
	t0 := time.Now()
	c.Kill()
	<-c.Exited()
	if got := l.get(); len(got) != 0 {
		t.Fatalf("routes left after the child died: %v", got)
	}
	if _, err := c.Status(context.Background()); !errors.Is(err, bgp.ErrExited) {
		t.Fatalf("status of a dead child: %v", err)
	}
	eventually(t, 10*time.Second, "BIRD withdraws the floating range", func() (bool, string) {
		hops, err := d.Paths(floating)
		return len(hops) == 0 && err == nil, fmt.Sprint(hops, err)
	})
	t.Logf("BIRD withdrew the path %v after the child was killed", time.Since(t0).Round(time.Millisecond))
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add([]byte(`{"updates":[{"Peer":"192.0.2.1","Prefix":"0.0.0.0/0","NextHop":"192.0.2.1","Withdraw":false}]}`))
	f.Add([]byte(`{"status":[{"Peer":"192.0.2.1","ASN":1,"State":"established"}]}`))
	f.Add([]byte(`{"error":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := bgp.DecodeMessage(b)
		if err != nil {
			if !errors.Is(err, bgp.ErrProtocol) {
				t.Fatalf("error %v does not wrap ErrProtocol", err)
			}
			return
		}
		for _, u := range m.Updates {
			if !u.Peer.Is4() || !u.Prefix.Addr().Is4() {
				t.Fatalf("accepted %+v", u)
			}
		}
	})
}

func FuzzDecodeChildConfig(f *testing.F) {
	f.Add([]byte(`{"asn":64512,"router_id":"192.0.2.2","peers":[{"addr":"192.0.2.1","asn":65001}],"networks":["203.0.113.0/24"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := bgp.DecodeChildConfig(b)
		if err != nil {
			return
		}
		if _, err := bgp.New(c); err != nil {
			t.Fatalf("decoded config rejected by New: %v", err)
		}
	})
}
