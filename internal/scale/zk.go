package scale

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hivenet/hivenet/internal/proc"
	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
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

// StartEnsemble starts an n-server ZooKeeper ensemble under dir with the
// test harness's tunings (internal/zktest: short ticks, no fsync of the
// transaction log) and waits until it serves.
func StartEnsemble(ctx context.Context, dir string, n int) (*Ensemble, error) {
	e, err := zktest.StartEnsembleDir(ctx, dir, n)
	if err != nil {
		return nil, err
	}
	return &Ensemble{Servers: e.ConnectString(), Started: n, stop: func() { _ = e.Kill() }}, nil
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
