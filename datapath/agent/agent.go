package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/flowstate/transfer"
	"github.com/hivenet/hivenet/nat"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

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
	health  *memberHealth // the health monitors' verdicts (lbstatus.go)
	// savers save flow-state messages to Config.StateStore and
	// SharedStateStore; fetcher asks ports' previous hosts for theirs.
	savers  []*stateSaver
	fetcher *transfer.Client
	// keys authenticate flow state; ownKeys says the agent reads them
	// from the NSDB itself.
	keys    *auth.Keyring
	ownKeys bool

	world  atomic.Pointer[world]
	active activeMap
	vteps  vtepAddrs
	flows  *flowTable
	macs   *macLearner
	arp    *arpBroker
	writes *writer

	// bindMu guards the bindings and their announcements.
	bindMu   sync.Mutex
	bindings map[topology.ID]*binding
	// tableWatch stops the watchers of the tables of the current world.
	tableMu     sync.Mutex
	tableCancel map[any]func() // stops a table's watch
	// feeds serves the table watches (tablefeed.go); ended is a context
	// that has ended, for taking ready batches without waiting.
	feeds feedQueue
	ended context.Context

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
	ticks uint64
	// expired is housekeeping's buffer of the flows expired in a chunk,
	// expiredIDs of their UFIDs.
	expired    []*flowEntry
	expiredIDs []datapath.UFID
	// idle is housekeeping's record of the devices whose tables, opened
	// on demand, are not in use (tableidle.go).
	idle    tableIdle
	ready   chan struct{}
	running atomic.Bool
	// sessionUp is true while the agent holds a live NSDB session.
	sessionUp atomic.Bool
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
	// tunnelMTU is the current tunnel MTU (0 until computed); underlay
	// the tunnel-zone address it was discovered for (topology goroutine
	// only).
	tunnelMTU atomic.Uint32
	underlay  netip.Addr

	// tables holds the packets waiting for state tables to open
	// (tabledemand.go).
	tables tableRoom
	// worldMu serialises the writers of world: topology changes,
	// tables opened on demand and learned routes (bgproutes.go); bgp runs the BGP speakers of the
	// local uplink ports (bgpports.go).
	worldMu sync.Mutex
	// adopt: the topology watch shares the store's objects
	// (nsdb.SharedWatcher), which snapshots adopt instead of copying.
	adopt    bool
	learned  learnedState
	bgp      bgpPorts
	bgpm     *bgpMetrics
	bgpLinks bgpLinksPtr
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
	if cfg.VTEPPort == 0 {
		cfg.VTEPPort = DefaultVTEPPort
	}
	if cfg.TunnelOverhead <= 0 {
		cfg.TunnelOverhead = DefaultTunnelOverhead
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	cfg.BGP = cfg.BGP.withDefaults()
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
		tableCancel: make(map[any]func()),
		recovered:   make(map[topology.ID]uint32),
		recovKey:    make(map[datapath.PortNumber]uint32),
		resubmit:    make(chan *parked, 1024),
		ready:       make(chan struct{}),
	}
	ended, end := context.WithCancel(context.Background())
	end()
	a.ended = ended
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
	a.active.prev = make(map[topology.ID]topology.ID)
	a.health = newMemberHealth()
	a.vteps.byVTEP, a.vteps.byAddr = make(map[topology.ID]netip.Addr), make(map[netip.Addr]topology.ID)
	a.fs = cfg.FlowState
	if a.fs == nil && cfg.Stateful {
		lc := L4Config{Now: a.now, Health: a.health, Logger: a.log}
		if bc, ok := cfg.NSDB.(nsdb.BlockClaimer); ok {
			lc.Blocks = bc.Blocks()
		} else {
			a.log.Warn("the NSDB client offers no blocks: dynamic SNAT will drop")
		}
		a.ownFS = NewL4(lc)
		a.fs = a.ownFS
	}
	a.flows = newFlowTable(a.timeout)
	m, err := newMetrics(cfg.Registerer, a.queueDepth, a.queueBytes, func() float64 { return float64(a.flows.len()) },
		func() float64 { return float64(a.TunnelMTU()) })
	if err != nil {
		return nil, fmt.Errorf("%w: metrics: %w", ErrConfig, err)
	}
	a.m = m
	if err := registerApplied(cfg.Registerer, func() float64 { return float64(a.applied.Load()) }); err != nil {
		return nil, fmt.Errorf("%w: metrics: %w", ErrConfig, err)
	}
	if err := registerTablesOpen(cfg.Registerer, a.tablesOpen); err != nil {
		return nil, fmt.Errorf("%w: metrics: %w", ErrConfig, err)
	}
	if a.bgpm, err = newBGPMetrics(cfg.Registerer); err != nil {
		return nil, fmt.Errorf("%w: metrics: %w", ErrConfig, err)
	}
	a.writes = newWriter(1<<16, func() { a.m.writesDropped.Inc() })
	if a.fs != nil {
		if cfg.StateStore != nil {
			a.savers = append(a.savers, newStateSaver(sourceLocal, cfg.StateStore, a.m, a.log))
		}
		if cfg.SharedStateStore != nil {
			a.savers = append(a.savers, newStateSaver(sourceShared, cfg.SharedStateStore, a.m, a.log))
		}
		a.keys = cfg.FlowStateKeys
		if a.keys == nil {
			a.keys, a.ownKeys = auth.NewKeyring(auth.KeySet{}), true
		}
		a.fetcher = &transfer.Client{Keys: a.keys, Now: a.now}
	}
	a.macs = &macLearner{
		refs: make(map[simulation.MACLearning]*macRef), now: a.now, expiry: a.timeout.MACExpiry,
		tables: func(k bridgeVLAN) (macTable, bool) { t, ok := a.world.Load().macs[k]; return t, ok },
		w:      a.writes, log: a.log.Warn,
	}
	a.arp = &arpBroker{loops: make(map[arpTarget]*arpLoop), own: make(map[arpTarget]nsdb.ARPEntry), t: &a.timeout, now: a.now}
	a.world.Store(emptyWorld())
	a.tables.kick = make(chan struct{}, 1)
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

	// The NSDB first: reading it does not touch the datapath, so an agent
	// taking over does it while the running one still forwards.
	start := time.Now()
	if err := a.loadKeys(ctx, &wg); err != nil {
		return err
	}
	var watch nsdb.Watch[nsdb.Event]
	var err error
	if sw, ok := a.db.Store().(nsdb.SharedWatcher); ok {
		// The snapshot adopts the store's objects (applyTopology):
		// one copy of the deployment in the process, not two.
		watch, err = sw.WatchKindsShared(ctx)
		a.adopt = true
	} else {
		watch, err = a.db.Store().WatchKinds(ctx)
	}
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
	vtepW, err := a.db.StateKeys().WatchAll(ctx, nsdb.KeyVTEPConfig())
	if err != nil {
		return fmt.Errorf("agent: VTEP config watch: %w", err)
	}
	defer vtepW.Close()
	vevs, err := vtepW.Next(ctx)
	if err != nil {
		return fmt.Errorf("agent: VTEP config watch: %w", err)
	}
	healthW, err := a.db.StateKeys().WatchAll(ctx, nsdb.KeyPoolMemberStatus())
	if err != nil {
		return fmt.Errorf("agent: pool member status watch: %w", err)
	}
	defer healthW.Close()
	hevs, err := healthW.Next(ctx)
	if err != nil {
		return fmt.Errorf("agent: pool member status watch: %w", err)
	}
	a.health.apply(hevs)
	read := time.Now()
	if a.cfg.Handover != nil {
		// Taking over from a running agent: load the state while it
		// still forwards, then let it stop.
		a.preload(ctx, first)
		a.preannounce(ctx, evs)
		if err := a.cfg.Handover(ctx); err != nil {
			return fmt.Errorf("agent: handover: %w", err)
		}
		a.log.Info("the previous agent has stopped: taking over", a.hostAttr())
		start, read = time.Now(), time.Now()
	}
	if err := a.setupDatapath(ctx); err != nil {
		return err
	}
	defer a.closeWorkers()
	a.applyVTEPConfig(ctx, vevs)
	if err := a.dumpFlows(ctx); err != nil {
		return fmt.Errorf("agent: dump datapath flows: %w", err)
	}
	dp := time.Now()
	a.recoverKeys(ctx, evs)
	a.applyActive(ctx, evs)
	if err := a.applyTopology(ctx, first, true); err != nil {
		return err
	}
	bound := time.Now()
	a.reconcile(ctx)
	reconciled := time.Now()

	errc := make(chan error, 6)
	goFn := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	goFn(func() { a.writes.run(ctx) })
	for _, s := range a.savers {
		n := 1
		if s.name == sourceShared {
			n = 4 // a network round trip per message
		}
		goFn(func() { s.run(ctx, n) })
	}
	a.serveState(ctx, &wg)
	goFn(func() {
		if err := a.sessionLoop(ctx); err != nil && ctx.Err() == nil {
			errc <- err
		}
	})
	for _, w := range a.workers {
		goFn(func() { w.run(ctx) })
	}
	goFn(func() { a.retrier.retry(ctx) })
	goFn(func() { a.openDemanded(ctx) })
	goFn(func() { a.housekeeping(ctx) })
	goFn(func() { a.watchDispatch(ctx) })
	goFn(func() {
		if err := a.followLearnedRoutes(ctx); err != nil {
			errc <- err
		}
	})
	goFn(func() { a.runBGP(ctx) })
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
			evs, err := vtepW.Next(ctx)
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, nsdb.ErrClosed) {
					errc <- fmt.Errorf("agent: VTEP config watch: %w", err)
				}
				return
			}
			a.applyVTEPConfig(ctx, evs)
		}
	})
	goFn(func() {
		for {
			evs, err := healthW.Next(ctx)
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, nsdb.ErrClosed) {
					errc <- fmt.Errorf("agent: pool member status watch: %w", err)
				}
				return
			}
			a.applyMemberStatus(ctx, evs)
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
	a.log.Info("agent running", a.hostAttr(), "workers", len(a.workers), "ports", len(a.world.Load().local),
		"took", time.Since(start).Round(time.Millisecond), "nsdb-read", read.Sub(start).Round(time.Millisecond),
		"datapath", dp.Sub(read).Round(time.Millisecond), "bind-and-restore", bound.Sub(dp).Round(time.Millisecond),
		"reconcile", reconciled.Sub(bound).Round(time.Millisecond))
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

func (a *Agent) closeWorkers() {
	for _, w := range a.workers {
		if w.sock != nil {
			w.sock.Close()
		}
	}
}
