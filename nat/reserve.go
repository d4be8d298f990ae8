package nat

import (
	"errors"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/topology"
)

// Reserve records a binding handed out before this leaser existed: by the
// agent's previous process (an agent that restarts reloads its
// connections) or by the previous host of a port that moved here. The
// port is marked used toward dst:dstPort, so that Free releases it when
// the connection's key expires and Allocate never hands it out again to
// the same destination, and the leaser claims the binding's block for
// itself: at once if it is free, else every ReclaimInterval while another
// session holds it (the previous process's, until the NSDB expires it;
// the previous host's, until it releases the block), for as long as a
// reserved binding still uses it. Until the claim succeeds the block
// hands out no new port. Reserve reports whether the binding was new to
// the leaser; it does not block.
func (l *Leaser) Reserve(device topology.ID, b flowstate.NATBinding, dst flowstate.IPv4, dstPort uint16) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	k := devIP{device, b.IP}
	ib := l.leased[k]
	if ib == nil {
		ib = &ipBlocks{blocks: make(map[uint16]*leasedBlock)}
		l.leased[k] = ib
	}
	idx := b.Port / BlockSize
	lb := ib.blocks[idx]
	if lb == nil {
		lb = newLeasedBlock(Block{Device: device, IP: b.IP, Index: idx}, uint8(l.rnd.IntN(BlockSize)), l.now(), true)
		ib.add(lb)
	}
	if !lb.use(b.Port%BlockSize, uniquifier(dst, dstPort)) {
		return false
	}
	if lb.reserved && !l.reclaiming {
		l.reclaiming = true
		l.wg.Add(1)
		go l.reclaim()
	}
	return true
}

// Reserved returns the blocks holding reserved bindings that this leaser
// has not claimed yet.
func (l *Leaser) Reserved() []Block {
	l.mu.Lock()
	defer l.mu.Unlock()
	var bs []Block
	for _, ib := range l.leased {
		for _, lb := range ib.blocks {
			if lb.reserved && lb.refs > 0 {
				bs = append(bs, lb.block)
			}
		}
	}
	return bs
}

// reclaim claims the reserved blocks until none is left (claimed, or its
// bindings all freed) or the leaser closes.
func (l *Leaser) reclaim() {
	defer l.wg.Done()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
		l.mu.Lock()
		var todo []Block
		for _, ib := range l.leased {
			for _, lb := range ib.blocks {
				if lb.reserved && lb.refs > 0 {
					todo = append(todo, lb.block)
				}
			}
		}
		if len(todo) == 0 {
			l.reclaiming = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		for _, b := range todo {
			first, last := b.Ports()
			got, err := l.alloc.Claim(l.ctx, b.Device, b.IP, first, last)
			switch {
			case err == nil && got == b:
				l.addBlock(b)
				l.log.Info("nat: claimed the block of restored connections", "block", b.String())
			case err == nil:
				// Not the block asked for: give it back.
				_ = l.alloc.Release(l.ctx, got)
			case errors.Is(err, ErrNoFreeBlock):
				l.log.Debug("nat: the block of restored connections is still held elsewhere", "block", b.String())
			default:
				if l.ctx.Err() != nil {
					return
				}
				l.log.Warn("nat: claiming the block of restored connections failed", "block", b.String(), "err", err)
			}
		}
		t.Reset(l.reclaimEvery)
	}
}
