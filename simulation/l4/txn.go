package l4

import (
	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/topology"
)

// txn is the state a simulation wrote, held until it is committed or
// aborted. Lookups see it before the shared tables, so a simulation sees its
// own writes (two fork branches translating the same connection share one
// binding).
type txn struct {
	// tracked: the conntrack lookup ran (a forward/return-flow condition
	// asked); ret is its answer.
	tracked bool
	ret     bool
	conns   []flowstate.ConnKey // return keys recorded at exterior egress
	nats    []natOp
	leases  []lease // NAT ports allocated, given back on abort
}

type natOpKind uint8

const (
	opAdd natOpKind = iota + 1 // a new key and its binding
	opRef                      // an existing key used again
	opDel                      // a stale key removed
)

type natOp struct {
	key flowstate.NATKey
	val flowstate.NATBinding
	op  natOpKind
}

type lease struct {
	device  topology.ID
	binding flowstate.NATBinding
	dst     flowstate.IPv4
	dstPort uint16
}

func (t *txn) empty() bool {
	return len(t.conns) == 0 && len(t.nats) == 0 && len(t.leases) == 0
}

func (t *txn) reset() {
	t.tracked, t.ret = false, false
	t.conns = t.conns[:0]
	t.nats = t.nats[:0]
	clear(t.leases)
	t.leases = t.leases[:0]
}

// nat returns the binding the transaction holds for k: found reports that
// it has an operation on k, ok that the key exists (not deleted).
func (t *txn) nat(k flowstate.NATKey) (b flowstate.NATBinding, found, ok bool) {
	for i := len(t.nats) - 1; i >= 0; i-- {
		if op := &t.nats[i]; op.key == k {
			return op.val, true, op.op != opDel
		}
	}
	return b, false, false
}

// deletedAfter reports whether the key of operation i is deleted by a later
// operation.
func (t *txn) deletedAfter(i int) bool {
	k := t.nats[i].key
	for j := i + 1; j < len(t.nats); j++ {
		if t.nats[j].op == opDel && t.nats[j].key == k {
			return true
		}
	}
	return false
}

func (t *txn) conn(k flowstate.ConnKey) bool {
	for i := range t.conns {
		if t.conns[i] == k {
			return true
		}
	}
	return false
}
