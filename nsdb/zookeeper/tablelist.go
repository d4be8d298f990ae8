package zookeeper

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

var _ nsdb.TableLister = (*Client)(nil)

// ListTables implements nsdb.TableLister by walking <root>/tables: the
// table znodes of every bridge (mac_table/<vlan>, ip4_mac_table) and router
// (arp_table). Nodes that do not parse are skipped.
func (c *Client) ListTables(ctx context.Context) ([]nsdb.TableID, error) {
	var ids []nsdb.TableID
	err := c.retry(ctx, func(cn *conn) error {
		ids = ids[:0]
		children := func(p string) ([]string, error) {
			names, _, err := cn.zk.Children(p)
			if errors.Is(err, zk.ErrNoNode) {
				return nil, nil
			}
			return names, err
		}
		for _, kind := range []topology.Kind{topology.KindBridge, topology.KindRouter} {
			kdir := c.paths.tables + "/" + kind.String()
			devs, err := children(kdir)
			if err != nil {
				return err
			}
			for _, d := range devs {
				dev, err := topology.ParseID(d)
				if err != nil {
					continue
				}
				names, err := children(kdir + "/" + d)
				if err != nil {
					return err
				}
				for _, name := range names {
					switch {
					case kind == topology.KindBridge && name == "mac_table":
						vlans, err := children(kdir + "/" + d + "/" + name)
						if err != nil {
							return err
						}
						for _, v := range vlans {
							if n, err := strconv.ParseUint(v, 10, 12); err == nil {
								ids = append(ids, nsdb.TableID{Type: nsdb.TableMAC, Device: dev, VLAN: uint16(n)})
							}
						}
					case kind == topology.KindBridge && name == "ip4_mac_table":
						ids = append(ids, nsdb.TableID{Type: nsdb.TableIP4MAC, Device: dev})
					case kind == topology.KindRouter && name == "arp_table":
						ids = append(ids, nsdb.TableID{Type: nsdb.TableARP, Device: dev})
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, mapErr("list tables", err)
	}
	slices.SortFunc(ids, nsdb.TableID.Compare)
	return ids, nil
}
