package neutronstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/neutron"
)

// DefaultProviderRouter is the provider router's name when
// Config.ProviderRouter is empty.
const DefaultProviderRouter = "provider"

// maxAttempts bounds the retries of a write that keeps losing races.
const maxAttempts = 20

// ErrContended is returned when a write lost maxAttempts races in a row.
var ErrContended = errors.New("neutronstore: too many concurrent writes")

// Config configures a Store.
type Config struct {
	// NSDB is the database; required.
	NSDB nsdb.Client
	// ProviderRouter names the native router external networks are linked
	// to (see package topology/neutron); empty means
	// DefaultProviderRouter. Without a router of that name, external
	// networks are plain bridges.
	ProviderRouter string
	// Rand supplies the IDs and MACs the model makes up; nil means
	// crypto/rand.
	Rand io.Reader
	// Logger receives one line per write and per failure to seed a state
	// table; nil discards.
	Logger *slog.Logger
	// Registerer receives hivenet_neutron_writes_total{result}; nil
	// registers nothing.
	Registerer prometheus.Registerer
}

// Store reads and writes the Neutron model in the NSDB. It is safe for
// concurrent use, and any number of Stores, in any processes, may share
// one NSDB.
type Store struct {
	cfg    Config
	db     nsdb.Client
	log    *slog.Logger
	writes *prometheus.CounterVec
	// seeding orders the seeds of this process's writes as their commits
	// are ordered.
	seeding sync.Mutex
}

// New returns a store.
func New(cfg Config) (*Store, error) {
	if cfg.NSDB == nil {
		return nil, errors.New("neutronstore: no NSDB client")
	}
	if cfg.ProviderRouter == "" {
		cfg.ProviderRouter = DefaultProviderRouter
	}
	s := &Store{cfg: cfg, db: cfg.NSDB, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.writes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hivenet_neutron_writes_total",
		Help: "Writes of the Neutron model, by result: committed, unchanged, refused (a Neutron error), conflict (a lost race, retried), failed."},
		[]string{"result"})
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(s.writes); err != nil {
			return nil, fmt.Errorf("neutronstore: metrics: %w", err)
		}
	}
	return s, nil
}

// read returns the stored model.
func (s *Store) read(ctx context.Context) (*stored, error) {
	vs, err := s.db.Store().List(ctx, topology.KindNeutron)
	if err != nil {
		return nil, fmt.Errorf("neutronstore: reading the Neutron model: %w", err)
	}
	return decode(vs)
}

// Model returns the current model: a copy the caller may change (changes
// are not stored; use Update).
func (s *Store) Model(ctx context.Context) (*neutron.Model, error) {
	st, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	st.model.Rand = s.cfg.Rand
	return st.model, nil
}

// Update changes the model with change — which gets a copy of the current
// model and returns a *neutron.Error to refuse — then writes the changed
// Neutron documents and the difference between the translations before
// and after in one NSDB transaction, and seeds the state tables. It
// retries on concurrent writes (change may run several times) and returns
// the model as written. A translation the NSDB refuses (two ports bound to
// one interface, a name a native object has) is a neutron.ErrConflict.
func (s *Store) Update(ctx context.Context, change func(m *neutron.Model) error) (*neutron.Model, error) {
	return s.update(ctx, change, false)
}

// Sync translates the model again with the native world as it is now —
// hosts created since ports were bound to them, the provider router
// created or deleted — and repairs what was changed behind the model's
// back: translated objects deleted or edited through the native API are
// written again, every seed is applied again.
func (s *Store) Sync(ctx context.Context) error {
	_, err := s.update(ctx, func(*neutron.Model) error { return nil }, true)
	return err
}

func (s *Store) update(ctx context.Context, change func(m *neutron.Model) error, repair bool) (*neutron.Model, error) {
	s.seeding.Lock()
	defer s.seeding.Unlock()
	missing := map[topology.ID]bool{} // native objects someone else deleted
	for attempt := 0; attempt < maxAttempts; attempt++ {
		st, err := s.read(ctx)
		if err != nil {
			s.writes.WithLabelValues("failed").Inc()
			return nil, err
		}
		next := st.model.Clone()
		next.Rand = s.cfg.Rand
		if err := change(next); err != nil {
			s.writes.WithLabelValues("refused").Inc()
			return nil, err
		}
		env, err := s.env(ctx, next)
		if err != nil {
			s.writes.WithLabelValues("failed").Inc()
			return nil, err
		}
		was, now := neutron.Translate(st.model, st.state.env()), neutron.Translate(next, env.env())
		if repair {
			if was, err = s.actual(ctx, was, now); err != nil {
				s.writes.WithLabelValues("failed").Inc()
				return nil, err
			}
		}
		plan := neutron.Diff(was, now)
		ops, err := s.ops(ctx, st, next, env, plan, missing)
		if err != nil {
			s.writes.WithLabelValues("refused").Inc()
			return nil, err
		}
		if len(ops) == 0 {
			s.writes.WithLabelValues("unchanged").Inc()
			s.seed(ctx, plan) // a repair re-applies every seed
			return next, nil
		}
		v, err := s.db.Store().Commit(ctx, ops...)
		var oe *nsdb.OpError
		switch {
		case err == nil:
		case errors.As(err, &oe) && errors.Is(err, nsdb.ErrNotFound) && oe.Op.Type == nsdb.OpDelete && oe.Op.Kind != topology.KindNeutron:
			// A translated object deleted behind our back (through the
			// native API, or by a cascade): nothing left to delete.
			missing[oe.Op.ID] = true
			s.writes.WithLabelValues("conflict").Inc()
			continue
		case errors.Is(err, nsdb.ErrConflict), errors.Is(err, nsdb.ErrExists),
			errors.As(err, &oe) && errors.Is(err, nsdb.ErrNotFound) && oe.Op.Type == nsdb.OpUpdate:
			// A lost race, or a port deleted since it was read: again.
			s.writes.WithLabelValues("conflict").Inc()
			continue
		case errors.Is(err, nsdb.ErrInvalid):
			s.writes.WithLabelValues("refused").Inc()
			return nil, &neutron.Error{Class: neutron.ErrConflict, Type: "TopologyConflict",
				Message: "The change translates to an invalid topology: " + err.Error()}
		default:
			s.writes.WithLabelValues("failed").Inc()
			return nil, fmt.Errorf("neutronstore: commit: %w", err)
		}
		s.writes.WithLabelValues("committed").Inc()
		s.log.Info("neutron model written", "version", v, "neutron objects", next.Len(), "native puts", len(plan.Put),
			"native deletes", len(plan.Delete), "seeds added", len(plan.AddSeeds), "seeds removed", len(plan.RemoveSeeds))
		s.seed(ctx, plan)
		return next, nil
	}
	s.writes.WithLabelValues("failed").Inc()
	return nil, ErrContended
}

// ops returns the transaction: the documents, the translation state, the
// native objects to put, then those to delete (referrers first).
func (s *Store) ops(ctx context.Context, st *stored, next *neutron.Model, env state, plan neutron.Plan, missing map[topology.ID]bool) ([]nsdb.Op, error) {
	docs, err := encode(next)
	if err != nil {
		return nil, err
	}
	ops := docOps(st, docs)
	envChanged := st.state.ProviderRouter != env.ProviderRouter || !maps.Equal(st.state.Hosts, env.Hosts)
	if len(ops) == 0 && len(plan.Put) == 0 && len(plan.Delete) == 0 && !envChanged {
		return nil, nil
	}
	switch {
	case next.Len() == 0 && st.stateVer != nsdb.AnyVersion:
		ops = append(ops, nsdb.Delete(topology.KindNeutron, stateID, st.stateVer))
	case next.Len() == 0:
	default:
		b, err := json.Marshal(env)
		if err != nil {
			return nil, err
		}
		doc := &topology.NeutronDoc{ID: stateID, Resource: resState, Doc: b}
		if st.stateVer == nsdb.AnyVersion {
			ops = append(ops, nsdb.Create(doc))
		} else {
			ops = append(ops, nsdb.Update(doc, st.stateVer))
		}
	}
	for _, o := range plan.Put {
		op, err := s.put(ctx, o)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	for _, o := range plan.Delete {
		if !missing[o.ObjectID()] {
			ops = append(ops, nsdb.Delete(o.ObjectKind(), o.ObjectID(), nsdb.AnyVersion))
		}
	}
	return ops, nil
}

// env resolves what the translation of m needs of the native world: the
// provider router by name, and the hosts its ports are bound to.
func (s *Store) env(ctx context.Context, m *neutron.Model) (state, error) {
	var st state
	routers, err := s.db.Store().List(ctx, topology.KindRouter)
	if err != nil {
		return st, fmt.Errorf("neutronstore: reading routers: %w", err)
	}
	for _, v := range routers {
		if v.Object.ObjectName() == s.cfg.ProviderRouter {
			st.ProviderRouter = v.Object.ObjectID()
		}
	}
	wanted := map[string]bool{}
	for _, p := range m.Ports {
		if p.Host != "" {
			wanted[p.Host] = true
		}
	}
	if len(wanted) == 0 {
		return st, nil
	}
	hosts, err := s.db.Store().List(ctx, topology.KindHost)
	if err != nil {
		return st, fmt.Errorf("neutronstore: reading hosts: %w", err)
	}
	for _, v := range hosts {
		if n := v.Object.ObjectName(); wanted[n] {
			if st.Hosts == nil {
				st.Hosts = map[string]topology.ID{}
			}
			st.Hosts[n] = v.Object.ObjectID()
		}
	}
	return st, nil
}

// actual returns the stored state of the objects of two translations, as
// a translation without seeds (so that a diff against it applies every
// seed again).
func (s *Store) actual(ctx context.Context, ts ...*neutron.Translation) (*neutron.Translation, error) {
	want := map[topology.Kind]map[topology.ID]bool{}
	for _, t := range ts {
		for o := range t.Objects() {
			if want[o.ObjectKind()] == nil {
				want[o.ObjectKind()] = map[topology.ID]bool{}
			}
			want[o.ObjectKind()][o.ObjectID()] = true
		}
	}
	out := &neutron.Translation{}
	for _, k := range topology.Kinds() {
		if want[k] == nil {
			continue
		}
		vs, err := s.db.Store().List(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("neutronstore: reading %ss: %w", k, err)
		}
		for _, v := range vs {
			if !want[k][v.Object.ObjectID()] {
				continue
			}
			if p, ok := v.Object.(*topology.Port); ok && p.TunnelKey != 0 {
				q := *p
				q.TunnelKey = 0 // the agent's, not the translation's
				out.Add(&q)
				continue
			}
			out.Add(v.Object)
		}
	}
	return out, nil
}

// put returns the op writing a translated object. A port keeps the tunnel
// key its agent wrote into it (the translation knows nothing of it): the
// op updates the port at the version read, so a key written meanwhile
// makes the commit retry rather than be lost.
func (s *Store) put(ctx context.Context, o topology.Object) (nsdb.Op, error) {
	p, ok := o.(*topology.Port)
	if !ok {
		return nsdb.Put(o), nil
	}
	v, err := s.db.Store().Get(ctx, topology.KindPort, p.ID)
	switch {
	case errors.Is(err, nsdb.ErrNotFound):
		return nsdb.Put(o), nil
	case err != nil:
		return nsdb.Op{}, fmt.Errorf("neutronstore: reading port %s: %w", p.ID, err)
	}
	if old, ok := v.Object.(*topology.Port); ok && old.TunnelKey != 0 {
		q := *p
		q.TunnelKey = old.TunnelKey
		return nsdb.Update(&q, v.Version), nil
	}
	return nsdb.Update(o, v.Version), nil
}
