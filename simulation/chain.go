package simulation

import (
	"errors"
	"strconv"

	"github.com/hivenet/hivenet/topology"
)

// filter evaluates a filter slot (a list of chains) on the current match
// (e.cur) and returns ActionAccept, ActionDrop or ActionReject; or, when a
// stateful service failed, a non-zero verdict (NotYet or ErrorDrop). owner is
// the object whose slot it is (port, bridge or router), given to NAT.
//
// s caches the compiled chain (nil: look it up). slot (a constant) and obj
// (the owner, a pointer) only feed the trace.
func (e *Engine) filter(chain topology.ID, s *chainSlot, owner topology.ID, slot string, obj any) (topology.Action, Verdict) {
	if chain.IsZero() {
		return topology.ActionAccept, 0
	}
	if e.tracing {
		e.note("filter", e.label(obj), slot+": chain "+e.chainName(chain))
	}
	e.stack = e.stack[:0]
	e.loadFields()
	var ci *chainInfo
	if s != nil {
		ci = e.idx.slot(s, chain)
	} else {
		ci, _ = e.idx.chain(chain)
	}
	// runChain's body, but for its jump-loop check: the stack is empty.
	act, v := topology.ActionContinue, Verdict(0)
	if ci != nil {
		e.stack = append(e.stack, chain)
		act, v = e.rules(ci, owner)
		e.stack = e.stack[:len(e.stack)-1]
	} else if e.tracing {
		e.note("chain", chain.String(), "chain does not exist: continue")
	}
	if v != 0 {
		return 0, v
	}
	switch act {
	case topology.ActionDrop, topology.ActionReject:
	default:
		act = topology.ActionAccept
	}
	if e.tracing {
		e.note("filter", e.label(obj), slot+": "+act.String())
	}
	return act, 0
}

// runChain evaluates one chain. It returns a decisive action (Accept, Drop,
// Reject), Return, or Continue when the chain fell off its end, was missing
// or was already being evaluated (a jump loop).
func (e *Engine) runChain(id, owner topology.ID) (topology.Action, Verdict) {
	ci, ok := e.idx.chain(id)
	if !ok {
		if e.tracing {
			e.note("chain", id.String(), "chain does not exist: continue")
		}
		return topology.ActionContinue, 0
	}
	for _, s := range e.stack {
		if s == id {
			if e.tracing {
				e.note("chain", chainObj(ci.chain), "already being evaluated (jump loop): continue")
			}
			return topology.ActionContinue, 0
		}
	}
	e.stack = append(e.stack, id)
	act, v := e.rules(ci, owner)
	e.stack = e.stack[:len(e.stack)-1]
	return act, v
}

// rules evaluates the rules of chain c (runChain's body).
func (e *Engine) rules(ci *chainInfo, owner topology.ID) (topology.Action, Verdict) {
	c := ci.chain
	e.tagID(TagKindDevice, &c.ID)
	for i := e.firstMatch(ci, 0); i < len(c.Rules); i = e.firstMatch(ci, i+1) {
		r := &c.Rules[i]
		switch r.Type {
		case topology.RuleJump:
			if e.tracing {
				e.noteRule(c, i, r, "match, jump to "+e.chainName(r.JumpChain))
			}
			act, v := e.runChain(r.JumpChain, owner)
			if v != 0 {
				return 0, v
			}
			switch act {
			case topology.ActionAccept, topology.ActionDrop, topology.ActionReject:
				return act, 0
			}
		case topology.RuleNAT:
			applied, v := e.nat(owner, c, i, r)
			if v != 0 {
				return 0, v
			}
			if !applied {
				continue
			}
			switch r.Action {
			case topology.ActionAccept, topology.ActionReturn:
				return r.Action, 0
			}
		default:
			if e.tracing {
				e.noteRule(c, i, r, "match, "+r.Action.String())
			}
			switch r.Action {
			case topology.ActionAccept, topology.ActionDrop, topology.ActionReject, topology.ActionReturn:
				return r.Action, 0
			}
		}
	}
	if e.tracing {
		e.note("chain", chainObj(c), "end of chain")
	}
	return topology.ActionContinue, 0
}

// nat applies a matched NAT rule through the Stateful extension point.
func (e *Engine) nat(owner topology.ID, c *topology.Chain, i int, r *topology.Rule) (bool, Verdict) {
	if e.stateful == nil {
		if e.tracing {
			e.noteRule(c, i, r, "match, "+r.NATKind().String()+" NAT not applied: stateful services are not configured")
		}
		return false, 0
	}
	applied, err := e.stateful.NAT(&e.flow, owner, r)
	if v := e.statefulErr(err, c); v != 0 {
		return false, v
	}
	if applied {
		e.loadFields() // the rule may have rewritten the packet
	}
	if e.tracing {
		s := "not applied"
		if applied {
			s = "applied, " + r.Action.String()
		}
		e.noteRule(c, i, r, "match, "+r.NATKind().String()+" NAT "+s)
	}
	return applied, 0
}

// statefulErr turns an error of a Stateful call into a verdict: 0 for nil,
// NotYet for ErrNotYet, ErrorDrop otherwise.
func (e *Engine) statefulErr(err error, obj any) Verdict {
	if err == nil {
		return 0
	}
	if e.tracing {
		e.note("stateful", e.label(obj), err.Error())
	}
	if errors.Is(err, ErrNotYet) {
		return e.fail(NotYet, ReasonStateful, obj, "stateful service not ready")
	}
	return e.fail(ErrorDrop, ReasonStateful, obj, "stateful service failed")
}

func ruleLabel(i int, r *topology.Rule) string {
	s := "rule " + strconv.Itoa(i)
	if !r.ID.IsZero() {
		s += " (" + r.ID.String() + ")"
	}
	return s
}
