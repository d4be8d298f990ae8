package inproc

import (
	"sync/atomic"

	"github.com/hivenet/hivenet/datapath"
)

// A flow's mask is shared: the flows of one megaflow shape (a subtable)
// all have the same mask, and under a new-flow load most installs repeat
// the last few masks. A flow points to an immutable maskEntry instead of
// holding its own 512-byte copy (and the 296-byte flattened one), so that
// installing a flow writes 808 bytes less into memory that is usually not
// in the cache, and each flow is about 500 bytes smaller.

// maskEntry is a canonical, validated mask and its flattened form. It is
// never modified once published.
type maskEntry struct {
	mask datapath.FlowKey
	flat flatKey
}

// recentMasks is the number of masks maskCache remembers.
const recentMasks = 8

// maskCache hands out shared maskEntries for the masks installed lately.
// It is safe for concurrent use without locking: two installs of a new
// mask at once may publish two equal entries, which is harmless, since
// flows and subtables compare masks by content.
type maskCache struct {
	recent [recentMasks]atomic.Pointer[maskEntry]
	next   atomic.Uint32 // the slot the next new mask replaces
	last   atomic.Uint32 // the slot of the last mask found, searched first
}

// intern returns an entry for m, a canonical mask: a recent one equal to
// it, else a new one, which replaces the oldest recent entry. Only a new
// entry allocates.
func (c *maskCache) intern(m *datapath.FlowKey) *maskEntry {
	last := c.last.Load() % recentMasks
	if e := c.recent[last].Load(); e != nil && e.mask == *m {
		return e
	}
	for i := range c.recent {
		if e := c.recent[i].Load(); e != nil && e.mask.Fields == m.Fields && e.mask == *m {
			c.last.Store(uint32(i))
			return e
		}
	}
	e := &maskEntry{mask: *m}
	flatten(&e.mask, &e.flat, true)
	i := c.next.Add(1) % recentMasks
	c.recent[i].Store(e)
	c.last.Store(i)
	return e
}
