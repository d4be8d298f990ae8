package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	gbgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
)

// The reference's session timers, used for zero Peer fields.
const (
	DefaultKeepAlive    = 60 * time.Second
	DefaultHoldTime     = 180 * time.Second
	DefaultConnectRetry = 120 * time.Second
	// Port is BGP's TCP port.
	Port = 179
)

// Sentinel errors.
var (
	// ErrConfig: the Config is unusable.
	ErrConfig = errors.New("bgp: invalid config")
	// ErrState: Start on a started speaker, or a call on a stopped one.
	ErrState = errors.New("bgp: speaker not in the right state")
)

// Peer is one BGP neighbour.
type Peer struct {
	// Addr is the neighbour's IPv4 address.
	Addr netip.Addr
	// ASN is the neighbour's AS number.
	ASN uint32
	// Port is the neighbour's TCP port (default 179).
	Port uint16
	// KeepAlive, HoldTime and ConnectRetry are the session timers; zero
	// means DefaultKeepAlive, DefaultHoldTime, DefaultConnectRetry. They
	// are sent and used in whole seconds.
	KeepAlive, HoldTime, ConnectRetry time.Duration
	// Password, when set, signs the session's TCP segments (TCP MD5,
	// RFC 2385).
	Password string
}

// Config configures a Speaker. ASN, RouterID and at least one peer are
// required.
type Config struct {
	// ASN is the local AS number (the virtual router's).
	ASN uint32
	// RouterID is the BGP identifier, normally the uplink port's address.
	RouterID netip.Addr
	// ListenAddr is the address the speaker accepts sessions on (default
	// RouterID); ListenPort its TCP port (default 179, negative: accept
	// none, connect only).
	ListenAddr netip.Addr
	ListenPort int
	// Peers are the neighbours.
	Peers []Peer
	// Networks are the prefixes advertised to every peer.
	Networks []netip.Prefix
	// NextHop is the next hop advertised with Networks (default: the
	// session's local address).
	NextHop netip.Addr
	// OnUpdate receives the learned routes as they change, in order, from
	// one goroutine; it must not call the Speaker. Nil discards them
	// (Routes still has them).
	OnUpdate func([]Update)
	// OnPeer, when set, is called (from the same goroutine as OnUpdate)
	// each time a session changes state.
	OnPeer func(PeerStatus)
	// Logger receives the speaker's and GoBGP's logs (GoBGP's at warning
	// level and above); nil discards them.
	Logger *slog.Logger
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Update is one change of a learned route.
type Update struct {
	// Peer is the neighbour the route was learned from.
	Peer netip.Addr
	// Prefix is the route's destination.
	Prefix netip.Prefix
	// NextHop is the route's next hop as the peer announced it (the peer
	// itself for ordinary eBGP).
	NextHop netip.Addr
	// Withdraw reports that the route is gone.
	Withdraw bool
}

// Speaker is an embedded BGP speaker. Its methods are safe for concurrent
// use.
type Speaker struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	srv     *server.BgpServer
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool
	// events serialises the watch callbacks into one goroutine.
	events chan func()
	tab    table
}

// New validates cfg and returns a Speaker that does nothing until Start.
func New(cfg Config) (*Speaker, error) {
	if cfg.ASN == 0 || !cfg.RouterID.Is4() || len(cfg.Peers) == 0 {
		return nil, fmt.Errorf("%w: ASN, an IPv4 RouterID and peers are required", ErrConfig)
	}
	// Defaults are filled in a copy: the caller's slices stay as they are.
	cfg.Peers = slices.Clone(cfg.Peers)
	cfg.Networks = slices.Clone(cfg.Networks)
	seen := make(map[netip.Addr]bool, len(cfg.Peers))
	for i := range cfg.Peers {
		p := &cfg.Peers[i]
		if !p.Addr.Is4() || p.ASN == 0 {
			return nil, fmt.Errorf("%w: peer %d needs an IPv4 address and an AS number", ErrConfig, i)
		}
		if seen[p.Addr] {
			return nil, fmt.Errorf("%w: peer %s twice", ErrConfig, p.Addr)
		}
		seen[p.Addr] = true
		def := func(d *time.Duration, v time.Duration) {
			if *d <= 0 {
				*d = v
			}
		}
		def(&p.KeepAlive, DefaultKeepAlive)
		def(&p.HoldTime, DefaultHoldTime)
		def(&p.ConnectRetry, DefaultConnectRetry)
		if p.Port == 0 {
			p.Port = Port
		}
	}
	for _, n := range cfg.Networks {
		if !n.IsValid() || !n.Addr().Is4() {
			return nil, fmt.Errorf("%w: network %s is not an IPv4 prefix", ErrConfig, n)
		}
	}
	if !cfg.ListenAddr.IsValid() {
		cfg.ListenAddr = cfg.RouterID
	}
	if cfg.ListenPort == 0 {
		cfg.ListenPort = Port
	}
	s := &Speaker{cfg: cfg, log: cfg.Logger, now: cfg.Now, events: make(chan func(), 256)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.tab.init()
	return s, nil
}

// Start starts the BGP server, its peers and its advertisements. The
// sessions come up in the background; Status reports them.
func (s *Speaker) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil || s.stopped {
		return ErrState
	}
	lv := new(slog.LevelVar)
	lv.Set(slog.LevelWarn)
	srv := server.NewBgpServer(server.LoggerOption(s.log, lv))
	go srv.Serve()
	c := s.cfg
	listen := []string{c.ListenAddr.String()}
	port := int32(c.ListenPort)
	if port < 0 {
		listen, port = nil, -1
	}
	fail := func(what string, err error) error {
		srv.Stop()
		return fmt.Errorf("bgp: %s: %w", what, err)
	}
	err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn: c.ASN, RouterId: c.RouterID.String(), ListenPort: port, ListenAddresses: listen,
	}})
	if err != nil {
		return fail("start", err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	err = srv.WatchEvent(wctx, server.WatchEventMessageCallbacks{
		OnPathUpdate: func(ps []*apiutil.Path, _ time.Time) { s.post(func() { s.paths(ps) }) },
		OnPeerUpdate: func(ev *apiutil.WatchEventMessage_PeerEvent, _ time.Time) {
			if ev.Type != apiutil.PEER_EVENT_STATE {
				return
			}
			addr, st := ev.Peer.State.NeighborAddress, ev.Peer.State
			s.post(func() { s.peerState(addr, st) })
		},
	}, server.WatchUpdate(true, "", ""), server.WatchPeer())
	if err != nil {
		cancel()
		return fail("watch", err)
	}
	for _, p := range c.Peers {
		if err := srv.AddPeer(ctx, &api.AddPeerRequest{Peer: apiPeer(c, p)}); err != nil {
			cancel()
			return fail("peer "+p.Addr.String(), err)
		}
	}
	if len(c.Networks) > 0 {
		if _, err := srv.AddPath(apiutil.AddPathRequest{Paths: s.networkPaths(c.Networks)}); err != nil {
			cancel()
			return fail("advertise", err)
		}
	}
	s.srv, s.cancel, s.done = srv, cancel, make(chan struct{})
	go s.loop(wctx, s.done)
	s.log.Info("BGP speaker started", "asn", c.ASN, "router-id", c.RouterID, "peers", len(c.Peers), "networks", len(c.Networks))
	return nil
}

// Stop closes every session (the peers are told with a CEASE
// notification) and stops the server. The routes learned are withdrawn
// through OnUpdate before Stop returns. Stop is idempotent.
func (s *Speaker) Stop() {
	s.mu.Lock()
	srv, cancel, done := s.srv, s.cancel, s.done
	s.srv, s.stopped = nil, true
	s.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Stop()
	cancel()
	<-done
	if ups := s.tab.clear(); len(ups) > 0 && s.cfg.OnUpdate != nil {
		s.cfg.OnUpdate(ups)
	}
	s.log.Info("BGP speaker stopped", "asn", s.cfg.ASN, "router-id", s.cfg.RouterID)
}

// post queues f for the callback goroutine. GoBGP's watch goroutine
// blocks while the queue is full, which slows the sessions rather than
// losing routes.
func (s *Speaker) post(f func()) { s.events <- f }

func (s *Speaker) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	for {
		select {
		case f := <-s.events:
			f()
		case <-ctx.Done():
			for {
				select {
				case f := <-s.events:
					f()
				default:
					return
				}
			}
		}
	}
}

// paths folds a batch of adj-RIB-in changes into the table.
func (s *Speaker) paths(ps []*apiutil.Path) {
	var ups []Update
	for _, p := range ps {
		if p == nil || p.Family != gbgp.RF_IPv4_UC {
			continue
		}
		n, ok := p.Nlri.(*gbgp.IPAddrPrefix)
		if !ok {
			continue
		}
		u := Update{Peer: p.PeerAddress, Prefix: n.Prefix, Withdraw: p.Withdrawal}
		if !u.Withdraw {
			u.NextHop = nextHop(p.Attrs)
		}
		if s.tab.apply(u) {
			ups = append(ups, u)
		}
	}
	if len(ups) > 0 && s.cfg.OnUpdate != nil {
		s.cfg.OnUpdate(ups)
	}
}

// peerState records a session's state change; leaving Established
// withdraws the peer's routes.
func (s *Speaker) peerState(addr netip.Addr, st apiutil.PeerState) {
	up := st.SessionState == gbgp.BGP_FSM_ESTABLISHED
	reason := ""
	switch st.DisconnectReason {
	case api.PeerState_DISCONNECT_REASON_UNSPECIFIED, api.PeerState_DISCONNECT_REASON_IDLE_TIMER_EXPIRED:
		// The idle hold timer ending is the next attempt, not an error.
	default:
		reason = disconnectReason(st.DisconnectReason, st.DisconnectMessage)
	}
	s.tab.session(addr, up, s.now(), reason)
	if !up {
		if ups := s.tab.dropPeer(addr); len(ups) > 0 && s.cfg.OnUpdate != nil {
			s.cfg.OnUpdate(ups)
		}
	}
	s.log.Info("BGP session", "peer", addr, "state", stateName(st.SessionState), "reason", reason)
	if s.cfg.OnPeer != nil {
		if ps, ok := s.tab.status(addr); ok {
			s.cfg.OnPeer(ps)
		}
	}
}

// Routes returns the routes currently learned, by peer.
func (s *Speaker) Routes() map[netip.Addr][]Update { return s.tab.routes() }

func apiPeer(c Config, p Peer) *api.Peer {
	secs := func(d time.Duration) uint64 { return uint64((d + time.Second - 1) / time.Second) }
	fam := &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	ap := &api.Peer{
		Conf: &api.PeerConf{
			NeighborAddress: p.Addr.String(), PeerAsn: p.ASN, LocalAsn: c.ASN, AuthPassword: p.Password,
		},
		Timers: &api.Timers{Config: &api.TimersConfig{
			ConnectRetry: secs(p.ConnectRetry), HoldTime: secs(p.HoldTime), KeepaliveInterval: secs(p.KeepAlive),
			// A session reset is retried after the connect-retry timer,
			// not GoBGP's default 30 s.
			IdleHoldTimeAfterReset: secs(min(p.ConnectRetry, 30*time.Second)),
		}},
		Transport: &api.Transport{RemotePort: uint32(p.Port), LocalAddress: c.ListenAddr.String()},
		AfiSafis:  []*api.AfiSafi{{Config: &api.AfiSafiConfig{Family: fam, Enabled: true}}},
	}
	if c.ListenPort < 0 {
		// Connect from any port: no listener owns the local address.
		ap.Transport.LocalAddress = ""
	}
	return ap
}

// networkPaths returns the paths advertising nets.
func (s *Speaker) networkPaths(nets []netip.Prefix) []*apiutil.Path {
	nh := s.cfg.NextHop
	if !nh.IsValid() {
		nh = netip.IPv4Unspecified()
	}
	out := make([]*apiutil.Path, 0, len(nets))
	for _, n := range nets {
		nlri, err := gbgp.NewIPAddrPrefix(n)
		if err != nil {
			continue
		}
		hop, err := gbgp.NewPathAttributeNextHop(nh)
		if err != nil {
			continue
		}
		out = append(out, &apiutil.Path{
			Family: gbgp.RF_IPv4_UC, Nlri: nlri,
			Attrs: []gbgp.PathAttributeInterface{gbgp.NewPathAttributeOrigin(gbgp.BGP_ORIGIN_ATTR_TYPE_IGP), hop},
		})
	}
	return out
}

func nextHop(attrs []gbgp.PathAttributeInterface) netip.Addr {
	for _, a := range attrs {
		switch v := a.(type) {
		case *gbgp.PathAttributeNextHop:
			return v.Value
		case *gbgp.PathAttributeMpReachNLRI:
			return v.Nexthop
		}
	}
	return netip.Addr{}
}

func disconnectReason(r api.PeerState_DisconnectReason, msg string) string {
	s := r.String()
	const p = "DISCONNECT_REASON_"
	if len(s) > len(p) && s[:len(p)] == p {
		s = s[len(p):]
	}
	if msg != "" {
		s += ": " + msg
	}
	return s
}

func stateName(st gbgp.FSMState) string {
	switch st {
	case gbgp.BGP_FSM_IDLE:
		return "idle"
	case gbgp.BGP_FSM_CONNECT:
		return "connect"
	case gbgp.BGP_FSM_ACTIVE:
		return "active"
	case gbgp.BGP_FSM_OPENSENT:
		return "opensent"
	case gbgp.BGP_FSM_OPENCONFIRM:
		return "openconfirm"
	case gbgp.BGP_FSM_ESTABLISHED:
		return "established"
	}
	return "state-" + strconv.Itoa(int(st))
}
