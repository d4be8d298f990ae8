package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Errors of this package; test them with errors.Is.
var (
	// ErrPermanent, wrapped by a service's error, says that restarting it
	// would not help: the node marks it failed (a leader-placed service
	// resigns its election, a per-entity instance gives its entity up) and
	// does not restart it.
	ErrPermanent = errors.New("cluster: permanent failure")
	// ErrConfig is wrapped by New's and Add's errors for invalid input.
	ErrConfig = errors.New("cluster: invalid configuration")
	// ErrRunning is returned by Add after Run started and by a second Run.
	ErrRunning = errors.New("cluster: node already running")
)

// Clock is the time source of a node: restart backoff waits on After and
// status times read Now.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Backoff is the delay before restarting a failed service: Initial after
// the first failure, doubling with each consecutive failure up to Max. A
// run that lasted at least Max before failing resets it.
type Backoff struct {
	// Initial is the first delay; 100 ms if zero.
	Initial time.Duration
	// Max caps the delay; 30 s if zero (at least Initial).
	Max time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = 100 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	b.Max = max(b.Max, b.Initial)
	return b
}

// delay returns the delay after the n-th consecutive failure (n >= 1).
func (b Backoff) delay(n int) time.Duration {
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Config configures a Node.
type Config struct {
	// Name names the node in logs and status; required, and unique in the
	// cluster: it must satisfy nsdb.ValidName. The node's ID is
	// NodeID(Name).
	Name string
	// NSDB is the node's client; required. Its session is the node's:
	// everything the node holds (leaderships, entity ownerships, its
	// status) ends with it. The node does not close it.
	NSDB nsdb.Client
	// Logger receives the node's logs; nil discards them.
	Logger *slog.Logger
	// Registerer registers the per-service metrics (hivenet_cluster_*);
	// nil registers nothing.
	Registerer prometheus.Registerer
	// Backoff paces restarts of failed services; the zero value means
	// 100 ms doubling up to 30 s.
	Backoff Backoff
	// Clock is the time source; nil means real time.
	Clock Clock
}

// Node is a cluster node: it runs its services with their placements and
// publishes its status. Add services, then Run.
type Node struct {
	cfg     Config
	id      topology.ID
	log     *slog.Logger
	clock   Clock
	backoff Backoff
	m       *metrics
	started time.Time

	changed chan struct{} // signals the status publisher; capacity 1

	mu      sync.Mutex
	running bool
	units   []*unit // sorted by name
}

// unit is one service of the node and its status (guarded by Node.mu).
type unit struct {
	name  string
	place Placement
	svc   Service       // EveryNode, Leader
	esvc  EntityService // PerEntity
	key   nsdb.KeySpec  // PerEntity: the ownership key

	st       ServiceStatus
	entities map[topology.ID]bool
}

// New returns a node with no services.
func New(cfg Config) (*Node, error) {
	if !nsdb.ValidName(cfg.Name) {
		return nil, fmt.Errorf("%w: node name %q (letters, digits, '-', '_', '.')", ErrConfig, cfg.Name)
	}
	if cfg.NSDB == nil {
		return nil, fmt.Errorf("%w: no NSDB client", ErrConfig)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	clock := cfg.Clock
	if clock == nil {
		clock = realClock{}
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Node{
		cfg:     cfg,
		id:      NodeID(cfg.Name),
		log:     log.With("node", cfg.Name),
		clock:   clock,
		backoff: cfg.Backoff.withDefaults(),
		m:       m,
		changed: make(chan struct{}, 1),
	}, nil
}

// ID returns the node's ID, NodeID(name).
func (n *Node) ID() topology.ID { return n.id }

// Name returns the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Add adds a service placed on EveryNode or as Leader. Services are added
// before Run; names must be unique on the node.
func (n *Node) Add(svc Service, p Placement) error {
	if svc == nil || (p != EveryNode && p != Leader) {
		return fmt.Errorf("%w: Add takes a service placed on %s or %s (AddPerEntity for %s)", ErrConfig, EveryNode, Leader, PerEntity)
	}
	return n.add(&unit{name: svc.Name(), place: p, svc: svc})
}

// AddPerEntity adds a service with one instance per entity: every object of
// owner.Kind in the store is an entity, and the node that first writes the
// entity's owner key (which must be nsdb.KeyFirstWriteWins, like
// nsdb.KeyVTEPManager) runs svc.RunEntity for it, until the entity is
// deleted or the owner's session ends, when another node takes it over. A
// node takes every entity it can: the first node up owns them all until it
// goes away.
func (n *Node) AddPerEntity(svc EntityService, owner nsdb.KeySpec) error {
	if svc == nil || owner.Type != nsdb.KeyFirstWriteWins || topology.New(owner.Kind) == nil || !nsdb.ValidName(owner.Name) {
		return fmt.Errorf("%w: AddPerEntity needs a service and a first-write-wins key on an object kind, got %s (%s)", ErrConfig, owner, owner.Type)
	}
	return n.add(&unit{name: svc.Name(), place: PerEntity, esvc: svc, key: owner, entities: make(map[topology.ID]bool)})
}

func (n *Node) add(u *unit) error {
	if !nsdb.ValidName(u.name) {
		return fmt.Errorf("%w: service name %q", ErrConfig, u.name)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.running {
		return ErrRunning
	}
	i, found := slices.BinarySearchFunc(n.units, u.name, func(x *unit, name string) int { return strings.Compare(x.name, name) })
	if found {
		return fmt.Errorf("%w: service %q added twice", ErrConfig, u.name)
	}
	u.st = ServiceStatus{Name: u.name, Placement: u.place, State: StateWaiting, Since: n.clock.Now()}
	n.units = slices.Insert(n.units, i, u)
	n.m.init(u.name)
	return nil
}

// Run runs every service until ctx ends, then stops them, gives up the
// node's leaderships, ownerships and status, and returns nil. It returns
// ErrRunning if the node already runs, and an error wrapping ErrConfig if
// the node has no service.
func (n *Node) Run(ctx context.Context) error {
	n.mu.Lock()
	if n.running {
		n.mu.Unlock()
		return ErrRunning
	}
	if len(n.units) == 0 {
		n.mu.Unlock()
		return fmt.Errorf("%w: node %s has no service", ErrConfig, n.cfg.Name)
	}
	n.running = true
	n.started = n.clock.Now()
	units := slices.Clone(n.units)
	n.mu.Unlock()

	names := make([]string, len(units))
	for i, u := range units {
		names[i] = u.name + "(" + string(u.place) + ")"
	}
	n.log.Info("cluster node starting", "id", n.id, "services", strings.Join(names, ","))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, u := range units {
		wg.Go(func() { n.runUnit(ctx, u) })
	}
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		n.publish(ctx)
	}()
	<-ctx.Done()
	wg.Wait()
	<-pubDone
	n.log.Info("cluster node stopped")
	return nil
}

// Status returns the node's current report.
func (n *Node) Status() NodeStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	ns := NodeStatus{ID: n.id, Name: n.cfg.Name, Started: n.started, Updated: n.clock.Now(),
		Services: make([]ServiceStatus, len(n.units))}
	for i, u := range n.units {
		s := u.st
		if u.place == PerEntity {
			s.Entities = make([]topology.ID, 0, len(u.entities))
			for id := range u.entities {
				s.Entities = append(s.Entities, id)
			}
			slices.SortFunc(s.Entities, compareIDs)
		}
		ns.Services[i] = s
	}
	return ns
}

func compareIDs(a, b topology.ID) int { return strings.Compare(string(a[:]), string(b[:])) }

// update changes a unit's status under the lock, refreshes its metrics and
// signals the publisher.
func (n *Node) update(u *unit, f func(s *ServiceStatus)) {
	n.mu.Lock()
	before := u.st
	f(&u.st)
	if u.st.State != before.State {
		u.st.Since = n.clock.Now()
	}
	st := u.st
	n.mu.Unlock()
	n.m.set(u.name, st)
	n.signal()
}

func (n *Node) setState(u *unit, s State) { n.update(u, func(st *ServiceStatus) { st.State = s }) }

func (n *Node) signal() {
	select {
	case n.changed <- struct{}{}:
	default:
	}
}
