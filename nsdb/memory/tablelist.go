package memory

import (
	"context"
	"slices"

	"github.com/hivenet/hivenet/nsdb"
)

var _ nsdb.TableLister = (*Client)(nil)

// ListTables implements nsdb.TableLister: every table an entry was ever
// added to.
func (c *Client) ListTables(ctx context.Context) ([]nsdb.TableID, error) {
	if err := c.beginRead(ctx); err != nil {
		return nil, err
	}
	defer c.srv.mu.RUnlock()
	ids := make([]nsdb.TableID, 0, len(c.srv.tables))
	for k, t := range c.srv.tables {
		if !t.wasWritten() {
			continue
		}
		id := nsdb.TableID{Device: k.id, VLAN: k.vlan}
		switch k.name {
		case "mac_table":
			id.Type = nsdb.TableMAC
		case "ip4_mac_table":
			id.Type = nsdb.TableIP4MAC
		case "arp_table":
			id.Type = nsdb.TableARP
		}
		ids = append(ids, id)
	}
	slices.SortFunc(ids, nsdb.TableID.Compare)
	return ids, nil
}
