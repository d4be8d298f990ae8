package main

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/topology"
)

// TestLBHealthService: a node started with the default services probes a
// pool member (a real TCP listener on loopback) and writes its status;
// the node's status names the monitor it owns, and its log the pool and
// the member.
func TestLBHealthService(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	addr := netip.MustParseAddrPort(ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var logs bytes.Buffer
	code := run(ctx, []string{"-nsdb", "memory", "-node", "lb-node", "-listen", "127.0.0.1:0", "-token-file", tokenFile(t)}, &logs,
		func(n *cluster.Node, c nsdb.Client, _ string) {
			defer cancel()
			lb := &topology.LoadBalancer{ID: topology.NameID(topology.KindLoadBalancer, "lb"), Name: "lb"}
			hm := &topology.HealthMonitor{ID: topology.NameID(topology.KindHealthMonitor, "tcp-check"), Delay: 1, Timeout: 1, MaxRetries: 2}
			pool := &topology.Pool{ID: topology.NameID(topology.KindPool, "web-pool"), Name: "web-pool", LoadBalancer: lb.ID, HealthMonitor: hm.ID}
			m := &topology.PoolMember{ID: topology.NameID(topology.KindPoolMember, "web1"), Pool: pool.ID,
				Status: topology.MemberMonitored, Addr: addr.Addr(), Port: addr.Port(), Weight: 1}
			if _, err := c.Store().Commit(ctx, nsdb.Create(lb), nsdb.Create(hm), nsdb.Create(pool), nsdb.Create(m)); err != nil {
				t.Error(err)
				return
			}
			w, err := c.StateKeys().Watch(ctx, nsdb.KeyPoolMemberStatus(), m.ID)
			if err != nil {
				t.Error(err)
				return
			}
			defer w.Close()
			for {
				evs, err := w.Next(ctx)
				if err != nil {
					t.Errorf("no status for the member: %v", err)
					return
				}
				if len(evs) > 0 && len(evs[0].Values) == 1 && evs[0].Values[0].Value == nsdb.MemberStatusActive {
					break
				}
			}
			for _, s := range n.Status().Services {
				if s.Name == "lb-health" {
					if len(s.Entities) != 1 || s.Entities[0] != hm.ID {
						t.Errorf("lb-health owns %v, want [%s]", s.Entities, hm.ID)
					}
					return
				}
			}
			t.Error("no lb-health service in the node's status")
		})
	if code != 0 || t.Failed() {
		t.Fatalf("exit %d\n%s", code, logs.String())
	}
	if out := logs.String(); !strings.Contains(out, "pool=web-pool") || !strings.Contains(out, "member="+addr.String()) {
		t.Errorf("the log names neither the pool nor the member:\n%s", out)
	}
}
