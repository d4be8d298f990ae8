package nsdb

import (
	"cmp"
	"context"
	"strconv"
	"strings"

	"github.com/hivenet/hivenet/topology"
)

// TableType names a kind of replicated state table.
type TableType uint8

// Table types.
const (
	_ TableType = iota
	// TableMAC is a bridge's MAC table for one VLAN (Tables.MACTable).
	TableMAC
	// TableIP4MAC is a bridge's IPv4→MAC table (Tables.IP4MACTable).
	TableIP4MAC
	// TableARP is a router's ARP table (Tables.ARPTable).
	TableARP
)

func (t TableType) String() string {
	switch t {
	case TableMAC:
		return "mac_table"
	case TableIP4MAC:
		return "ip4_mac_table"
	case TableARP:
		return "arp_table"
	}
	return "invalid"
}

// TableID names one replicated state table.
type TableID struct {
	Type TableType
	// Device is the bridge (TableMAC, TableIP4MAC) or router (TableARP).
	Device topology.ID
	// VLAN is the MAC table's VLAN (0: untagged); zero for other types.
	VLAN uint16
}

// Compare orders table IDs by type, device and VLAN, the order ListTables
// returns them in.
func (t TableID) Compare(u TableID) int {
	return cmp.Or(cmp.Compare(t.Type, u.Type), strings.Compare(string(t.Device[:]), string(u.Device[:])), cmp.Compare(t.VLAN, u.VLAN))
}

func (t TableID) String() string {
	s := t.Type.String() + " of " + t.Device.String()
	if t.Type == TableMAC {
		s += " vlan " + strconv.Itoa(int(t.VLAN))
	}
	return s
}

// TableLister is implemented by clients whose backend can enumerate its
// tables (both nsdb/memory and nsdb/zookeeper do), so that a garbage
// collector finds the tables of deleted devices, whose IDs nobody else
// remembers.
type TableLister interface {
	// ListTables returns every table an entry was ever added to (learned
	// or persistent) and not dropped by the backend, with or without
	// entries now, sorted by type, device and VLAN. Opening a table does
	// not list it: a table nobody wrote to holds nothing to collect, and
	// every agent opens the tables of every device. Tables of devices that
	// no longer exist are included: deleting a device does not delete its
	// tables.
	ListTables(ctx context.Context) ([]TableID, error)
}
