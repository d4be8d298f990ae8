package nsdbtest

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Dump renders what a database holds — every object of every stored kind
// (topology.StoredKinds) and every entry of every table the client can
// list — as text without versions, for tests that check an operation
// leaves the database as it found it: compare two dumps. Tables without
// entries are left out (deleting a device does not drop its tables).
// Table entries are the tables' current values, learned ones included.
func Dump(ctx context.Context, c nsdb.Client) (string, error) {
	var b strings.Builder
	for _, k := range topology.StoredKinds() {
		vs, err := c.Store().List(ctx, k)
		if err != nil {
			return "", fmt.Errorf("list %s: %w", k, err)
		}
		for _, v := range vs {
			fmt.Fprintf(&b, "%s %+v\n", k, v.Object)
		}
	}
	lister, ok := c.(nsdb.TableLister)
	if !ok {
		return b.String(), nil
	}
	ids, err := lister.ListTables(ctx)
	if err != nil {
		return "", fmt.Errorf("list tables: %w", err)
	}
	for _, id := range ids {
		var lines []string
		switch id.Type {
		case nsdb.TableMAC:
			lines, err = entries(ctx, id, func() (nsdb.Table[topology.MAC, topology.ID], error) {
				return c.Tables().MACTable(ctx, id.Device, id.VLAN)
			})
		case nsdb.TableIP4MAC:
			lines, err = entries(ctx, id, func() (nsdb.Table[netip.Addr, topology.MAC], error) { return c.Tables().IP4MACTable(ctx, id.Device) })
		case nsdb.TableARP:
			lines, err = entries(ctx, id, func() (nsdb.Table[netip.Addr, nsdb.ARPEntry], error) { return c.Tables().ARPTable(ctx, id.Device) })
		}
		if err != nil {
			return "", err
		}
		for _, l := range lines {
			b.WriteString(l)
		}
	}
	return b.String(), nil
}

func entries[K comparable, V any](_ context.Context, id nsdb.TableID, open func() (nsdb.Table[K, V], error)) ([]string, error) {
	t, err := open()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", id, err)
	}
	defer t.Close()
	m := t.Entries()
	lines := make([]string, 0, len(m))
	for _, k := range slices.Collect(maps.Keys(m)) {
		lines = append(lines, fmt.Sprintf("%s: %v -> %v\n", id, k, m[k]))
	}
	slices.Sort(lines)
	return lines, nil
}
