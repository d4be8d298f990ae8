package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw"
	"github.com/hivenet/hivenet/vxgw/ovsdb"
	"github.com/hivenet/hivenet/vxgw/ovsdb/vtep"
)

// syncer manages one VTEP for as long as this node owns it. One goroutine,
// the loop, owns its state: the watches (watch.go) and the OVSDB client
// hand it events, and after each batch of events it reconciles both ways
// (remote.go: NSDB → VTEP; local.go: VTEP → NSDB). Reconciliation is
// level-triggered — it compares what is with what should be — so that a
// reconnection, a failover or a lost write needs nothing but another pass.
type syncer struct {
	g      *Service
	db     nsdb.Client
	id     topology.ID
	log    *slog.Logger
	events chan func()
	kickc  chan struct{}
	wg     sync.WaitGroup

	// Owned by the loop.
	m            mirror
	endpoint     string
	client       *ovsdb.Client
	clientCancel context.CancelFunc
	gen          int // client generation: events of older clients are ignored
	idx          *index
	connected    bool
	monitored    bool
	fatal        error
	conn         vxgw.Connection // as last published
	config       string          // as last published
	remoteDirty  bool
	localDirty   bool
	pending      *expectation
	pendingUntil time.Time
	retryAt      time.Time // remote writes
	fails        int
	localAt      time.Time // local writes
	localFails   int
	prepareAt    time.Time
	prepFails    int
	missing      map[string]bool // physical ports already reported missing
}

func newSyncer(g *Service, id topology.ID) *syncer {
	s := &syncer{g: g, db: g.cfg.NSDB, id: id, log: g.log.With("vtep-id", id),
		events: make(chan func(), 64), kickc: make(chan struct{}, 1), m: newMirror(), missing: map[string]bool{}}
	s.idx = newIndex(s.kick)
	return s
}

func (s *syncer) kick() {
	select {
	case s.kickc <- struct{}{}:
	default:
	}
}

func (s *syncer) spawn(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

func (s *syncer) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// run manages the VTEP until ctx ends.
func (s *syncer) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer s.wg.Wait()
	defer cancel()
	defer s.stop(ctx)
	s.spawn(func() { s.watchObjects(ctx) })
	for {
		s.reconcile(ctx)
		if s.fatal != nil {
			return s.fatal
		}
		var wake <-chan time.Time
		var t *time.Timer
		if d, ok := s.nextWake(); ok {
			t = time.NewTimer(d)
			wake = t.C
		}
		select {
		case f := <-s.events:
			f()
		case <-s.kickc:
			s.remoteDirty, s.localDirty = true, true
		case <-wake:
		case <-ctx.Done():
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
		for drained := false; !drained; {
			select {
			case f := <-s.events:
				f()
			default:
				drained = true
			}
		}
	}
}

// stop closes the OVSDB client and withdraws what the instance published,
// while its session still holds it.
func (s *syncer) stop(ctx context.Context) {
	s.stopClient()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	published := map[nsdb.KeySpec]string{nsdb.KeyVTEPConfig(): s.config}
	if s.conn.State != "" {
		published[nsdb.KeyVTEPConnectionState()] = s.conn.String()
	}
	for spec, v := range published {
		if v == "" {
			continue
		}
		if err := s.db.StateKeys().Remove(wctx, spec, s.id, v); err != nil && !errors.Is(err, nsdb.ErrNotFound) &&
			!errors.Is(err, nsdb.ErrNotOwner) && !errors.Is(err, nsdb.ErrClosed) {
			s.log.Debug("gateway: cannot withdraw state key", "key", spec, "err", err)
		}
	}
	if s.m.fpCancel != nil {
		s.m.fpCancel()
	}
	for _, t := range s.m.tables {
		t.cancel()
	}
	s.g.m.connected.DeleteLabelValues(s.name())
	s.g.m.remote.DeleteLabelValues(s.name())
}

func (s *syncer) name() string {
	if s.m.vtep != nil && s.m.vtep.Name != "" {
		return s.m.vtep.Name
	}
	return s.id.String()
}

// nextWake returns when the loop must run again without an event.
func (s *syncer) nextWake() (time.Duration, bool) {
	var at time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	if s.pending != nil {
		earliest(s.pendingUntil)
	}
	if s.remoteDirty && s.fails > 0 {
		earliest(s.retryAt)
	}
	if s.localDirty && s.localFails > 0 {
		earliest(s.localAt)
	}
	if s.m.needsPrepare() {
		earliest(s.prepareAt)
	}
	if at.IsZero() {
		return 0, false
	}
	return max(time.Until(at), time.Millisecond), true
}

// objectsChanged folds a batch of the object watch in and follows the
// VTEP's bindings, tunnel zone and endpoint.
func (s *syncer) objectsChanged(ctx context.Context, evs []nsdb.Event) {
	s.m.applyObjects(s.id, evs)
	s.remoteDirty, s.localDirty = true, true
	v := s.m.vtep
	if v == nil {
		return
	}
	s.log = s.g.log.With("vtep", v.Name, "vtep-id", s.id)
	bound := s.m.bound()
	for br := range bound {
		if _, ok := s.m.tables[br]; !ok {
			bctx, cancel := context.WithCancel(ctx)
			t := &bridgeTables{cancel: cancel, macs: map[topology.MAC]topology.ID{}, ips: map[netip.Addr]topology.MAC{},
				addrs: map[topology.MAC]map[netip.Addr]struct{}{}, wroteMAC: map[topology.MAC]bool{}, wroteIP: map[netip.Addr]topology.MAC{}}
			s.m.tables[br] = t
			s.watchTables(bctx, br, t)
		}
	}
	for br, t := range s.m.tables {
		if !bound[br] {
			s.unbindLocal(ctx, br, t)
			t.cancel()
			delete(s.m.tables, br)
		}
	}
	if v.TunnelZone != s.m.fpZone {
		if s.m.fpCancel != nil {
			s.m.fpCancel()
			s.m.fpCancel = nil
		}
		s.m.fp, s.m.fpZone = nil, v.TunnelZone
		if !v.TunnelZone.IsZero() {
			zctx, cancel := context.WithCancel(ctx)
			s.m.fpCancel = cancel
			zone := v.TunnelZone
			s.spawn(func() { s.watchFloodingProxy(zctx, zone) })
		}
	}
	ep, err := s.g.cfg.Endpoint(v)
	if err != nil {
		if s.endpoint != "" || s.conn.State == "" {
			s.stopClient()
			s.endpoint = ""
			s.publishConn(ctx, vxgw.ConnDisconnected, err)
		}
		return
	}
	if ep != s.endpoint {
		s.endpoint = ep
		s.startClient(ctx)
	}
}

// startClient connects to the current endpoint with a fresh index.
func (s *syncer) startClient(ctx context.Context) {
	s.stopClient()
	s.gen++
	gen := s.gen
	s.idx = newIndex(s.kick)
	cctx, cancel := context.WithCancel(ctx)
	c, err := ovsdb.New(ovsdb.Config{
		Endpoint: s.endpoint, Logger: s.log, EchoInterval: s.g.cfg.EchoInterval,
		MinBackoff: s.g.cfg.MinBackoff, MaxBackoff: s.g.cfg.MaxBackoff,
		OnState: func(ev ovsdb.StateEvent) {
			s.send(cctx, func() {
				if s.gen == gen {
					s.connChanged(ctx, ev)
				}
			})
		},
	})
	if err != nil {
		cancel()
		s.publishConn(ctx, vxgw.ConnDisconnected, err)
		return
	}
	s.client, s.clientCancel = c, cancel
	s.log.Info("gateway: managing VTEP", "endpoint", s.endpoint, "node", s.g.cfg.NodeName)
	s.publishConn(ctx, vxgw.ConnConnecting, nil)
	idx := s.idx
	s.spawn(func() {
		_, err := c.MonitorCond(cctx, vtep.Database, monitored, idx.apply)
		s.send(cctx, func() {
			if s.gen != gen {
				return
			}
			if err != nil {
				s.fatal = fmt.Errorf("gateway: monitor of VTEP %s at %s: %w", s.name(), s.endpoint, err)
				return
			}
			s.monitored, s.remoteDirty, s.localDirty = true, true, true
		})
	})
}

func (s *syncer) stopClient() {
	if s.client == nil {
		return
	}
	s.clientCancel()
	s.client.Close()
	s.client, s.clientCancel = nil, nil
	s.connected, s.monitored, s.pending = false, false, nil
}

// connChanged follows the OVSDB connection: every (re)connection is a full
// resync, since the client has replaced the index's contents.
func (s *syncer) connChanged(ctx context.Context, ev ovsdb.StateEvent) {
	s.connected = ev.Connected
	s.pending, s.fails, s.retryAt = nil, 0, time.Time{}
	s.remoteDirty, s.localDirty = true, true
	if ev.Connected {
		s.g.m.connected.WithLabelValues(s.name()).Set(1)
		s.log.Info("gateway: connected to VTEP", "endpoint", s.endpoint)
		s.publishConn(ctx, vxgw.ConnConnected, nil)
		return
	}
	s.g.m.connected.WithLabelValues(s.name()).Set(0)
	s.log.Warn("gateway: VTEP connection lost", "endpoint", s.endpoint, "err", ev.Err)
	s.publishConn(ctx, vxgw.ConnDisconnected, ev.Err)
}

// publishConn writes the connection state key.
func (s *syncer) publishConn(ctx context.Context, st vxgw.ConnState, cause error) {
	c := vxgw.Connection{State: st, Endpoint: s.endpoint, Node: s.g.cfg.Node, NodeName: s.g.cfg.NodeName, Since: time.Now().UTC()}
	if cause != nil {
		c.Error = cause.Error()
	}
	if c.State == s.conn.State && c.Error == s.conn.Error && c.Endpoint == s.conn.Endpoint {
		return
	}
	s.conn = c
	if err := s.db.StateKeys().Set(ctx, nsdb.KeyVTEPConnectionState(), s.id, c.String()); err != nil && ctx.Err() == nil {
		s.log.Warn("gateway: cannot publish the connection state", "err", err)
	}
}

// publishConfig writes the VTEP's tunnel addresses when they changed.
func (s *syncer) publishConfig(ctx context.Context) {
	s.idx.mu.Lock()
	ps, ok := s.idx.physicalSwitch(s.m.vtep.Name)
	s.idx.mu.Unlock()
	v := ""
	if ok && len(ps.TunnelIPs) > 0 {
		v = nsdb.VTEPConfig{TunnelIPs: ps.TunnelIPs[:min(len(ps.TunnelIPs), nsdb.MaxVTEPTunnelIPs)]}.String()
	}
	if v == s.config {
		return
	}
	var err error
	if v == "" {
		err = s.db.StateKeys().Remove(ctx, nsdb.KeyVTEPConfig(), s.id, s.config)
		if errors.Is(err, nsdb.ErrNotFound) || errors.Is(err, nsdb.ErrNotOwner) {
			err = nil
		}
	} else {
		err = s.db.StateKeys().Set(ctx, nsdb.KeyVTEPConfig(), s.id, v)
	}
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("gateway: cannot publish the VTEP's tunnel addresses", "err", err)
		}
		return
	}
	s.log.Info("gateway: VTEP tunnel addresses", "tunnel-ips", v)
	s.config = v
}

// reconcile brings the NSDB and the VTEP in step as far as it can now.
func (s *syncer) reconcile(ctx context.Context) {
	if s.m.vtep == nil || ctx.Err() != nil {
		return
	}
	now := time.Now()
	if s.m.needsPrepare() && !now.Before(s.prepareAt) {
		if _, err := vxgw.Prepare(ctx, s.db, s.id); err != nil {
			s.prepFails++
			s.prepareAt = now.Add(s.g.backoff(s.prepFails))
			if ctx.Err() == nil {
				s.log.Warn("gateway: cannot give the bound bridges their VNI and VxLAN port", "err", err)
			}
		} else {
			// The watch brings the writes; until then the mirror still
			// says they are needed.
			s.prepFails = 0
			s.prepareAt = now.Add(500 * time.Millisecond)
		}
	}
	if !s.connected || !s.monitored {
		return
	}
	s.publishConfig(ctx)
	s.syncLocal(ctx)
	s.syncRemote(ctx)
}
