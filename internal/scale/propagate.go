package scale

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/internal/topogen"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// fleetTopology returns hosts hosts in one VXLAN zone, a bridge per 10
// hosts behind router r0 (a link and a route each), and two VM ports per
// host, each with the shared security group sg as its outbound filter: a
// change of sg, of r0's routes or of any port's binding concerns every
// host.
func fleetTopology(hosts int) *topology.Topology {
	t := topogen.Hosts(hosts)
	id := func(k topology.Kind, f string, a ...any) topology.ID { return topology.NameID(k, fmt.Sprintf(f, a...)) }
	sg := id(topology.KindChain, "sg")
	t.Chains = append(t.Chains, topology.Chain{ID: sg, Name: "sg", Rules: []topology.Rule{
		{ID: id(topology.KindChain, "sg-0"), Action: topology.ActionAccept, Condition: topology.Condition{MatchReturnFlow: true}},
		{ID: id(topology.KindChain, "sg-1"), Action: topology.ActionDrop},
	}})
	rid := id(topology.KindRouter, "r0")
	t.Routers = append(t.Routers, topology.Router{ID: rid, Name: "r0"})
	bridges := (hosts + 9) / 10
	for b := range bridges {
		bid := id(topology.KindBridge, "b%d", b)
		t.Bridges = append(t.Bridges, topology.Bridge{ID: bid, Name: fmt.Sprintf("b%d", b)})
		sub := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(b / 256), byte(b % 256), 0}), 24)
		rp, bp := id(topology.KindPort, "r0-b%d", b), id(topology.KindPort, "b%d-r0", b)
		t.Ports = append(t.Ports,
			topology.Port{ID: rp, Name: fmt.Sprintf("r0-b%d", b), Router: rid, Peer: bp, Subnets: []netip.Prefix{sub},
				Address: sub.Addr().Next(), MAC: topology.MAC{2, 0, 0, byte(b >> 8), byte(b), 1}},
			topology.Port{ID: bp, Name: fmt.Sprintf("b%d-r0", b), Bridge: bid, Peer: rp})
		t.Routes = append(t.Routes, topology.Route{ID: id(topology.KindRoute, "r0-b%d", b), Router: rid, Dst: sub,
			NextHop: topology.NextHopPort, NextHopPort: rp})
	}
	for h := range hosts {
		for v := range 2 {
			t.Ports = append(t.Ports, topology.Port{ID: id(topology.KindPort, "h%d-vm%d", h, v), Name: fmt.Sprintf("h%d-vm%d", h, v),
				Bridge: id(topology.KindBridge, "b%d", h/10), Host: id(topology.KindHost, "h%d", h),
				Interface: fmt.Sprintf("tap-h%d-%d", h, v), OutboundFilter: sg})
		}
	}
	return t
}

// fleet is hosts agents in this process, each with its own ZooKeeper
// session (through a byte counter), and an admin session writing changes.
type fleet struct {
	c     *sandbox.Cluster
	cnt   *counter
	admin nsdb.Client
	ags   []*agent.Agent
	topo  *topology.Topology
	boot  time.Duration
}

// startFleet loads the fleet topology under root and starts its agents;
// they run without VMs (no datapath traffic), one worker each.
func startFleet(ctx context.Context, ens *Ensemble, root string, hosts int) (*fleet, error) {
	cnt, addrs, err := newCounter(ens.Servers)
	if err != nil {
		return nil, err
	}
	t := fleetTopology(hosts)
	admin, err := zkClient(ctx, ens.Servers, root)
	if err != nil {
		cnt.Close()
		return nil, err
	}
	if _, err := topogen.Load(ctx, admin.Store(), t, 500); err != nil {
		admin.Close()
		cnt.Close()
		return nil, err
	}
	start := time.Now()
	c, err := sandbox.Start(ctx, sandbox.Config{
		Topology: t,
		NewClient: func(ctx context.Context) (nsdb.Client, error) {
			return agentClient(ctx, addrs, root)
		},
		// 100.64.x.y -> 127.64.x.y: one loopback address per host.
		Underlay: func(a netip.Addr) netip.Addr { b := a.As4(); b[0] = 127; return netip.AddrFrom4(b) },
		Agent:    func(_ string, cfg *agent.Config) { cfg.Workers = 1 },
	})
	if err != nil {
		admin.Close()
		cnt.Close()
		return nil, err
	}
	f := &fleet{c: c, cnt: cnt, admin: admin, topo: t, boot: time.Since(start)}
	for _, h := range c.Hosts() {
		f.ags = append(f.ags, h.Agent())
	}
	return f, nil
}

func (f *fleet) close() {
	f.c.Close()
	f.admin.Close()
	f.cnt.Close()
}

// change is one write and when every agent applied it.
type change struct {
	kind    string
	start   time.Time
	written time.Time
	version nsdb.Version
	// check, if set, also counts an agent as having applied the change
	// once it holds of the agent's snapshot: a second witness, the world
	// the agent publishes, besides its applied revision.
	check func(*agent.Agent) bool
	// applied[i] is when agent i applied it (zero until then); all is
	// when the last one did.
	applied []time.Time
	all     time.Time
	err     error
}

// watcher polls every agent's applied revision and completes changes.
type watcher struct {
	mu      sync.Mutex
	pending []*change
	ags     []*agent.Agent
	seen    []nsdb.Version
	done    chan struct{}
}

func newWatcher(ags []*agent.Agent) *watcher {
	w := &watcher{ags: ags, seen: make([]nsdb.Version, len(ags)), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *watcher) add(c *change) {
	c.applied = make([]time.Time, len(w.ags))
	w.mu.Lock()
	w.pending = append(w.pending, c)
	w.mu.Unlock()
}

// written records c's commit: its version, or the error.
func (w *watcher) written(c *change, v nsdb.Version, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	c.written, c.version, c.err = now, v, err
	if err != nil || v == 0 {
		return
	}
	// An agent may have applied the change before the commit's reply
	// reached the writer: run only checks agents whose revision moved
	// since, so those are marked here (at the reply, an upper bound).
	for i, a := range w.ags {
		if c.applied[i].IsZero() && a.AppliedRevision() >= v {
			c.applied[i] = now
		}
	}
}

func (w *watcher) run() {
	t := time.NewTicker(200 * time.Microsecond)
	defer t.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-t.C:
		}
		now := time.Now()
		w.mu.Lock()
		for i, a := range w.ags {
			for _, c := range w.pending {
				if c.check != nil && c.version != 0 && c.applied[i].IsZero() && c.check(a) {
					c.applied[i] = now
				}
			}
			v := a.AppliedRevision()
			if v == w.seen[i] {
				continue
			}
			w.seen[i] = v
			for _, c := range w.pending {
				if c.version != 0 && c.version <= v && c.applied[i].IsZero() {
					c.applied[i] = now
				}
			}
		}
		w.pending = slices.DeleteFunc(w.pending, func(c *change) bool {
			if c.version == 0 {
				return c.err != nil
			}
			for _, at := range c.applied {
				if at.IsZero() {
					return false
				}
			}
			c.all = now
			return true
		})
		w.mu.Unlock()
	}
}

// wait waits until c is applied everywhere or ctx ends.
func (w *watcher) wait(ctx context.Context, c *change) error {
	for {
		w.mu.Lock()
		done, err := !c.all.IsZero(), c.err
		w.mu.Unlock()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Microsecond): // polling the watcher
		}
	}
}

func (w *watcher) stop() { close(w.done) }

// latency is c's time from the start of its write until every agent
// applied it (zero if not done).
func (c *change) latency() time.Duration {
	if c.all.IsZero() {
		return 0
	}
	return c.all.Sub(c.start)
}
