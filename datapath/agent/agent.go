package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/nat"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// Names and UDP port of the overlay tunnel ports (§3.2).
const (
	VXLANPortName = "tnvxlan-overlay"
	GREPortName   = "tngre-overlay"
	// DefaultVXLANPort is the reference's overlay VXLAN UDP port.
	DefaultVXLANPort = 6677
)

// Sentinel errors.
var (
	// ErrConfig: the Config is unusable.
	ErrConfig = errors.New("agent: invalid config")
	// ErrRunning: Run was called twice.
	ErrRunning = errors.New("agent: already running")
)

// Config configures an Agent. Host, NSDB and Datapath are required; every
// other zero value means the documented default.
type Config struct {
	// Host is this agent's host ID (a Host object of the topology).
	Host topology.ID
	// NSDB is the agent's session with the network-state database. The
	// agent does not close it.
	NSDB nsdb.Client
	// Datapath is the datapath the agent programs. It may also implement
	// the optional capabilities of package datapath (FlowBatcher,
	// DispatchKeeper, ...). The agent never flushes its flows.
	Datapath datapath.Datapath
	// Workers is the number of simulation workers, each with its own
	// upcall socket and simulation engine (default 2, the reference's
	// simulation_threads).
	Workers int
	// VXLANPort is the UDP port of the overlay VXLAN tunnel port (default
	// 6677).
	VXLANPort uint16
	// DisableGRE skips creating the GRE overlay port.
	DisableGRE bool
	// Timeouts are the flow, waiting-room, MAC and ARP timers.
	Timeouts Timeouts
	// Tick is the housekeeping interval: flow expiry, MAC and ARP
	// expiry, waiting-room timeouts, ARP retries (default 100 ms).
	Tick time.Duration
	// FlowState provides connection tracking and NAT. Nil means none,
	// unless Stateful is set.
	FlowState FlowState
	// Stateful, when FlowState is nil, gives the agent its own stateful
	// services (NewL4) with the default idle timeout, leasing dynamic SNAT
	// ports through the NSDB client's blocks (nsdb.BlockClaimer).
	Stateful bool
	// Simulation configures the simulation engines.
	Simulation simulation.Config
	// Logger receives the agent's logs; nil discards them.
	Logger *slog.Logger
	// Registerer registers the agent's Prometheus metrics; nil registers
	// nothing (the metrics are still counted).
	Registerer prometheus.Registerer
	// Now returns the current time (default time.Now). Flow and state
	// timers read it; the housekeeping ticker runs on real time.
	Now func() time.Time
	// Rand returns random numbers for tunnel keys and simulations
	// (default math/rand/v2).
	Rand func() uint64
}




// Agent is one host's agent: it binds the host's virtual ports to
// datapath ports, simulates the packets the datapath sends up, installs
// the resulting megaflows and keeps them valid. See the package
// documentation.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	host    topology.ID
	db      nsdb.Client
	dp      datapath.Datapath
	now     func() time.Time
	rand    func() uint64
	timeout Timeouts
	m       *metrics
	fs      FlowState
	ownFS   *L4

	world  atomic.Pointer[world]
	active activeMap
	flows  *flowTable
	macs   *macLearner
	arp    *arpBroker
	writes *writer

	// bindMu guards the bindings and their announcements.
	bindMu   sync.Mutex
	bindings map[topology.ID]*binding
	// tableWatch stops the watchers of the tables of the current world.
	tableMu     sync.Mutex
	tableCancel map[any]context.CancelFunc

	traceMu  sync.Mutex
	traceEng *simulation.Engine
	traceFS  FlowStateWorker

	workers  []*worker
	retrier  *worker
	resubmit chan *parked
	pids     []uint32
	// onePID is set once the datapath refused several upcall PIDs for
	// one port (Linux before the vport PID array fix, 6.1 among them):
	// VM ports then get one worker's socket each, round-robin (nextPID).
	onePID  atomic.Bool
	nextPID atomic.Uint32
	// ticks counts housekeeping ticks (KeepVportDispatch every second).
	ticks   uint64
	ready   chan struct{}
	running atomic.Bool
	// applied is the highest store revision whose changes are applied and
	// whose flows are invalidated.
	applied   atomic.Uint64
	installed atomic.Uint64
	// recovered and recovKey are tunnel keys from before a restart, by
	// port (from the previous session's active values) and by datapath
	// port (from the tunnelled-in flows left in the datapath).
	recovered map[topology.ID]uint32
	recovKey  map[datapath.PortNumber]uint32
	// dumped are the flows found in the datapath at start.
	dumped []datapath.Flow
}

// binding is a local port binding.
type binding struct {
	port  topology.ID
	ifc   string
	dp    datapath.PortNumber
	key   uint32
	state string // the announced active value
}

// New returns an agent for cfg. It does nothing until Run.
func New(cfg Config) (*Agent, error) {
	if cfg.Host.IsZero() || cfg.NSDB == nil || cfg.Datapath == nil {
		return nil, fmt.Errorf("%w: Host, NSDB and Datapath are required", ErrConfig)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.VXLANPort == 0 {
		cfg.VXLANPort = DefaultVXLANPort
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	a := &Agent{
		cfg:         cfg,
		log:         cfg.Logger,
		host:        cfg.Host,
		db:          cfg.NSDB,
		dp:          cfg.Datapath,
		now:         cfg.Now,
		rand:        cfg.Rand,
		timeout:     cfg.Timeouts.withDefaults(),
		bindings:    make(map[topology.ID]*binding),
		tableCancel: make(map[any]context.CancelFunc),
		recovered:   make(map[topology.ID]uint32),
		recovKey:    make(map[datapath.PortNumber]uint32),
		resubmit:    make(chan *parked, 1024),
		ready:       make(chan struct{}),
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.rand == nil {
		a.rand = rand.Uint64
	}
	a.active.m = make(map[topology.ID]nsdb.PortState)
	a.fs = cfg.FlowState
	if a.fs == nil && cfg.Stateful {
		lc := L4Config{Now: a.now, Logger: a.log}
		if bc, ok := cfg.NSDB.(nsdb.BlockClaimer); ok {
			lc.Blocks = bc.Blocks()
		} else {
			a.log.Warn("the NSDB client offers no blocks: dynamic SNAT will drop")
		}
		a.ownFS = NewL4(lc)
		a.fs = a.ownFS
	}
	a.flows = newFlowTable(a.timeout)
	m, err := newMetrics(cfg.Registerer, a.queueDepth, a.queueBytes, func() float64 { return float64(a.flows.len()) })
	if err != nil {
		return nil, fmt.Errorf("%w: metrics: %w", ErrConfig, err)
	}
	a.m = m
	a.writes = newWriter(1<<16, func() { a.m.writesDropped.Inc() })
	a.macs = &macLearner{
		refs: make(map[simulation.MACLearning]*macRef), now: a.now, expiry: a.timeout.MACExpiry,
		tables: func(k bridgeVLAN) (macTable, bool) { t, ok := a.world.Load().macs[k]; return t, ok },
		w:      a.writes, log: a.log.Warn,
	}
	a.arp = &arpBroker{loops: make(map[arpTarget]*arpLoop), own: make(map[arpTarget]nsdb.ARPEntry), t: &a.timeout, now: a.now}
	a.world.Store(emptyWorld())
	return a, nil
}

// Ready is closed once Run has set the datapath up, bound the local ports,
// reconciled the flows and started processing packets.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// Run runs the agent until ctx ends or a fatal error occurs. On return the
// datapath keeps its ports and flows, so that a restarted agent carries on
// without disturbing traffic; the agent's ephemeral NSDB state is removed
// when the caller closes its client.
func (a *Agent) Run(ctx context.Context) error {
	if !a.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	defer a.closeTables()
	if a.ownFS != nil {
		defer a.ownFS.Close()
		if l := a.ownFS.leaser; l != nil {
			// After a session expiry the store has freed this agent's NAT
			// blocks; stop allocating from them.
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = nat.FollowSession(ctx, a.db, l)
			}()
		}
	}

	if err := a.setupDatapath(ctx); err != nil {
		return err
	}
	defer a.closeWorkers()
	watch, err := a.db.Store().WatchKinds(ctx)
	if err != nil {
		return fmt.Errorf("agent: topology watch: %w", err)
	}
	defer watch.Close()
	first, err := watch.Next(ctx)
	if err != nil {
		return fmt.Errorf("agent: topology watch: %w", err)
	}
	activeW, err := a.db.StateKeys().WatchAll(ctx, nsdb.KeyPortActive())
	if err != nil {
		return fmt.Errorf("agent: port state watch: %w", err)
	}
	defer activeW.Close()
	evs, err := activeW.Next(ctx)
	if err != nil {
		return fmt.Errorf("agent: port state watch: %w", err)
	}
	if err := a.dumpFlows(ctx); err != nil {
		return fmt.Errorf("agent: dump datapath flows: %w", err)
	}
	a.recoverKeys(ctx, evs)
	a.applyActive(ctx, evs)
	if err := a.applyTopology(ctx, first, true); err != nil {
		return err
	}
	a.reconcile(ctx)

	errc := make(chan error, 4)
	goFn := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	goFn(func() { a.writes.run(ctx) })
	goFn(func() {
		if err := a.sessionLoop(ctx); err != nil && ctx.Err() == nil {
			errc <- err
		}
	})
	for _, w := range a.workers {
		goFn(func() { w.run(ctx) })
	}
	goFn(func() { a.retrier.retry(ctx) })
	goFn(func() { a.housekeeping(ctx) })
	goFn(func() { a.watchDispatch(ctx) })
	goFn(func() {
		for {
			evs, err := activeW.Next(ctx)
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, nsdb.ErrClosed) {
					errc <- fmt.Errorf("agent: port state watch: %w", err)
				}
				return
			}
			a.applyActive(ctx, evs)
		}
	})
	goFn(func() {
		for {
			evs, err := watch.Next(ctx)
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, nsdb.ErrClosed) {
					errc <- fmt.Errorf("agent: topology watch: %w", err)
				}
				return
			}
			if err := a.applyTopology(ctx, evs, false); err != nil {
				if ctx.Err() == nil {
					errc <- err
				}
				return
			}
		}
	})
	close(a.ready)
	a.log.Info("agent running", "host", a.host, "workers", len(a.workers), "ports", len(a.world.Load().local))
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

// setupDatapath makes the overlay tunnel ports, opens one upcall socket
// per worker and points every existing port at them. It never flushes the
// datapath's flows.
func (a *Agent) setupDatapath(ctx context.Context) error {
	for i := range a.cfg.Workers {
		s, err := a.dp.OpenUpcalls()
		if err != nil {
			a.closeWorkers()
			return fmt.Errorf("agent: upcall socket: %w", err)
		}
		a.pids = append(a.pids, s.PID())
		a.workers = append(a.workers, newWorker(a, i, s))
	}
	a.retrier = newWorker(a, -1, nil)
	ports, err := a.dp.Ports(ctx)
	if err != nil {
		return fmt.Errorf("agent: list datapath ports: %w", err)
	}
	byName := make(map[string]datapath.Port, len(ports))
	for _, p := range ports {
		byName[p.Name] = p
	}
	w := emptyWorld()
	// Packets from the overlay all go to the first worker, in order: a
	// flow-state message is imported before the packets that follow it
	// (§4.6: "same fixed headers => same receiving worker").
	tunnelPIDs := a.pids[:1]
	ensure := func(spec datapath.PortSpec) (datapath.PortNumber, error) {
		if p, ok := byName[spec.Name]; ok && p.Type == spec.Type {
			return p.Number, nil
		}
		spec.UpcallPIDs = tunnelPIDs
		p, err := a.dp.CreatePort(ctx, spec)
		if err != nil {
			return 0, err
		}
		byName[p.Name] = p
		return p.Number, nil
	}
	n, err := ensure(datapath.PortSpec{Name: VXLANPortName, Type: datapath.PortVXLAN, DstPort: a.cfg.VXLANPort})
	if err != nil {
		return fmt.Errorf("agent: overlay VXLAN port: %w", err)
	}
	w.vxlan = n
	if !a.cfg.DisableGRE {
		n, err := ensure(datapath.PortSpec{Name: GREPortName, Type: datapath.PortGRE})
		if err == nil {
			w.gre, w.hasGRE = n, true
		} else {
			// GRE is optional (no gre module, or the in-process datapath).
			a.log.Info("no GRE overlay port: GRE tunnel zones unusable", "err", err)
		}
	}
	for _, p := range byName {
		if p.Number == datapath.LocalPort {
			continue
		}
		pids := a.portPIDs()
		if p.Number == w.vxlan || (w.hasGRE && p.Number == w.gre) {
			pids = tunnelPIDs
		}
		err := a.dp.SetPortUpcallPIDs(ctx, p.Number, pids)
		if err != nil && len(pids) > 1 && (errors.Is(err, datapath.ErrNotSupported) || errors.Is(err, datapath.ErrInvalid)) {
			a.singlePIDs(err)
			pids = a.portPIDs()
			err = a.dp.SetPortUpcallPIDs(ctx, p.Number, pids)
		}
		if err != nil {
			return fmt.Errorf("agent: upcall PIDs of port %s: %w", p.Name, err)
		}
	}
	a.world.Store(w)
	return nil
}

// portPIDs returns the upcall PIDs for a VM port: every worker's socket,
// or one of them once the datapath takes one PID per port.
func (a *Agent) portPIDs() []uint32 {
	if len(a.pids) <= 1 || !a.onePID.Load() {
		return a.pids
	}
	i := int(a.nextPID.Add(1)-1) % len(a.pids)
	return a.pids[i : i+1]
}

// singlePIDs records that the datapath refused several upcall PIDs for
// one port.
func (a *Agent) singlePIDs(err error) {
	if !a.onePID.Swap(true) {
		a.log.Info("the datapath takes one upcall PID per port: VM ports are spread over the workers", "err", err)
	}
}

// createVMPort creates the datapath port of a VM port's interface, with
// the upcall PIDs of portPIDs (falling back to one PID when the datapath
// refuses several).
func (a *Agent) createVMPort(ctx context.Context, ifc string) (datapath.Port, error) {
	pids := a.portPIDs()
	p, err := a.dp.CreatePort(ctx, datapath.PortSpec{Name: ifc, Type: datapath.PortNetdev, UpcallPIDs: pids})
	if err != nil && len(pids) > 1 && errors.Is(err, datapath.ErrNotSupported) {
		a.singlePIDs(err)
		p, err = a.dp.CreatePort(ctx, datapath.PortSpec{Name: ifc, Type: datapath.PortNetdev, UpcallPIDs: a.portPIDs()})
	}
	return p, err
}

func (a *Agent) closeWorkers() {
	for _, w := range a.workers {
		if w.sock != nil {
			w.sock.Close()
		}
	}
}

// sessionLoop registers the host as alive and announces its ports on every
// NSDB session, re-registering after each expiry along with the MAC and
// ARP entries the agent holds.
func (a *Agent) sessionLoop(ctx context.Context) error {
	first := true
	for {
		s, err := a.db.Session(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("agent: nsdb session: %w", err)
		}
		if err := a.db.StateKeys().Set(ctx, nsdb.KeyHostAlive(), a.host, "alive"); err != nil && ctx.Err() == nil {
			a.log.Warn("cannot register host liveness", "err", err)
		}
		a.bindMu.Lock()
		for _, b := range a.bindings {
			a.announce(ctx, b)
		}
		a.bindMu.Unlock()
		if !first {
			a.log.Info("nsdb session renewed: state re-registered", "host", a.host)
			a.macs.rewrite()
			w := a.world.Load()
			for t, e := range a.arp.ownEntries() {
				if tb, ok := w.arp[t.router]; ok {
					a.writes.do(func(ctx context.Context) { _ = tb.Add(ctx, t.ip, e) })
				}
			}
		}
		first = false
		select {
		case <-s.Done():
		case <-ctx.Done():
			return nil
		}
	}
}

// announce writes b's active state. Caller holds bindMu.
func (a *Agent) announce(ctx context.Context, b *binding) {
	b.state = nsdb.PortState{Host: a.host, TunnelKey: b.key}.String()
	if err := a.db.StateKeys().Set(ctx, nsdb.KeyPortActive(), b.port, b.state); err != nil && ctx.Err() == nil {
		a.log.Warn("cannot announce port active", "port", b.port, "err", err)
	}
}

// housekeeping runs the timers.
func (a *Agent) housekeeping(ctx context.Context) {
	t := time.NewTicker(a.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.tick(ctx)
	}
}

// keepDispatch restores the datapath's per-port upcall dispatch if another
// program changed it (see datapath.DispatchKeeper).
func (a *Agent) keepDispatch(ctx context.Context) {
	k, ok := a.dp.(datapath.DispatchKeeper)
	if !ok {
		return
	}
	if restored, err := k.KeepVportDispatch(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("cannot check the datapath's upcall dispatch", "err", err)
	} else if restored {
		a.log.Warn("another program switched the datapath's upcall dispatch (ovs-dpctl?): restored per-port upcalls")
	}
}

// watchDispatch restores the dispatch as soon as the datapath reports a
// change, until ctx is done; without notifications the periodic check in
// tick is all there is.
func (a *Agent) watchDispatch(ctx context.Context) {
	w, ok := a.dp.(datapath.DispatchWatcher)
	if !ok {
		return
	}
	ch, err := w.WatchChanges(ctx)
	if err != nil {
		a.log.Info("no datapath change notifications: upcall dispatch checked every second", "err", err)
		return
	}
	for range ch {
		a.keepDispatch(ctx)
	}
}

func (a *Agent) tick(ctx context.Context) {
	a.ticks++
	every := max(1, uint64(time.Second/a.cfg.Tick))
	if (a.ticks-1)%every == 0 {
		a.keepDispatch(ctx)
	}
	now := a.now()
	if gone := a.flows.expire(now, nil); len(gone) > 0 {
		a.deleteFlows(ctx, gone, a.m.removedExpire)
	}
	a.macs.sweep()
	w := a.world.Load()
	for t, e := range a.arp.expiredOwn() {
		if tb, ok := w.arp[t.router]; ok {
			a.writes.do(func(ctx context.Context) { _ = tb.Remove(ctx, t.ip, e) })
		}
	}
	expired, resend := a.arp.tick()
	for _, p := range expired {
		a.m.drop(dropWaitTimeout)
		e := &flowEntry{seen: p.seen, class: ClassShort}
		a.install(ctx, e, &p.key, a.flows.begin(), now, nil)
	}
	for t, port := range resend {
		a.sendARPRequest(w, t, port)
	}
	if a.fs != nil {
		a.invalidate(ctx, a.fs.Expire(now)...)
	}
}

// parkState makes p wait for stateful services' missing state (a NAT
// port block): simulated again when it is ready, dropped if it fails or
// takes longer than the waiting room allows.
func (a *Agent) parkState(wait Wait, p *parked) {
	go func() {
		t := time.NewTimer(a.timeout.WaitingRoom)
		defer t.Stop()
		select {
		case <-wait.Ready():
			if wait.Err() == nil {
				a.requeue(p)
				return
			}
		case <-t.C:
		}
		a.m.drop(dropWaitTimeout)
	}()
}

// install registers e and puts it into the datapath for the packets of
// key (an upcall's key); it reports whether the flow is installed. f, if
// not nil, is scratch space for the datapath request (workers pass theirs,
// so that installing does not allocate it).
func (a *Agent) install(ctx context.Context, e *flowEntry, key *datapath.FlowKey, since uint64, now time.Time, f *datapath.Flow) bool {
	e.ufid = a.flows.ufid(key)
	if !a.flows.add(e, since, now) {
		a.macs.touch(e.learned)
		if e.state != nil {
			e.state.Release()
		}
		return false
	}
	a.macs.ref(e.learned)
	if f == nil {
		f = new(datapath.Flow)
	}
	*f = datapath.Flow{UFID: e.ufid, Match: datapath.Match{Key: *key, Mask: e.mask(key)}, Actions: e.actions}
	err := a.dp.PutFlow(ctx, f, datapath.PutCreate)
	f.Actions = nil
	if err != nil {
		if a.flows.drop(e) {
			a.release(e)
		}
		if !errors.Is(err, datapath.ErrExists) {
			a.log.Debug("flow install failed", "key", key.String(), "err", err)
		}
		return false
	}
	a.m.installedBy[e.class].Inc()
	a.installed.Add(1)
	return true
}

// release drops what a removed flow held.
func (a *Agent) release(e *flowEntry) {
	a.macs.unref(e.learned)
	if e.state != nil {
		e.state.Release()
		e.state = nil
	}
}

// deleteFlows removes entries (already unindexed) from the datapath.
func (a *Agent) deleteFlows(ctx context.Context, es []*flowEntry, counter prometheus.Counter) {
	// One Flow for the batch: it escapes to the datapath, and is large.
	f := new(datapath.Flow)
	for _, e := range es {
		*f = datapath.Flow{UFID: e.ufid}
		if _, err := a.dp.DeleteFlow(ctx, f); err != nil && !errors.Is(err, datapath.ErrNotFound) {
			a.log.Debug("flow delete failed", "ufid", e.ufid, "err", err)
		}
		a.release(e)
		counter.Inc()
	}
}

// invalidate removes every flow carrying one of tags.
func (a *Agent) invalidate(ctx context.Context, tags ...simulation.Tag) {
	if len(tags) == 0 {
		return
	}
	a.m.invalidations.Add(float64(len(tags)))
	gone := a.flows.invalidate(nil, tags...)
	if len(gone) > 0 {
		a.log.Debug("flows invalidated", "tags", len(tags), "flows", len(gone))
		a.deleteFlows(ctx, gone, a.m.removedInval)
	}
}

// Invalidate removes every installed flow carrying one of tags, as the
// agent does when the state they depend on changes.
func (a *Agent) Invalidate(ctx context.Context, tags ...simulation.Tag) { a.invalidate(ctx, tags...) }


// queueBytes sums QueuedBytes over the workers' sockets that report it.
func (a *Agent) queueBytes() float64 {
	n := 0
	for _, w := range a.workers {
		if q, ok := w.sock.(datapath.QueuedByteCounter); ok {
			if b, err := q.QueuedBytes(); err == nil {
				n += b
			}
		}
	}
	return float64(n)
}


// queueDepth is the number of upcalls waiting in the sockets that tell,
// plus the packets the waiting room handed back and no worker took yet.
func (a *Agent) queueDepth() float64 {
	n := len(a.resubmit)
	for _, w := range a.workers {
		if p, ok := w.sock.(datapath.PendingCounter); ok {
			n += p.Pending()
		}
	}
	return float64(n)
}

// FlowInfo describes a flow the agent installed.
type FlowInfo struct {
	UFID datapath.UFID
	// Key and Mask are the flow's match as the datapath reports it.
	Key, Mask datapath.FlowKey
	Actions   datapath.Actions
	Tags      []simulation.Tag
	Class     FlowClass
	// Expires is when the flow's hard timeout removes it.
	Expires time.Time
}

// Flows returns the flows the agent installed and still tracks, with their
// match read from the datapath (flows the datapath no longer has are
// left out).
func (a *Agent) Flows(ctx context.Context) []FlowInfo {
	es := a.flows.all()
	out := make([]FlowInfo, 0, len(es))
	for _, e := range es {
		f, err := a.dp.GetFlow(ctx, &datapath.Flow{UFID: e.ufid})
		if err != nil {
			continue
		}
		out = append(out, FlowInfo{UFID: e.ufid, Key: f.Match.Key, Mask: f.Match.Mask, Actions: e.actions,
			Tags: e.tags, Class: e.class, Expires: e.deadline})
	}
	return out
}

// Installed returns the number of flows the agent has installed since it
// started (expired and invalidated ones included).
func (a *Agent) Installed() uint64 { return a.installed.Load() }

// LocalPort returns the datapath port a virtual port is bound to on this
// host.
func (a *Agent) LocalPort(port topology.ID) (datapath.PortNumber, bool) {
	n, ok := a.world.Load().local[port]
	return n, ok
}

// TunnelKey returns the tunnel key this host announced for a local port.
func (a *Agent) TunnelKey(port topology.ID) (uint32, bool) {
	k, ok := a.world.Load().keys[port]
	return k, ok
}

// Snapshot returns the topology the agent currently simulates on.
func (a *Agent) Snapshot() *topology.Snapshot { return a.world.Load().snap }

// Trace simulates frame entering port on the agent's current topology and
// state, with tracing, and returns the trace. Nothing is installed,
// executed or written (the stateful services' transaction is aborted).
func (a *Agent) Trace(port topology.ID, frame []byte) (*simulation.Trace, error) {
	a.traceMu.Lock()
	defer a.traceMu.Unlock()
	if a.traceEng == nil {
		a.traceEng = simulation.New(a.cfg.Simulation)
	}
	v := view{w: a.world.Load(), active: &a.active, self: a.host}
	var r simulation.Result
	in := simulation.Input{Snapshot: v.w.snap, State: &v, InPort: port, Frame: frame, Now: a.now(), Trace: true}
	if a.fs != nil {
		if a.traceFS == nil {
			a.traceFS = a.fs.NewWorker()
		}
		in.Stateful = a.traceFS.Begin(in.Now)
		defer a.traceFS.Abort()
	}
	if err := a.traceEng.Simulate(&in, &r); err != nil {
		return r.Trace, err
	}
	return r.Trace, nil
}

// AppliedRevision returns the highest NSDB store revision the agent has
// applied: its changes are in the topology the agent simulates on, and
// the flows they affect are invalidated. Tests wait on it after a Commit.
func (a *Agent) AppliedRevision() nsdb.Version { return nsdb.Version(a.applied.Load()) }

// Waiting returns the number of packets parked for missing state.
func (a *Agent) Waiting() int { return a.arp.waiting() }
