package l4

import (
	"errors"
	"io"
	"log/slog"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// NATPorts hands out and takes back the ports of dynamic source NAT
// (*nat.Leaser implements it). It must be safe for concurrent use; Allocate
// must not block: when it has no port at hand it returns an error wrapping
// simulation.ErrNotYet and, if the error implements Wait (as
// *nat.NotYetError does), Services.Waiting returns it.
type NATPorts interface {
	// Allocate returns a binding (address and port) from targets for a new
	// connection of device toward dst:dstPort.
	Allocate(device topology.ID, dst flowstate.IPv4, dstPort uint16, targets []flowstate.NATTarget) (flowstate.NATBinding, error)
	// Free gives back a binding Allocate returned for the same device and
	// destination.
	Free(device topology.ID, b flowstate.NATBinding, dst flowstate.IPv4, dstPort uint16)
}

// MemberHealth reports what the health monitor says of the pool members
// whose status is topology.MemberMonitored (the reference keeps it in the
// member's "status" state key). It must be safe for concurrent use and not
// block or allocate.
type MemberHealth interface {
	// MemberUp reports whether the health monitor last saw member up.
	MemberUp(member topology.ID) bool
}

// Config configures a Services. Conns and NATs are normally the agent's
// shared tables; the other fields may be left zero.
type Config struct {
	// Conns is the connection-tracking table. Nil means a private table
	// with flowstate's defaults (only useful for a single worker).
	Conns *flowstate.ConnTable
	// NATs is the NAT table. Nil means a private table with flowstate's
	// defaults.
	NATs *flowstate.NATTable
	// Ports leases dynamic SNAT ports. Nil means dynamic SNAT of TCP and
	// UDP fails: the simulation ends with ErrorDrop (ErrNoPorts).
	Ports NATPorts
	// Health gives the status of monitored pool members. Nil means a
	// monitored member is never up.
	Health MemberHealth
	// Logger receives debug messages; nil discards them.
	Logger *slog.Logger
}

// ErrNoPorts is returned (wrapped, so the simulation ends with ErrorDrop)
// when a dynamic SNAT rule needs a port and Config.Ports is nil.
var ErrNoPorts = errors.New("l4: dynamic SNAT without a NAT port leaser")

// Services is one simulation worker's connection tracking, NAT and load
// balancing: set it as simulation.Input.Stateful, then commit or abort its
// transaction after each Simulate. It is not safe for concurrent use; use
// one per simulation.Engine.
type Services struct {
	conns  *flowstate.ConnTable
	nats   *flowstate.NATTable
	ports  NATPorts
	health MemberHealth
	log    *slog.Logger

	tx      txn
	serial  uint64 // the simulation tx belongs to (simulation.Flow.Serial)
	active  bool   // tx belongs to a simulation that touched the services
	waiting Wait
	targets []flowstate.NATTarget // scratch for NATPorts.Allocate
	masq    [1]topology.NATTarget // scratch target of a masquerade rule
}

var (
	_ simulation.Stateful     = (*Services)(nil)
	_ simulation.LoadBalancer = (*Services)(nil)
)

// New returns a worker's stateful services configured by cfg.
func New(cfg Config) *Services {
	s := &Services{conns: cfg.Conns, nats: cfg.NATs, ports: cfg.Ports, health: cfg.Health, log: cfg.Logger}
	if s.conns == nil {
		s.conns = flowstate.NewConnTable(flowstate.TableConfig{})
	}
	if s.nats == nil {
		s.nats = flowstate.NewNATTable(flowstate.TableConfig{})
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.targets = make([]flowstate.NATTarget, 0, 4)
	s.tx.conns = make([]flowstate.ConnKey, 0, 4)
	s.tx.nats = make([]natOp, 0, 8)
	return s
}

// Conns returns the connection-tracking table the services use.
func (s *Services) Conns() *flowstate.ConnTable { return s.conns }

// NATs returns the NAT table the services use.
func (s *Services) NATs() *flowstate.NATTable { return s.nats }

// begin makes sure the transaction belongs to the simulation f is part of:
// a transaction left over from an earlier simulation (the caller neither
// committed nor aborted it) is aborted.
func (s *Services) begin(f *simulation.Flow) {
	if n := f.Serial(); !s.active || n != s.serial {
		if s.active && !s.tx.empty() {
			s.log.Debug("l4: transaction of an earlier simulation neither committed nor aborted: aborting it")
			s.Abort()
		}
		s.serial, s.active = n, true
		s.waiting = nil
	}
}

// Refs lists the flow-state keys an installed flow holds a reference on.
// The agent keeps it with the flow and passes it to Services.Release when
// the flow is removed. The zero value is empty and ready to use.
type Refs struct {
	Conns []flowstate.ConnKey
	NATs  []flowstate.NATKey
}

// Reset empties r, keeping its capacity.
func (r *Refs) Reset() { r.Conns, r.NATs = r.Conns[:0], r.NATs[:0] }

// Len returns the number of keys in r.
func (r *Refs) Len() int { return len(r.Conns) + len(r.NATs) }

// Commit applies the transaction of the last simulation to the shared
// tables: every conntrack and NAT key it created or used takes one
// reference (a key that vanished meanwhile is added again), and the
// entries it deleted (stale load-balancer mappings) are removed. The keys
// referenced are appended to refs (nil: the caller holds no reference, the
// keys are released at once and idle); every key written or refreshed is
// appended to msg (nil: nothing to push), Conns and NATs only. The ports
// the simulation leased now belong to their SNAT keys. The transaction is
// then empty.
func (s *Services) Commit(refs *Refs, msg *flowstate.Message) {
	tx := &s.tx
	for _, k := range tx.conns {
		s.conns.Add(k, struct{}{})
		if refs != nil {
			refs.Conns = append(refs.Conns, k)
		} else {
			s.conns.Unref(k)
		}
		if msg != nil {
			msg.Conns = append(msg.Conns, k)
		}
	}
	for i := range tx.nats {
		op := &tx.nats[i]
		if op.op != opDel && tx.deletedAfter(i) {
			continue
		}
		switch op.op {
		case opDel:
			s.nats.Delete(op.key)
			continue
		case opAdd:
			s.nats.Add(op.key, op.val)
		case opRef:
			if !s.nats.Ref(op.key) {
				s.nats.Add(op.key, op.val)
			}
		}
		if refs != nil {
			refs.NATs = append(refs.NATs, op.key)
		} else {
			s.nats.Unref(op.key)
		}
		if msg != nil {
			msg.NATs = append(msg.NATs, flowstate.NATEntry{Key: op.key, Binding: op.val})
		}
	}
	tx.reset()
}

// Abort discards the transaction of the last simulation: nothing reaches
// the tables and the NAT ports it leased are given back.
func (s *Services) Abort() {
	for _, l := range s.tx.leases {
		s.ports.Free(l.device, l.binding, l.dst, l.dstPort)
	}
	s.tx.reset()
}

// Finish commits or aborts the last simulation's transaction according to
// its result r and reports whether it committed. NotYet and ErrorDrop abort
// (the packet is parked, or dropped for an error: the reference releases
// the leases of such simulations); every other verdict commits. When the
// result installs no kernel flow (r.Flow is FlowNone: consumed packets,
// generated packets, decisions on userspace-only fields) no flow holds the
// keys: they are committed and released at once, so they idle (each packet
// of such a connection refreshes them) and nothing is appended to refs.
func (s *Services) Finish(r *simulation.Result, refs *Refs, msg *flowstate.Message) bool {
	switch r.Verdict {
	case simulation.NotYet, simulation.ErrorDrop:
		s.Abort()
		return false
	}
	if r.Flow == simulation.FlowNone {
		refs = nil
	}
	s.Commit(refs, msg)
	return true
}

// Release drops the references refs holds (the flow holding them was
// removed) and empties it. It only touches the shared tables, so any
// goroutine may call it.
func (s *Services) Release(refs *Refs) {
	for _, k := range refs.Conns {
		s.conns.Unref(k)
	}
	for _, k := range refs.NATs {
		s.nats.Unref(k)
	}
	refs.Reset()
}

// Wait is what a simulation that ended with NotYet waits for. Ready is
// closed when the missing state may be available; Err then tells whether it
// is (nil: simulate the packet again) or why not (drop the packet: e.g.
// nat.ErrExhausted when every port of the NAT targets is taken).
// *nat.NotYetError implements it.
type Wait interface {
	Ready() <-chan struct{}
	Err() error
}

// Waiting returns, after a simulation that ended with NotYet because a NAT
// port was not available yet, what to wait for before simulating the packet
// again; nil otherwise. It stays valid after Abort.
func (s *Services) Waiting() Wait { return s.waiting }

// Expire removes the keys of the shared tables that idled for the idle
// timeout, giving the ports of expired SNAT keys back to the leaser. It
// returns the numbers of conntrack and NAT keys removed. Any goroutine may
// call it; the agent calls it periodically from one of them.
func (s *Services) Expire() (conns, nats int) {
	conns = s.conns.Expire(nil)
	nats = s.nats.Expire(FreeOnExpiry(s.ports))
	return conns, nats
}

// FreeOnExpiry returns a callback for flowstate.NATTable.Expire that gives
// the port of each expired forward SNAT key (TCP or UDP) back to ports, as
// the reference does when a SNAT key expires. Keys imported from peers
// hold ports of the peers' blocks, which this agent's leaser does not hold:
// freeing them does nothing. Nil ports gives a callback that does nothing.
func FreeOnExpiry(ports NATPorts) func(flowstate.NATKey, flowstate.NATBinding) {
	return func(k flowstate.NATKey, b flowstate.NATBinding) {
		if ports == nil || k.Type != flowstate.NATFwdSNAT || k.Proto == flowstate.ProtoICMP {
			return
		}
		ports.Free(k.Device, b, k.DstIP, k.DstPort)
	}
}
