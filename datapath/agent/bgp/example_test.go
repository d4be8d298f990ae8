package bgp_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/hivenet/hivenet/datapath/agent/bgp"
)

// A gateway's uplink port 192.0.2.2 peers with its upstream router
// 192.0.2.1 (AS 65001), advertises the floating-IP range and reports the
// routes it learns.
func Example() {
	s, err := bgp.New(bgp.Config{
		ASN:      64512,
		RouterID: netip.MustParseAddr("192.0.2.2"),
		Peers: []bgp.Peer{{
			Addr: netip.MustParseAddr("192.0.2.1"), ASN: 65001,
			KeepAlive: 10 * time.Second, HoldTime: 30 * time.Second, Password: "s3cret",
		}},
		Networks: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
		OnUpdate: func(us []bgp.Update) {
			for _, u := range us {
				fmt.Println(u.Peer, u.Prefix, u.NextHop, u.Withdraw)
			}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if err := s.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer s.Stop()
	st, _ := s.Status(ctx)
	for _, p := range st {
		fmt.Println(p.Peer, p.State, p.Received, p.Sent, p.Uptime)
	}
}
