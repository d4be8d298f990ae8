package zookeeper

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// An agent opens the state tables of every device of the deployment, and
// most of them were never written: their node does not exist. Opening one
// lists it with a children watch, which fails on the absent node, then
// arms an exists watch instead: two requests. At 17,000 tables those are
// most of an agent's start, since ZooKeeper spends tens of microseconds of
// CPU on each request. So the client lists each kind's table directory
// (<root>/tables/<kind>) once in a while, without a watch, and opens a
// table of a device missing from that listing with the exists watch
// alone. The listing is only a hint: a table found to exist after all is
// listed as usual, and one listed present but absent takes the two
// requests.

// tableHintAge is how long a listing of a kind's table directory serves as
// a hint.
const tableHintAge = 2 * time.Second

type tableHints struct {
	mu   sync.Mutex
	dirs map[string]*tableHint
}

type tableHint struct {
	at      time.Time
	devices map[string]bool
}

// tableAbsent reports whether the listing of the directory above path's
// device says the device has no table at all. It lists the directory if
// the last listing is older than tableHintAge; when it cannot tell, it
// returns false.
func (c *Client) tableAbsent(cn *conn, path string) bool {
	rest, ok := strings.CutPrefix(path, c.paths.tables+"/")
	if !ok {
		return false
	}
	kind, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return false
	}
	device, _, _ := strings.Cut(rest, "/")
	dir := c.paths.tables + "/" + kind
	h := &c.hints
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.dirs[dir]
	if e == nil || time.Since(e.at) > tableHintAge {
		names, _, err := cn.zk.Children(dir)
		if errors.Is(err, zk.ErrNoNode) {
			names, err = nil, nil // no device of the kind has tables
		}
		if err != nil {
			return false
		}
		var n int64
		for _, name := range names {
			n += int64(len(name))
		}
		c.bytesRead.Add(n)
		e = &tableHint{at: time.Now(), devices: make(map[string]bool, len(names))}
		for _, n := range names {
			e.devices[n] = true
		}
		if h.dirs == nil {
			h.dirs = make(map[string]*tableHint)
		}
		h.dirs[dir] = e
	}
	return !e.devices[device]
}
