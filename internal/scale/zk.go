package scale

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hivenet/hivenet/internal/proc"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/nsdb/zookeeper/zkserver"
)

// Ensemble is the ZooKeeper the harness measures against: either one it
// started (a 3-node ensemble on loopback) or one the user named.
type Ensemble struct {
	// Servers is the connect string.
	Servers string
	// Started is the number of servers the harness started (0: given).
	Started int
	stop    func()
}

// StartEnsemble starts an n-server ZooKeeper ensemble under dir, on
// 127.0.0.1, .2, .3 …, and waits until every member serves and one leads.
// The servers keep ZooKeeper's production defaults (2 s ticks, an fsync of
// the transaction log per write) but get a 1 GB heap: the largest
// topologies hold over 100,000 znodes.
func StartEnsemble(ctx context.Context, dir string, n int) (*Ensemble, error) {
	peers := make([]zkserver.Peer, n)
	clients := make([]netip.AddrPort, n)
	for i := range peers {
		addr := netip.AddrFrom4([4]byte{127, 0, 0, byte(i + 1)})
		ports, err := proc.FreePorts(addr, 3)
		if err != nil {
			return nil, err
		}
		peers[i] = zkserver.Peer{ID: i + 1, Addr: addr, Quorum: ports[1], Election: ports[2]}
		clients[i] = netip.AddrPortFrom(addr, ports[0])
	}
	var servers []*zkserver.Server
	stop := func() {
		for _, s := range servers {
			_ = s.Kill()
		}
	}
	var addrs []string
	for i := range peers {
		s, err := zkserver.New(zkserver.Config{Dir: filepath.Join(dir, fmt.Sprintf("server%d", i+1)), Client: clients[i],
			ID: i + 1, Peers: peers, JVMFlags: []string{"-Xmx1g", "-XX:TieredStopAtLevel=4"}})
		if err != nil {
			stop()
			return nil, err
		}
		if err := s.Start(); err != nil {
			stop()
			return nil, err
		}
		servers = append(servers, s)
		addrs = append(addrs, s.ConnectString())
	}
	for _, s := range servers {
		if err := s.WaitServing(ctx); err != nil {
			stop()
			return nil, err
		}
	}
	for {
		for _, s := range servers {
			if m, err := s.Mode(ctx); err == nil && m == "leader" {
				return &Ensemble{Servers: strings.Join(addrs, ","), Started: n, stop: stop}, nil
			}
		}
		select {
		case <-ctx.Done():
			stop()
			return nil, fmt.Errorf("no leader elected: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond): // polling the members' mode
		}
	}
}

// Close stops the servers the harness started.
func (e *Ensemble) Close() {
	if e.stop != nil {
		e.stop()
	}
}

// counter is a TCP proxy to ZooKeeper servers that counts the bytes each
// way, so that the harness can report what agents read from the NSDB
// without touching the client.
type counter struct {
	lns  []net.Listener
	down atomic.Int64 // server -> client
	up   atomic.Int64 // client -> server
	wg   sync.WaitGroup
	mu   sync.Mutex
	cs   map[net.Conn]bool
}

// newCounter starts one listener on 127.0.0.1 per server of the connect
// string servers; addrs is the connect string of the listeners.
func newCounter(servers string) (c *counter, addrs string, err error) {
	c = &counter{cs: make(map[net.Conn]bool)}
	var out []string
	for _, target := range strings.Split(servers, ",") {
		ports, err := proc.FreePorts(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 1)
		if err != nil {
			c.Close()
			return nil, "", err
		}
		ln, err := net.Listen("tcp", netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ports[0]).String())
		if err != nil {
			c.Close()
			return nil, "", err
		}
		c.lns = append(c.lns, ln)
		out = append(out, ln.Addr().String())
		c.wg.Add(1)
		go c.accept(ln, target)
	}
	return c, strings.Join(out, ","), nil
}

func (c *counter) accept(ln net.Listener, target string) {
	defer c.wg.Done()
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", target)
		if err != nil {
			in.Close()
			continue
		}
		c.mu.Lock()
		c.cs[in], c.cs[out] = true, true
		c.mu.Unlock()
		go c.pipe(out, in, &c.up)
		go c.pipe(in, out, &c.down)
	}
}

func (c *counter) pipe(dst, src net.Conn, n *atomic.Int64) {
	buf := make([]byte, 32<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			n.Add(int64(k))
			if _, werr := dst.Write(buf[:k]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
}

// Close stops the listeners and drops every connection.
func (c *counter) Close() {
	for _, ln := range c.lns {
		ln.Close()
	}
	c.mu.Lock()
	for k := range c.cs {
		k.Close()
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// zkClient opens a client of servers under root.
func zkClient(ctx context.Context, servers, root string) (nsdb.Client, error) {
	return zookeeper.New(ctx, zookeeper.Config{Servers: strings.Split(servers, ","), Root: root})
}

// agentPlanIndexIdle is what examples/agent sets its client's
// zookeeper.Config.PlanIndexIdle to.
const agentPlanIndexIdle = 5 * time.Second

// agentClient is zkClient as an agent configures it.
func agentClient(ctx context.Context, servers, root string) (nsdb.Client, error) {
	return zookeeper.New(ctx, zookeeper.Config{Servers: strings.Split(servers, ","), Root: root, PlanIndexIdle: agentPlanIndexIdle})
}
