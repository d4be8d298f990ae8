package bgp

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	gbgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// PeerStatus is the state of one session.
type PeerStatus struct {
	// Peer is the neighbour's address, ASN its AS number.
	Peer netip.Addr
	ASN  uint32
	// State is the BGP FSM state: idle, connect, active, opensent,
	// openconfirm or established.
	State string
	// Since is when the session was last established (zero if never);
	// Uptime how long it has been, zero unless established.
	Since  time.Time
	Uptime time.Duration
	// Received counts the prefixes the peer announces (adj-RIB-in),
	// Sent those advertised to it.
	Received, Sent uint64
	// LastError says why the session last went down, or is empty. A
	// session that never came up stays in connect or active with no
	// error: a silent peer and a TCP MD5 password mismatch (whose
	// segments the peer's kernel drops) look the same from here.
	LastError string
	// Flaps counts the times the session left the established state.
	Flaps uint64
}

// Status reports every configured session, in the order of Config.Peers.
func (s *Speaker) Status(ctx context.Context) ([]PeerStatus, error) {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil, ErrState
	}
	got := map[netip.Addr]*api.Peer{}
	err := srv.ListPeer(ctx, &api.ListPeerRequest{EnableAdvertised: true}, func(p *api.Peer) {
		if a, err := netip.ParseAddr(p.GetConf().GetNeighborAddress()); err == nil {
			got[a] = p
		}
	})
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]PeerStatus, 0, len(s.cfg.Peers))
	for _, c := range s.cfg.Peers {
		ps, _ := s.tab.status(c.Addr)
		ps.Peer, ps.ASN = c.Addr, c.ASN
		if p := got[c.Addr]; p != nil {
			st := gbgp.FSMState(max(p.GetState().GetSessionState(), 1) - 1)
			ps.State = stateName(st)
			ps.Received, ps.Sent = 0, 0
			for _, af := range p.GetAfiSafis() {
				ps.Received += af.GetState().GetReceived()
				ps.Sent += af.GetState().GetAdvertised()
			}
			if st == gbgp.BGP_FSM_ESTABLISHED {
				if up := p.GetTimers().GetState().GetUptime(); up != nil && ps.Since.IsZero() {
					ps.Since = up.AsTime()
				}
				if !ps.Since.IsZero() {
					ps.Uptime = now.Sub(ps.Since).Truncate(time.Second)
				}
			} else {
				ps.Uptime = 0
			}
		}
		if ps.State == "" {
			ps.State = "idle"
		}
		out = append(out, ps)
	}
	return out, nil
}

// table holds the routes learned, by peer, and what the speaker saw of
// each session.
type table struct {
	mu    sync.Mutex
	peers map[netip.Addr]*peerRoutes
}

type peerRoutes struct {
	routes  map[netip.Prefix]netip.Addr
	up      bool
	since   time.Time
	lastErr string
	flaps   uint64
}

func (t *table) init() { t.peers = make(map[netip.Addr]*peerRoutes) }

func (t *table) peer(a netip.Addr) *peerRoutes {
	p := t.peers[a]
	if p == nil {
		p = &peerRoutes{routes: make(map[netip.Prefix]netip.Addr)}
		t.peers[a] = p
	}
	return p
}

// apply records u and reports whether it changes anything.
func (t *table) apply(u Update) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.peer(u.Peer)
	old, had := p.routes[u.Prefix]
	if u.Withdraw {
		delete(p.routes, u.Prefix)
		return had
	}
	p.routes[u.Prefix] = u.NextHop
	return !had || old != u.NextHop
}

func (t *table) session(a netip.Addr, up bool, now time.Time, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.peer(a)
	switch {
	case up && !p.up:
		p.since, p.lastErr = now, ""
	case !up && p.up:
		p.flaps++
	}
	if reason != "" && !up {
		p.lastErr = reason
	}
	p.up = up
}

// dropPeer withdraws every route learned from a.
func (t *table) dropPeer(a netip.Addr) []Update {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.peers[a]
	if p == nil {
		return nil
	}
	return drain(a, p)
}

// clear withdraws every route.
func (t *table) clear() []Update {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Update
	for a, p := range t.peers {
		out = append(out, drain(a, p)...)
	}
	return out
}

func drain(a netip.Addr, p *peerRoutes) []Update {
	out := make([]Update, 0, len(p.routes))
	for pfx := range p.routes {
		out = append(out, Update{Peer: a, Prefix: pfx, Withdraw: true})
	}
	clear(p.routes)
	slices.SortFunc(out, func(x, y Update) int { return x.Prefix.Addr().Compare(y.Prefix.Addr()) })
	return out
}

func (t *table) status(a netip.Addr) (PeerStatus, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.peers[a]
	if p == nil {
		return PeerStatus{}, false
	}
	ps := PeerStatus{Peer: a, LastError: p.lastErr, Flaps: p.flaps, Received: uint64(len(p.routes)), State: "active"}
	if p.up {
		ps.State, ps.Since = "established", p.since
	}
	return ps, true
}

func (t *table) routes() map[netip.Addr][]Update {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[netip.Addr][]Update, len(t.peers))
	for a, p := range t.peers {
		if len(p.routes) == 0 {
			continue
		}
		us := make([]Update, 0, len(p.routes))
		for pfx, nh := range p.routes {
			us = append(us, Update{Peer: a, Prefix: pfx, NextHop: nh})
		}
		slices.SortFunc(us, func(x, y Update) int {
			if c := x.Prefix.Addr().Compare(y.Prefix.Addr()); c != 0 {
				return c
			}
			return x.Prefix.Bits() - y.Prefix.Bits()
		})
		out[a] = us
	}
	return out
}
