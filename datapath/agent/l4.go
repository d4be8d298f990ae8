package agent

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/nat"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/l4"
)

// FlowState is what the agent needs from its stateful services (connection
// tracking, NAT, load balancing): per-worker transactions for simulations,
// the import of state pushed by peers, and expiry. NewL4 implements it with
// package simulation/l4. Nil in Config means no stateful services: every
// packet is a forward flow and NAT rules do not apply.
type FlowState interface {
	// NewWorker returns the transactions of one worker. It is called once
	// per worker; the result is used from that worker's goroutine only.
	NewWorker() FlowStateWorker
	// Import stores the keys of a message received from a peer (reference
	// count zero, idle expiry) and returns the tags of the flows that
	// depend on them (TagConntrack, TagNAT), which the agent invalidates.
	Import(msg *flowstate.Message) []simulation.Tag
	// Expire removes the keys idle for their timeout and returns their
	// tags. The agent calls it from its housekeeping loop.
	Expire(now time.Time) []simulation.Tag
}

// FlowStateWorker runs one transaction per simulation.
type FlowStateWorker interface {
	// Begin returns the simulation.Stateful of the next simulation
	// (Input.Stateful).
	Begin(now time.Time) simulation.Stateful
	// Finish commits the transaction of the simulation that produced r, or
	// aborts it (NotYet, ErrorDrop), appending the keys to push to peers
	// to msg (Conns and NATs; the agent fills in the sender and ports).
	// It returns the references an installed flow holds, nil when none.
	Finish(r *simulation.Result, msg *flowstate.Message) StateRefs
	// Abort discards the transaction (a simulation whose result is not
	// acted on).
	Abort()
	// Waiting returns, after a NotYet verdict with
	// simulation.ReasonStateful, what the packet waits for (a NAT port
	// block); nil otherwise.
	Waiting() Wait
}

// StateRestorer is implemented by FlowStates that take state loaded from
// a store (Config.StateStore) or from a port's previous host: L4 does.
// Restore imports msg's keys like FlowState.Import but returns no tags;
// with reserve (the connections started on a port bound here) it also
// keeps the source-NAT ports they use from being handed out again. Any
// goroutine may call it. A FlowState without it gets Import.
type StateRestorer interface {
	Restore(msg *flowstate.Message, reserve bool)
}

// Wait is missing state a parked packet waits for: Ready is closed when it
// may be available; Err then says whether it is (nil: simulate again).
type Wait interface {
	Ready() <-chan struct{}
	Err() error
}

// StateRefs are the flow-state references held by an installed flow.
type StateRefs interface {
	// Release drops the references; keys whose count reaches zero start
	// their idle expiry. Any goroutine may call it.
	Release()
}

// L4Config configures NewL4.
type L4Config struct {
	// IdleTimeout is how long a key no flow references stays (default
	// flowstate's, the reference's 60 s).
	IdleTimeout time.Duration
	// Blocks leases dynamic SNAT port blocks, shared by all agents (the
	// NSDB client's, see nsdb.BlockClaimer). Nil: dynamic SNAT of TCP and
	// UDP drops the packet.
	Blocks nsdb.Blocks
	// Health gives the status of monitored pool members; nil means a
	// monitored member is never up.
	Health l4.MemberHealth
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Logger receives debug messages; nil discards them.
	Logger *slog.Logger
}

// L4 is the agent's connection tracking, NAT and load balancing (package
// simulation/l4): the tables shared by all workers, the NAT port leaser,
// and one l4.Services per worker. It implements FlowState.
type L4 struct {
	conns  *flowstate.ConnTable
	nats   *flowstate.NATTable
	leaser *nat.Leaser
	cfg    L4Config
	rel    *l4.Services

	mu        sync.Mutex
	lastSweep time.Time
}

// NewL4 returns stateful services for an agent. Close it when the agent
// stops.
func NewL4(cfg L4Config) *L4 {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	tc := flowstate.TableConfig{IdleTimeout: cfg.IdleTimeout, Now: cfg.Now}
	s := &L4{conns: flowstate.NewConnTable(tc), nats: flowstate.NewNATTable(tc), cfg: cfg}
	if cfg.Blocks != nil {
		s.leaser = nat.NewLeaser(nat.LeaserConfig{Allocator: nat.NewAllocator(cfg.Blocks, nil), Now: cfg.Now, Logger: cfg.Logger})
	}
	s.rel = l4.New(s.l4Config())
	return s
}

func (s *L4) l4Config() l4.Config {
	c := l4.Config{Conns: s.conns, NATs: s.nats, Health: s.cfg.Health, Logger: s.cfg.Logger}
	if s.leaser != nil {
		c.Ports = s.leaser
	}
	return c
}

// Conns returns the connection-tracking table.
func (s *L4) Conns() *flowstate.ConnTable { return s.conns }

// NATs returns the NAT table.
func (s *L4) NATs() *flowstate.NATTable { return s.nats }

// Close stops the port leaser (its blocks stay claimed by the NSDB
// session until it ends).
func (s *L4) Close() error {
	if s.leaser != nil {
		return s.leaser.Close()
	}
	return nil
}

// NewWorker implements FlowState.
func (s *L4) NewWorker() FlowStateWorker { return &l4Worker{s: s, svc: l4.New(s.l4Config())} }

// Import implements FlowState.
func (s *L4) Import(msg *flowstate.Message) []simulation.Tag {
	var tags []simulation.Tag
	msg.Import(s.conns, s.nats,
		func(k flowstate.ConnKey) { tags = append(tags, ConnTag(k)) },
		func(k flowstate.NATKey) { tags = append(tags, NATTag(k)) })
	return tags
}

// Restore implements StateRestorer: it imports msg's keys without
// reference, like Import, and without collecting tags (restores happen
// before the flows that would carry them are installed). With reserve,
// the source-NAT bindings of TCP and UDP connections are reserved in the
// port leaser (nat.Leaser.Reserve), which claims their blocks back.
func (s *L4) Restore(msg *flowstate.Message, reserve bool) {
	msg.Import(s.conns, s.nats, nil, nil)
	if !reserve || s.leaser == nil {
		return
	}
	for i := range msg.NATs {
		e := &msg.NATs[i]
		if e.Key.Type == flowstate.NATFwdSNAT && e.Key.Proto != flowstate.ProtoICMP {
			s.leaser.Reserve(e.Key.Device, e.Binding, e.Key.DstIP, e.Key.DstPort)
		}
	}
}

// Leaser returns the NAT port leaser (nil without NSDB blocks).
func (s *L4) Leaser() *nat.Leaser { return s.leaser }

// Expire implements FlowState; it also releases, at most once a minute,
// the NAT port blocks no connection used for a while.
func (s *L4) Expire(now time.Time) []simulation.Tag {
	var tags []simulation.Tag
	s.conns.Expire(func(k flowstate.ConnKey, _ struct{}) { tags = append(tags, ConnTag(k)) })
	var ports l4.NATPorts
	if s.leaser != nil {
		ports = s.leaser
	}
	free := l4.FreeOnExpiry(ports)
	s.nats.Expire(func(k flowstate.NATKey, b flowstate.NATBinding) {
		free(k, b)
		tags = append(tags, NATTag(k))
	})
	if s.leaser != nil {
		s.mu.Lock()
		sweep := now.Sub(s.lastSweep) >= time.Minute
		if sweep {
			s.lastSweep = now
		}
		s.mu.Unlock()
		if sweep {
			go func() { _, _ = s.leaser.Sweep(context.Background()) }()
		}
	}
	return tags
}

// ConnTag is the flow tag of a conntrack key, as package l4 tags flows.
func ConnTag(k flowstate.ConnKey) simulation.Tag {
	return simulation.TagConntrack(k.SrcIP.Addr(), k.SrcPort, k.DstIP.Addr(), k.DstPort, k.Proto, k.Device)
}

// NATTag is the flow tag of a NAT key, as package l4 tags flows.
func NATTag(k flowstate.NATKey) simulation.Tag {
	return simulation.TagNAT(uint8(k.Type), k.SrcIP.Addr(), k.SrcPort, k.DstIP.Addr(), k.DstPort, k.Proto, k.Device)
}

type l4Worker struct {
	s   *L4
	svc *l4.Services
}

func (w *l4Worker) Begin(time.Time) simulation.Stateful { return w.svc }

func (w *l4Worker) Finish(r *simulation.Result, msg *flowstate.Message) StateRefs {
	refs := &l4Refs{s: w.s}
	w.svc.Finish(r, &refs.refs, msg)
	if refs.refs.Len() == 0 {
		return nil
	}
	return refs
}

func (w *l4Worker) Abort() { w.svc.Abort() }

func (w *l4Worker) Waiting() Wait {
	if wt := w.svc.Waiting(); wt != nil {
		return wt
	}
	return nil
}

type l4Refs struct {
	s    *L4
	refs l4.Refs
}

func (r *l4Refs) Release() { r.s.rel.Release(&r.refs) }
