package zookeeper

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/statetable"
	"github.com/hivenet/hivenet/nsdb/internal/validate"
	"github.com/hivenet/hivenet/nsdb/internal/watch"
	"github.com/hivenet/hivenet/topology"
)

// Replicated state tables live at <root>/tables/<kind>/<id>/<table>[/<arg>]
// (mac_table/<vlan> and ip4_mac_table of bridges, arp_table of routers),
// one child node per entry named "<key>,<value>,<version>" (see
// parseEntryName). A client keeps one cache per table, fed by a children
// watch on the table's node: entry names carry everything, so no entry's
// data is ever read.

// codec is the per-type behaviour of a table: its rules, and the text
// forms of its keys and values in entry names.
type codec[K comparable, V any] struct {
	statetable.Rules[K, V]
	encKey func(K) string
	decKey func(string) (K, error)
	encVal func(V) string
	decVal func(string) (V, error)
}

// tableRef is what the client keeps of an open table, whatever its types.
type tableRef any

// open returns a handle on the table at path, loading its cache first.
func open[K comparable, V any](ctx context.Context, c *Client, path string, cd codec[K, V]) (nsdb.Table[K, V], error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, nsdb.ErrClosed
	}
	t, ok := c.tables[path].(*table[K, V])
	var loaded chan struct{}
	if !ok {
		t = &table[K, V]{c: c, path: path, codec: cd, view: statetable.NewView[K, V](), keys: make(map[K]*keyEntries[V]),
			watches: make(map[*watch.Watch[K, nsdb.TableEvent[K, V]]]struct{})}
		loaded = make(chan struct{})
		t.sub = &sub{path: path, refresh: t.refresh, loaded: loaded}
		c.tables[path] = t
	}
	t.mu.Lock()
	t.handles++
	t.mu.Unlock()
	c.mu.Unlock()
	if !ok {
		c.eng.add(t.sub, max(c.q.now(), 1))
	}
	h := &handle[K, V]{Handle: statetable.NewHandle(t.view, cd.Rules), t: t}
	if !c.track(h) {
		h.Close()
		return nil, nsdb.ErrClosed
	}
	// A new cache is loaded by its first read, issued after this call
	// began: waiting for it is enough. A cache other handles share is
	// brought up to date by a settle, a read of its own.
	var err error
	if loaded != nil {
		select {
		case <-loaded:
		case <-ctx.Done():
			err = ctx.Err()
		case <-c.ctx.Done():
			err = nsdb.ErrClosed
		}
	} else {
		err = c.settle(ctx)
	}
	if err != nil {
		h.Close()
		return nil, mapErr("open "+path, err)
	}
	return h, nil
}

// tables implements nsdb.Tables.
type tables struct{ c *Client }

func parseIPv4(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("%w: %q is not an IPv4 address", errCorrupt, s)
	}
	return a, nil
}

func (ts tables) MACTable(ctx context.Context, bridge topology.ID, vlan uint16) (nsdb.Table[topology.MAC, topology.ID], error) {
	if err := validate.VLAN(vlan); err != nil {
		return nil, err
	}
	return open(ctx, ts.c, ts.c.paths.table(topology.KindBridge, bridge, "mac_table", strconv.Itoa(int(vlan))),
		codec[topology.MAC, topology.ID]{
			Rules:  statetable.MAC(),
			encKey: topology.MAC.String,
			decKey: topology.ParseMAC,
			encVal: topology.ID.String,
			decVal: topology.ParseID,
		})
}

func (ts tables) IP4MACTable(ctx context.Context, bridge topology.ID) (nsdb.Table[netip.Addr, topology.MAC], error) {
	return open(ctx, ts.c, ts.c.paths.table(topology.KindBridge, bridge, "ip4_mac_table", ""),
		codec[netip.Addr, topology.MAC]{
			Rules:  statetable.IP4MAC(),
			encKey: netip.Addr.String,
			decKey: parseIPv4,
			encVal: topology.MAC.String,
			decVal: topology.ParseMAC,
		})
}

func (ts tables) ARPTable(ctx context.Context, router topology.ID) (nsdb.Table[netip.Addr, nsdb.ARPEntry], error) {
	return open(ctx, ts.c, ts.c.paths.table(topology.KindRouter, router, "arp_table", ""),
		codec[netip.Addr, nsdb.ARPEntry]{
			Rules:  statetable.ARP(),
			encKey: netip.Addr.String,
			decKey: parseIPv4,
			encVal: nsdb.ARPEntry.String,
			decVal: nsdb.ParseARPEntry,
		})
}
