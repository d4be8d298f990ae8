// Package sandbox runs several hivenet agents in one process, each on an
// in-process datapath (datapath/inproc) with VXLAN over loopback UDP,
// sharing one NSDB, and plugs emulated VMs into their ports. It is what
// examples/sandbox and the agent's end-to-end tests are built on; it needs
// no privileges and no kernel module.
//
// Start loads a topology into the NSDB (an embedded nsdb/memory server
// unless Config.NewClient says otherwise), starts one agent per host and
// waits until they are ready; Cluster.StartVM plugs a VM into a bound port.
// Cluster.Send sends simulation/harness's packets from a VM, by name, so
// that a scenario written for the pure simulator runs on agents too.
// The tunnel zones' underlay addresses are mapped to loopback addresses
// (by default 127.0.0.<last octet>), which every datapath binds its VXLAN
// port to: Linux routes all of 127.0.0.0/8 to the loopback interface.
//
// [Prober] is a load-balancer health prober (nsdb/cluster/lbhealth) whose
// probes leave from a VM on a router port and travel the overlay.
//
// It is a harness for users' tests: it holds no scenario of its own. The
// VMs of the shipped two-tenant topology ([TwoTenantVMs]) are here because
// several test suites use them; the demo scenarios that run on them are
// examples/sandbox's.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/flowstate/localstore"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
)

// Config configures a Cluster.
type Config struct {
	// Topology is loaded into the NSDB (with the tunnel zones' addresses
	// mapped by Underlay). Required.
	Topology *topology.Topology
	// Hosts names the hosts to run agents for; empty means every host of
	// the topology.
	Hosts []string
	// NewClient opens an NSDB session for an agent (and one for the
	// cluster's own writes). Nil means an embedded nsdb/memory server.
	NewClient func(ctx context.Context) (nsdb.Client, error)
	// Underlay maps a tunnel-zone address to the loopback address the
	// host's datapath binds; nil means 127.0.0.<last octet of addr>.
	Underlay func(addr netip.Addr) netip.Addr
	// Agent, if set, adjusts each agent's configuration before it starts
	// (timeouts, workers, flow state).
	Agent func(host string, cfg *agent.Config)
	// Logger receives the agents' logs (with a "host" attribute); nil
	// discards them.
	Logger *slog.Logger
	// Registerer, if set, registers every agent's metrics with a "host"
	// label.
	Registerer prometheus.Registerer
	// Stateful gives every agent connection tracking and NAT
	// (agent.Config.Stateful).
	Stateful bool
	// VXLANPort is the overlay UDP port of every host; zero picks a port
	// free on every underlay address, so that several clusters can run at
	// once.
	VXLANPort uint16
	// VTEPPort is the UDP port of every host's tunnel port toward
	// hardware VTEPs (agent.Config.VTEPPort); zero picks a free one, like
	// VXLANPort.
	VTEPPort uint16
	// FlowStateDir, with Stateful, gives every agent a local flow-state
	// store (flowstate/localstore) in FlowStateDir/<host name>, kept
	// across Restart, and the flow-state transfer service on its underlay
	// address, at a TCP port free on every underlay address: connections
	// survive agent restarts and moves of their ports (MoveVM).
	FlowStateDir string
}

// Cluster is a set of agents sharing an NSDB.
type Cluster struct {
	mu     sync.Mutex
	cfg    Config
	admin  nsdb.Client
	topo   *topology.Topology
	hosts  map[string]*Host
	order  []string
	vms    sync.WaitGroup
	byName map[string]*VM // VMs started, by port name and by VM name
	cancel context.CancelFunc
	ctx    context.Context
	// statePort is the flow-state transfer port (Config.FlowStateDir).
	statePort uint16
}

// Start loads cfg.Topology and starts the agents; it returns once every
// agent is ready or ctx ends.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Topology == nil {
		return nil, errors.New("sandbox: no topology")
	}
	if cfg.Underlay == nil {
		cfg.Underlay = DefaultUnderlay
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NewClient == nil {
		srv := memory.NewServer(memory.Config{Logger: cfg.Logger})
		cfg.NewClient = func(context.Context) (nsdb.Client, error) { return srv.NewClient(), nil }
	}
	t := &topology.Topology{}
	for o := range cfg.Topology.Objects() {
		t.Add(o)
	}
	for i := range t.TunnelZones {
		z := &t.TunnelZones[i]
		for j := range z.Members {
			z.Members[j].Addr = cfg.Underlay(z.Members[j].Addr)
		}
	}
	var addrs []netip.Addr
	for _, z := range t.TunnelZones {
		for _, m := range z.Members {
			addrs = append(addrs, m.Addr)
		}
	}
	if cfg.VXLANPort == 0 {
		p, err := freeUDPPort(addrs)
		if err != nil {
			return nil, err
		}
		cfg.VXLANPort = p
	}
	for cfg.VTEPPort == 0 || cfg.VTEPPort == cfg.VXLANPort {
		p, err := freeUDPPort(addrs)
		if err != nil {
			return nil, err
		}
		cfg.VTEPPort = p
	}
	var statePort uint16
	if cfg.FlowStateDir != "" {
		p, err := freeTCPPort(addrs)
		if err != nil {
			return nil, err
		}
		statePort = p
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c := &Cluster{cfg: cfg, statePort: statePort, topo: t, hosts: make(map[string]*Host), byName: make(map[string]*VM), cancel: cancel, ctx: runCtx}
	admin, err := cfg.NewClient(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("sandbox: nsdb: %w", err)
	}
	c.admin = admin
	if _, err := admin.Store().Commit(ctx, nsdb.PutAll(t)...); err != nil {
		c.Close()
		return nil, fmt.Errorf("sandbox: loading the topology: %w", err)
	}
	names := cfg.Hosts
	if len(names) == 0 {
		for _, h := range t.Hosts {
			names = append(names, h.Name)
		}
	}
	for _, name := range names {
		var hid topology.ID
		for _, h := range t.Hosts {
			if h.Name == name {
				hid = h.ID
			}
		}
		if hid.IsZero() {
			c.Close()
			return nil, fmt.Errorf("sandbox: no host %q in the topology", name)
		}
		addr := netip.Addr{}
		for _, z := range t.TunnelZones {
			if a, ok := z.MemberAddr(hid); ok {
				addr = a
				break
			}
		}
		if !addr.IsValid() {
			addr = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		h := &Host{Name: name, ID: hid, Underlay: addr}
		h.Datapath = inproc.New(inproc.Config{Name: name, TunnelAddr: addr, Logger: cfg.Logger.With("host", name)})
		c.hosts[name] = h
		c.order = append(c.order, name)
		if err := c.startAgent(ctx, h, nil); err != nil {
			c.Close()
			return nil, err
		}
	}
	for _, name := range c.order {
		if err := c.waitReady(ctx, c.hosts[name]); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// startAgent starts an agent for h. With handover, the agent takes over
// from one still running (agent.Config.Handover): handover gets the new
// agent once it has loaded its state, and must stop the running one.
func (c *Cluster) startAgent(ctx context.Context, h *Host, handover func(ctx context.Context, next *agent.Agent) error) error {
	client, err := c.cfg.NewClient(ctx)
	if err != nil {
		return fmt.Errorf("sandbox: nsdb for %s: %w", h.Name, err)
	}
	acfg := agent.Config{
		Host: h.ID, NSDB: client, Datapath: h.Datapath, DisableGRE: true, VXLANPort: c.cfg.VXLANPort, VTEPPort: c.cfg.VTEPPort,
		Stateful: c.cfg.Stateful,
		Logger:   c.cfg.Logger.With("host", h.Name),
	}
	var store *localstore.Store
	if c.cfg.FlowStateDir != "" && c.cfg.Stateful {
		st, err := localstore.Open(localstore.Config{Dir: filepath.Join(c.cfg.FlowStateDir, h.Name), Logger: acfg.Logger})
		if err != nil {
			client.Close()
			return fmt.Errorf("sandbox: flow-state store of %s: %w", h.Name, err)
		}
		store = st
		acfg.StateStore, acfg.StatePort = st, c.statePort
	}
	var reg *registered
	if c.cfg.Registerer != nil {
		reg = &registered{reg: prometheus.WrapRegistererWith(prometheus.Labels{"host": h.Name}, c.cfg.Registerer)}
		acfg.Registerer = reg
	}
	if c.cfg.Agent != nil {
		c.cfg.Agent(h.Name, &acfg)
	}
	var a *agent.Agent
	if handover != nil {
		acfg.Handover = func(ctx context.Context) error { return handover(ctx, a) }
	}
	a, err = agent.New(acfg)
	if err != nil {
		client.Close()
		if store != nil {
			store.Close()
		}
		return fmt.Errorf("sandbox: agent %s: %w", h.Name, err)
	}
	actx, cancel := context.WithCancel(c.ctx)
	done := make(chan error, 1)
	h.mu.Lock()
	h.agent, h.client, h.store, h.cancel, h.done, h.reg = a, client, store, cancel, done, reg
	h.mu.Unlock()
	go func() { done <- a.Run(actx) }()
	return nil
}

func (c *Cluster) waitReady(ctx context.Context, h *Host) error {
	h.mu.Lock()
	a, done := h.agent, h.done
	h.mu.Unlock()
	select {
	case <-a.Ready():
		return nil
	case err := <-done:
		done <- err
		return fmt.Errorf("sandbox: agent %s stopped: %w", h.Name, err)
	case <-ctx.Done():
		return fmt.Errorf("sandbox: agent %s not ready: %w", h.Name, ctx.Err())
	}
}

// VXLANPort returns the overlay UDP port the hosts use.
func (c *Cluster) VXLANPort() uint16 { return c.cfg.VXLANPort }

// VTEPPort returns the UDP port on which the hosts exchange VXLAN with
// hardware VTEPs.
func (c *Cluster) VTEPPort() uint16 { return c.cfg.VTEPPort }

// Stateful reports whether the agents run with connection tracking and NAT
// (Config.Stateful).
func (c *Cluster) Stateful() bool { return c.cfg.Stateful }

// Commit writes ops to the store and waits until every agent has applied
// the result (its topology updated, the affected flows invalidated).
func (c *Cluster) Commit(ctx context.Context, ops ...nsdb.Op) error {
	rev, err := c.admin.Store().Commit(ctx, ops...)
	if err != nil {
		return err
	}
	return Eventually(ctx, "agents applying the change", func() bool {
		for _, h := range c.Hosts() {
			if h.Agent().AppliedRevision() < rev {
				return false
			}
		}
		return true
	})
}

// Host returns the host named name, or nil.
func (c *Cluster) Host(name string) *Host { return c.hosts[name] }

// Hosts returns the hosts in start order.
func (c *Cluster) Hosts() []*Host {
	out := make([]*Host, 0, len(c.order))
	for _, n := range c.order {
		out = append(out, c.hosts[n])
	}
	return out
}

// Store returns the cluster's own handle on the topology store, for
// topology changes.
func (c *Cluster) Store() nsdb.Store { return c.admin.Store() }

// Client returns the cluster's own NSDB client.
func (c *Cluster) Client() nsdb.Client { return c.admin }

// Topology returns the topology as loaded (underlay addresses mapped).
func (c *Cluster) Topology() *topology.Topology { return c.topo }

// AddPort creates a port in the NSDB (and in the cluster's copy of the
// topology, so that StartVM finds it).
func (c *Cluster) AddPort(ctx context.Context, p topology.Port) error {
	if err := c.Commit(ctx, nsdb.Create(&p)); err != nil {
		return err
	}
	c.mu.Lock()
	c.topo.Ports = append(c.topo.Ports, p)
	c.mu.Unlock()
	return nil
}

// Port returns the port named name: one of the topology the cluster
// started with or added with AddPort, else one written to the NSDB by
// anyone else (a REST API, a controller).
func (c *Cluster) Port(name string) (*topology.Port, bool) {
	c.mu.Lock()
	for i := range c.topo.Ports {
		if c.topo.Ports[i].Name == name {
			c.mu.Unlock()
			return &c.topo.Ports[i], true
		}
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ps, err := c.admin.Store().List(ctx, topology.KindPort)
	if err != nil {
		return nil, false
	}
	for _, v := range ps {
		if p, ok := v.Object.(*topology.Port); ok && p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// HostOf returns the host a port is bound to.
func (c *Cluster) HostOf(port *topology.Port) (*Host, bool) {
	for _, h := range c.hosts {
		if h.ID == port.Host {
			return h, true
		}
	}
	return nil, false
}

// Close stops the agents, the VMs and the datapaths.
func (c *Cluster) Close() {
	for _, n := range c.order {
		_ = c.hosts[n].stopAgent()
	}
	c.cancel()
	for _, n := range c.order {
		c.hosts[n].Datapath.Close()
	}
	c.vms.Wait()
	if c.admin != nil {
		c.admin.Close()
	}
}
