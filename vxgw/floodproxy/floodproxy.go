// Package floodproxy chooses the VxLAN gateway's flooding proxies: per
// tunnel zone of VTEPs, the live host to which the zone's VTEPs send every
// frame they flood (broadcast, multicast, unknown unicast), and which
// simulates those frames through the virtual network.
//
// It is a cluster service placed as one leader-elected instance
// (cluster.Leader): one writer for every zone, so that two nodes never
// disagree about a proxy. The Manager watches the tunnel zones, the VTEPs,
// the hosts and their liveness (nsdb.KeyHostAlive) and the published
// proxies (nsdb.KeyFloodingProxy). A zone needs a proxy when a VTEP names
// it or its type is vtep. A published proxy is kept while its host is a
// live member of the zone with a non-zero flooding_proxy_weight; otherwise
// the manager draws a new one among those hosts, at random in proportion
// to their weights (unset weight: 1), and publishes it with the host's
// address in the zone — or withdraws it when no host qualifies. The
// gateway (vxgw/gateway) points each VTEP's unknown-dst row at it.
//
// The proxy key belongs to the leader's session: when the leader dies the
// proxies vanish until the next leader publishes them again.
package floodproxy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Name is the service's name (and election) in a cluster node.
const Name = "vxgw-flooding-proxy"

// ErrConfig is wrapped by New's errors.
var ErrConfig = errors.New("floodproxy: invalid configuration")

// Config configures a Manager; NSDB is required.
type Config struct {
	NSDB nsdb.Client
	// Rand returns numbers in [0, 1) for the weighted draw; nil means
	// math/rand/v2.
	Rand func() float64
	// Logger receives a record for every proxy chosen or withdrawn; nil
	// discards them.
	Logger *slog.Logger
	// Registerer registers hivenet_vxgw_flooding_proxy_changes_total; nil
	// registers nothing.
	Registerer prometheus.Registerer
}

// Manager is the flooding-proxy manager service.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	changes prometheus.Counter
}

// New returns a manager for cfg.
func New(cfg Config) (*Manager, error) {
	if cfg.NSDB == nil {
		return nil, fmt.Errorf("%w: no NSDB client", ErrConfig)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, changes: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hivenet_vxgw_flooding_proxy_changes_total", Help: "Flooding proxies published or withdrawn by this node.",
	})}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(m.changes); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	return m, nil
}

// Name implements cluster.Service.
func (*Manager) Name() string { return Name }

// state is what the manager follows.
type state struct {
	zones   map[topology.ID]*topology.TunnelZone
	hosts   map[topology.ID]*topology.Host
	vteps   map[topology.ID]*topology.VTEP
	alive   map[topology.ID]bool
	proxies map[topology.ID]nsdb.KeyValue
}

// Run chooses and publishes proxies until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st := &state{zones: map[topology.ID]*topology.TunnelZone{}, hosts: map[topology.ID]*topology.Host{},
		vteps: map[topology.ID]*topology.VTEP{}, alive: map[topology.ID]bool{}, proxies: map[topology.ID]nsdb.KeyValue{}}
	objs, err := m.cfg.NSDB.Store().WatchKinds(ctx, topology.KindTunnelZone, topology.KindHost, topology.KindVTEP)
	if err != nil {
		return err
	}
	defer objs.Close()
	alive, err := m.cfg.NSDB.StateKeys().WatchAll(ctx, nsdb.KeyHostAlive())
	if err != nil {
		return err
	}
	defer alive.Close()
	proxies, err := m.cfg.NSDB.StateKeys().WatchAll(ctx, nsdb.KeyFloodingProxy())
	if err != nil {
		return err
	}
	defer proxies.Close()

	nexts := []func(context.Context) (func(), error){
		func(ctx context.Context) (func(), error) {
			evs, err := objs.Next(ctx)
			return func() { st.objects(evs) }, err
		},
		func(ctx context.Context) (func(), error) {
			evs, err := alive.Next(ctx)
			return func() {
				keys(evs, func(id topology.ID, v []nsdb.KeyValue) { setOrDelete(st.alive, id, true, len(v) > 0) })
			}, err
		},
		func(ctx context.Context) (func(), error) {
			evs, err := proxies.Next(ctx)
			return func() {
				keys(evs, func(id topology.ID, v []nsdb.KeyValue) {
					if len(v) > 0 {
						st.proxies[id] = v[0]
					} else {
						delete(st.proxies, id)
					}
				})
			}, err
		},
	}
	// The first state of every watch, before anything is decided: a
	// decision on part of it would withdraw proxies of hosts not yet seen
	// alive.
	for _, next := range nexts {
		f, err := next(ctx)
		if err != nil {
			return m.watchErr(ctx, err)
		}
		f()
	}
	changed := make(chan func(), len(nexts))
	errc := make(chan error, len(nexts))
	for _, next := range nexts {
		go func() {
			for {
				f, err := next(ctx)
				if err != nil {
					errc <- err
					return
				}
				select {
				case changed <- f:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	for {
		if len(changed) == 0 {
			m.choose(ctx, st)
		}
		select {
		case f := <-changed:
			f()
		case err := <-errc:
			return m.watchErr(ctx, err)
		case <-ctx.Done():
			return nil
		}
	}
}

func (m *Manager) watchErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("floodproxy: watch: %w", err)
}

func keys(evs []nsdb.KeyEvent, f func(topology.ID, []nsdb.KeyValue)) {
	for _, ev := range evs {
		f(ev.ID, ev.Values)
	}
}

func setOrDelete[K comparable, V any](m map[K]V, k K, v V, set bool) {
	if set {
		m[k] = v
	} else {
		delete(m, k)
	}
}

func (st *state) objects(evs []nsdb.Event) {
	for _, ev := range evs {
		switch ev.Kind {
		case topology.KindTunnelZone:
			z, _ := ev.Object.(*topology.TunnelZone)
			setOrDelete(st.zones, ev.ID, z, z != nil)
		case topology.KindHost:
			h, _ := ev.Object.(*topology.Host)
			setOrDelete(st.hosts, ev.ID, h, h != nil)
		case topology.KindVTEP:
			v, _ := ev.Object.(*topology.VTEP)
			setOrDelete(st.vteps, ev.ID, v, v != nil)
		}
	}
}

// candidate is a host that may be a zone's proxy.
type candidate struct {
	host   topology.ID
	addr   netip.Addr
	weight uint32
}

// candidates returns the zone's live members with a non-zero weight,
// heaviest first (ties by host ID).
func (st *state) candidates(z *topology.TunnelZone) []candidate {
	var out []candidate
	for _, mb := range z.Members {
		h, ok := st.hosts[mb.Host]
		if !ok || !st.alive[mb.Host] {
			continue
		}
		w := uint32(1)
		if h.FloodingProxyWeight.Set {
			w = h.FloodingProxyWeight.Value
		}
		if w > 0 {
			out = append(out, candidate{host: mb.Host, addr: mb.Addr, weight: w})
		}
	}
	slices.SortFunc(out, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(b.weight, a.weight), cmp.Compare(a.host.String(), b.host.String()))
	})
	return out
}

// choose publishes a proxy for every zone that needs one and has none
// valid, and withdraws those of zones left without a candidate.
func (m *Manager) choose(ctx context.Context, st *state) {
	need := map[topology.ID]bool{}
	for id, z := range st.zones {
		if z.Type == topology.TunnelZoneVTEP {
			need[id] = true
		}
	}
	for _, v := range st.vteps {
		if _, ok := st.zones[v.TunnelZone]; ok {
			need[v.TunnelZone] = true
		}
	}
	keys := m.cfg.NSDB.StateKeys()
	for id := range need {
		z := st.zones[id]
		cands := st.candidates(z)
		cur, has := st.proxies[id]
		if has {
			if p, err := nsdb.ParseFloodingProxy(cur.Value); err == nil && slices.ContainsFunc(cands, func(c candidate) bool {
				return c.host == p.Host && c.addr == p.Addr
			}) {
				continue
			}
		}
		if len(cands) == 0 {
			if has {
				if err := keys.Remove(ctx, nsdb.KeyFloodingProxy(), id, cur.Value); err != nil && !errors.Is(err, nsdb.ErrNotFound) && ctx.Err() == nil {
					m.log.Warn("floodproxy: cannot withdraw the flooding proxy", "zone", z.Name, "err", err)
					continue
				}
				delete(st.proxies, id)
				m.changes.Inc()
				m.log.Info("floodproxy: no host can be the flooding proxy", "zone", z.Name)
			}
			continue
		}
		c := pick(cands, m.cfg.Rand())
		p := nsdb.FloodingProxy{Host: c.host, Addr: c.addr}
		if err := keys.Set(ctx, nsdb.KeyFloodingProxy(), id, p.String()); err != nil {
			if ctx.Err() == nil {
				m.log.Warn("floodproxy: cannot publish the flooding proxy", "zone", z.Name, "err", err)
			}
			continue
		}
		st.proxies[id] = nsdb.KeyValue{Value: p.String()}
		m.changes.Inc()
		m.log.Info("floodproxy: flooding proxy chosen", "zone", z.Name, "host", st.hosts[c.host].Name, "host-id", c.host,
			"addr", c.addr, "candidates", len(cands))
	}
}

// pick draws a candidate in proportion to its weight: r in [0, 1) scaled
// to the sum of the weights, walked through the cumulative weights.
func pick(cands []candidate, r float64) candidate {
	var sum uint64
	for _, c := range cands {
		sum += uint64(c.weight)
	}
	x := uint64(r * float64(sum))
	for _, c := range cands {
		if x < uint64(c.weight) {
			return c
		}
		x -= uint64(c.weight)
	}
	return cands[len(cands)-1]
}
