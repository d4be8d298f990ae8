package agent

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hivenet/hivenet/datapath/agent/bgp"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// BGP on uplink ports. A router port bound to this host is a BGP port
// when its router has an AS number and BGP peers whose addresses are in
// the port's subnets. Its speaker runs while the agent holds an NSDB
// session and the port is active here; when the session is lost it keeps
// running for BGPConfig.Grace (a short ZooKeeper hiccup does not reroute
// the upstream) and is then stopped, so that the upstream withdraws the
// gateway's routes. Routes the speaker learns become KeyPortRoutes values
// of the port (bgproutes.go folds them into every agent's router), and its
// status is written to KeyPortBGPStatus every BGPConfig.StatusInterval.

// BGPSpeaker is a running speaker of one port.
type BGPSpeaker interface {
	Status(ctx context.Context) ([]bgp.PeerStatus, error)
	Stop()
}

// BGPSpeakers starts the speaker of an uplink port with cfg (its OnUpdate
// set by the agent), in network namespace netns when it is not empty.
type BGPSpeakers interface {
	StartSpeaker(ctx context.Context, port topology.ID, netns string, cfg bgp.Config) (BGPSpeaker, error)
}

// BGPConfig configures the agent's BGP speakers. The zero value runs each
// in a child process with the defaults below.
type BGPConfig struct {
	// Speakers starts speakers; nil starts each in a child process
	// (bgp.StartChild): this program re-executed, whose main (or TestMain)
	// must call bgp.MaybeServeChild first. InProcessSpeakers runs them in
	// the agent's process, which suits one speaker per process only
	// (GoBGP keeps some settings in package variables).
	Speakers BGPSpeakers
	// Grace is how long speakers keep running after the NSDB session is
	// lost (default 5 s).
	Grace time.Duration
	// StatusInterval is the period of the status writes (default 5 s).
	StatusInterval time.Duration
	// ListenPort and PeerPort override BGP's TCP port 179 for the
	// speaker's listener and for the peers (tests on loopback).
	ListenPort int
	PeerPort   uint16
	// Disable runs no speaker (learned routes of other hosts are still
	// applied).
	Disable bool
	// Attach, when set, wires each speaker to the datapath (bgpattach.go,
	// bgpdivert.go): NetnsAttach runs it in a network namespace of its own
	// behind a veth that becomes a datapath port. Nil runs speakers in the
	// agent's namespace, unwired.
	Attach BGPAttach
}

// InProcessSpeakers runs speakers in the agent's own process and network
// namespace.
var InProcessSpeakers BGPSpeakers = inProcess{}

type inProcess struct{}

// childSpeakers runs each speaker in a child process.
type childSpeakers struct{ interval time.Duration }

func (c childSpeakers) StartSpeaker(ctx context.Context, _ topology.ID, netns string, cfg bgp.Config) (BGPSpeaker, error) {
	return bgp.StartChild(ctx, cfg, bgp.ChildOptions{StatusInterval: c.interval, Netns: netns})
}

func (inProcess) StartSpeaker(ctx context.Context, _ topology.ID, netns string, cfg bgp.Config) (BGPSpeaker, error) {
	if netns != "" {
		return nil, errors.New("agent: in-process BGP speakers cannot run in another network namespace")
	}
	s, err := bgp.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// bgpPorts are the running speakers.
type bgpPorts struct {
	mu      sync.Mutex
	running map[topology.ID]*bgpPort
	// lost is when the NSDB session was lost (zero while it is up).
	lost time.Time
}

// bgpPort is one port's running speaker and the routes it wrote.
type bgpPort struct {
	port topology.ID
	cfg  bgp.Config
	sp   BGPSpeaker
	// stopping is set before the speaker is stopped: the withdrawals it
	// then reports are not written (stopSpeaker removes the values).
	stopping atomic.Bool
	// mu guards written: the KeyPortRoutes values this speaker holds.
	mu      sync.Mutex
	written map[string]bool
	session nsdb.SessionID
	// states are the sessions' last states (runBGP's goroutine only);
	// metricPort the port label its metrics were last recorded under.
	states     map[netip.Addr]string
	metricPort string
	// link is the speaker's wiring to the datapath, detach undoes it
	// (with BGPConfig.Attach).
	link   *bgpLink
	detach func()
}

// bgpWanted returns the speaker configuration of every local BGP port.
func (a *Agent) bgpWanted() map[topology.ID]bgp.Config {
	wd := a.world.Load()
	s := wd.snap
	out := map[topology.ID]bgp.Config{}
	if s.Len(topology.KindBGPPeer) == 0 {
		return out
	}
	c := &a.cfg.BGP
	for o := range s.Objects(topology.KindBGPPeer) {
		bp := o.(*topology.BGPPeer)
		r, ok := s.Router(bp.Router)
		rv, ok2 := s.RouterView(bp.Router)
		if !ok || !ok2 || r.ASNumber == 0 {
			continue
		}
		for _, pid := range rv.Ports {
			p, ok := s.Port(pid)
			if _, local := wd.local[pid]; !ok || !local || !p.Address.Is4() || !inSubnets(p.Subnets, bp.Addr) {
				continue
			}
			cfg, ok := out[pid]
			if !ok {
				cfg = bgp.Config{ASN: r.ASNumber, RouterID: p.Address, ListenPort: c.ListenPort, Logger: a.log.With("port", portName(p))}
				for n := range s.Objects(topology.KindBGPNetwork) {
					if bn := n.(*topology.BGPNetwork); bn.Router == r.ID {
						cfg.Networks = append(cfg.Networks, bn.Subnet)
					}
				}
				slices.SortFunc(cfg.Networks, func(x, y netip.Prefix) int { return x.Addr().Compare(y.Addr()) })
			}
			sec := func(v uint32) time.Duration { return time.Duration(v) * time.Second }
			cfg.Peers = append(cfg.Peers, bgp.Peer{Addr: bp.Addr, ASN: bp.ASNumber, Port: c.PeerPort, KeepAlive: sec(bp.KeepAlive),
				HoldTime: sec(bp.HoldTime), ConnectRetry: sec(bp.ConnectRetry), Password: bp.Password})
			slices.SortFunc(cfg.Peers, func(x, y bgp.Peer) int { return x.Addr.Compare(y.Addr) })
			out[pid] = cfg
		}
	}
	return out
}

func inSubnets(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func portName(p *topology.Port) string {
	if p.Name != "" {
		return p.Name
	}
	return p.ID.String()
}

// sameSpeaker reports whether two configurations run the same sessions.
func sameSpeaker(x, y bgp.Config) bool {
	return x.ASN == y.ASN && x.RouterID == y.RouterID && slices.Equal(x.Peers, y.Peers) && slices.Equal(x.Networks, y.Networks)
}

// runBGP keeps the local BGP ports' speakers running as the package
// comment says, until ctx ends; then it stops them.
func (a *Agent) runBGP(ctx context.Context) {
	c := &a.cfg.BGP
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastStatus := time.Time{}
	defer a.stopSpeakers()
	for {
		a.syncSpeakers(ctx)
		if now := time.Now(); now.Sub(lastStatus) >= c.StatusInterval {
			lastStatus = now
			a.writeBGPStatus(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// syncSpeakers starts, restarts and stops speakers.
func (a *Agent) syncSpeakers(ctx context.Context) {
	b := &a.bgp
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running == nil {
		b.running = map[topology.ID]*bgpPort{}
	}
	up := a.sessionUp.Load()
	var sess nsdb.SessionID
	if up {
		b.lost = time.Time{}
		if s, err := a.db.Session(ctx); err == nil {
			sess = s.ID()
		}
	} else if b.lost.IsZero() {
		b.lost = time.Now()
	}
	keep := up || time.Since(b.lost) < a.cfg.BGP.Grace
	want := map[topology.ID]bgp.Config{}
	if keep && !a.cfg.BGP.Disable {
		want = a.bgpWanted()
	}
	for id := range want {
		if st, ok := a.active.get(id); !ok || st.Host != a.host {
			delete(want, id)
		}
	}
	for id, bp := range b.running {
		if cfg, ok := want[id]; !ok || !sameSpeaker(cfg, bp.cfg) || exited(bp.sp) {
			switch {
			case exited(bp.sp):
				_, err := bp.sp.Status(ctx)
				a.log.Warn("BGP speaker died: restarting it", a.named("port", topology.KindPort, id), "err", err)
			case !ok:
				a.log.Info("BGP speaker no longer wanted", a.named("port", topology.KindPort, id), "session-up", up)
			default:
				a.log.Info("BGP speaker configuration changed", a.named("port", topology.KindPort, id))
			}
			a.stopSpeaker(ctx, bp, up)
			delete(b.running, id)
		} else if up && sess != 0 && bp.session != sess {
			// A new NSDB session: the old one's route values are gone.
			a.rewriteRoutes(ctx, bp, sess)
		}
	}
	if !up {
		return
	}
	for id, cfg := range want {
		if _, ok := b.running[id]; ok {
			continue
		}
		bp := &bgpPort{port: id, cfg: cfg, written: map[string]bool{}, session: sess}
		cfg.OnUpdate = func(us []bgp.Update) { a.writeRoutes(ctx, bp, us) }
		netns, err := a.attachSpeaker(ctx, bp)
		if err != nil {
			a.log.Warn("cannot attach BGP speaker", a.named("port", topology.KindPort, id), "err", err)
			continue
		}
		sp, err := a.speakers().StartSpeaker(ctx, id, netns, cfg)
		if err != nil {
			a.log.Warn("cannot start BGP speaker", a.named("port", topology.KindPort, id), "err", err)
			a.detachSpeaker(ctx, bp)
			continue
		}
		bp.sp = sp
		if bp.link != nil {
			a.setBGPLink(id, bp.link)
		}
		b.running[id] = bp
		a.log.Info("BGP speaker running", a.named("port", topology.KindPort, id), "asn", cfg.ASN, "addr", cfg.RouterID, "peers", len(cfg.Peers))
	}
}

func (a *Agent) speakers() BGPSpeakers {
	if a.cfg.BGP.Speakers != nil {
		return a.cfg.BGP.Speakers
	}
	return childSpeakers{interval: min(a.cfg.BGP.StatusInterval, time.Second)}
}

// exited reports whether a speaker's process has died.
func exited(sp BGPSpeaker) bool {
	e, ok := sp.(interface{ Exited() <-chan struct{} })
	if !ok {
		return false
	}
	select {
	case <-e.Exited():
		return true
	default:
		return false
	}
}

// stopSpeakers stops every speaker (at the agent's end: the session's
// values vanish with it).
func (a *Agent) stopSpeakers() {
	b := &a.bgp
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, bp := range b.running {
		bp.stopping.Store(true)
		bp.sp.Stop()
		a.detachSpeaker(context.Background(), bp)
		delete(b.running, id)
	}
}

// stopSpeaker stops bp's speaker and, with a live session, removes its
// route values and marks its status stopped.
func (a *Agent) stopSpeaker(ctx context.Context, bp *bgpPort, up bool) {
	bp.stopping.Store(true)
	bp.sp.Stop()
	a.detachSpeaker(ctx, bp)
	a.log.Info("BGP speaker stopped", a.named("port", topology.KindPort, bp.port), "session-up", up)
	if bp.metricPort != "" {
		a.bgpm.forget(bp.metricPort)
	}
	if !up {
		return
	}
	bp.mu.Lock()
	for v := range bp.written {
		_ = a.db.StateKeys().Remove(ctx, nsdb.KeyPortRoutes(), bp.port, v)
	}
	clear(bp.written)
	bp.mu.Unlock()
	st := nsdb.BGPStatus{Host: a.host, Updated: a.now(), Error: "stopped"}
	_ = a.db.StateKeys().Set(ctx, nsdb.KeyPortBGPStatus(), bp.port, st.String())
}

// learnedValue is the KeyPortRoutes value of u: through the announced
// next hop when it is on the peer's link, else through the peer.
func (bp *bgpPort) learnedValue(u bgp.Update) string {
	gw := u.Peer
	if u.NextHop.Is4() && !u.NextHop.IsUnspecified() && u.NextHop != bp.cfg.RouterID {
		gw = u.NextHop
	}
	return nsdb.LearnedRoute{Dst: u.Prefix.Masked(), Gateway: gw}.String()
}

// writeRoutes writes a speaker's learned-route changes into the NSDB.
func (a *Agent) writeRoutes(ctx context.Context, bp *bgpPort, us []bgp.Update) {
	if bp.stopping.Load() {
		return
	}
	bp.mu.Lock()
	defer bp.mu.Unlock()
	keys := a.db.StateKeys()
	for _, u := range us {
		if !u.Prefix.Addr().Is4() {
			continue
		}
		v := bp.learnedValue(u)
		if u.Withdraw {
			if bp.written[v] {
				delete(bp.written, v)
				if err := keys.Remove(ctx, nsdb.KeyPortRoutes(), bp.port, v); err != nil && !errors.Is(err, nsdb.ErrNotFound) && ctx.Err() == nil {
					a.log.Warn("cannot withdraw learned route", a.named("port", topology.KindPort, bp.port), "route", v, "err", err)
				}
			}
			continue
		}
		if bp.written[v] {
			continue
		}
		bp.written[v] = true
		if err := keys.Set(ctx, nsdb.KeyPortRoutes(), bp.port, v); err != nil && ctx.Err() == nil {
			a.log.Warn("cannot write learned route", a.named("port", topology.KindPort, bp.port), "route", v, "err", err)
		}
	}
}

// rewriteRoutes writes bp's routes again in session sess.
func (a *Agent) rewriteRoutes(ctx context.Context, bp *bgpPort, sess nsdb.SessionID) {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	bp.session = sess
	for v := range bp.written {
		_ = a.db.StateKeys().Set(ctx, nsdb.KeyPortRoutes(), bp.port, v)
	}
}

// writeBGPStatus writes every running speaker's status.
func (a *Agent) writeBGPStatus(ctx context.Context) {
	if !a.sessionUp.Load() {
		return
	}
	b := &a.bgp
	b.mu.Lock()
	ports := make([]*bgpPort, 0, len(b.running))
	for _, bp := range b.running {
		ports = append(ports, bp)
	}
	b.mu.Unlock()
	for _, bp := range ports {
		st := nsdb.BGPStatus{Host: a.host, Updated: a.now(), Running: true}
		ps, err := bp.sp.Status(ctx)
		if err != nil {
			st.Error = err.Error()
		}
		if bp.states == nil {
			bp.states = map[netip.Addr]string{}
		}
		if name := a.portName(bp.port); name != bp.metricPort {
			if bp.metricPort != "" {
				a.bgpm.forget(bp.metricPort)
			}
			bp.metricPort = name
		}
		for _, p := range ps {
			a.bgpm.observe(bp.metricPort, p)
			if old := bp.states[p.Peer]; old != p.State {
				bp.states[p.Peer] = p.State
				a.log.Info("BGP session", a.named("port", topology.KindPort, bp.port), "peer", p.Peer, "state", p.State,
					"was", old, "last-error", p.LastError)
			}
			st.Peers = append(st.Peers, nsdb.BGPPeerStatus{Peer: p.Peer, ASN: p.ASN, State: p.State,
				UptimeSeconds: int64(p.Uptime / time.Second), Received: p.Received, Sent: p.Sent, Flaps: p.Flaps, LastError: p.LastError})
		}
		if err := a.db.StateKeys().Set(ctx, nsdb.KeyPortBGPStatus(), bp.port, st.String()); err != nil && ctx.Err() == nil {
			a.log.Warn("cannot write BGP status", a.named("port", topology.KindPort, bp.port), "err", err)
		}
	}
}

func (c BGPConfig) withDefaults() BGPConfig {
	if c.Grace <= 0 {
		c.Grace = 5 * time.Second
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = 5 * time.Second
	}
	return c
}
