// Package vtep holds typed rows of the hardware_vtep database (the OVSDB
// schema of hardware VXLAN tunnel endpoints, version 1.7 as Open vSwitch
// ships it) for the tables the VxLAN gateway reads and writes, and the
// operations that must go together in one transaction.
//
// Each type has a ParseXxx function that reads it from an ovsdb.Row (a
// monitor's cache or a select result; columns the row lacks read as their
// defaults) and a Row method that gives the columns to insert or update.
// Addresses are netip.Addr, unicast MACs net.HardwareAddr.
package vtep

import (
	"strconv"

	"github.com/hivenet/hivenet/vxgw/ovsdb"
)

// Database is the name of the hardware_vtep database.
const Database = "hardware_vtep"

// Tables of the hardware_vtep schema that the gateway uses.
const (
	TableGlobal             = "Global"
	TablePhysicalSwitch     = "Physical_Switch"
	TablePhysicalPort       = "Physical_Port"
	TableLogicalSwitch      = "Logical_Switch"
	TableUcastMacsLocal     = "Ucast_Macs_Local"
	TableUcastMacsRemote    = "Ucast_Macs_Remote"
	TableMcastMacsLocal     = "Mcast_Macs_Local"
	TableMcastMacsRemote    = "Mcast_Macs_Remote"
	TablePhysicalLocator    = "Physical_Locator"
	TablePhysicalLocatorSet = "Physical_Locator_Set"
	TableTunnel             = "Tunnel"
)

// EncapVXLAN is the encapsulation of every Physical_Locator.
const EncapVXLAN = "vxlan_over_ipv4"

// UnknownDst is the MAC of the Mcast_Macs rows that say where frames to
// unknown destinations go.
const UnknownDst = "unknown-dst"

// InsertUcastMacRemote returns the operations that insert a remote MAC.
// When loc.UUID is empty the locator is inserted by the same transaction
// and the MAC refers to it by name: the server deletes a locator that no
// row refers to at the end of a transaction, so a locator inserted alone
// would vanish, and Physical_Locator's index forbids inserting one that
// already exists (use its UUID then). The insert result of the MAC is the
// last one.
func InsertUcastMacRemote(mac UcastMac, loc PhysicalLocator) []ovsdb.Operation {
	row := mac.Row()
	var ops []ovsdb.Operation
	if loc.UUID == "" {
		ops = append(ops, ovsdb.Insert{Table: TablePhysicalLocator, Row: loc.Row(), UUIDName: "locator"})
		row["locator"] = ovsdb.NamedUUID("locator")
	} else {
		row["locator"] = loc.UUID
	}
	return append(ops, ovsdb.Insert{Table: TableUcastMacsRemote, Row: row})
}

// InsertMcastMacRemote returns the operations that insert a remote
// multicast (or UnknownDst) row whose Physical_Locator_Set holds locs,
// inserting the set and the locators without a UUID in the same
// transaction. The insert result of the row is the last one.
func InsertMcastMacRemote(mac McastMac, locs ...PhysicalLocator) []ovsdb.Operation {
	var ops []ovsdb.Operation
	set := make(ovsdb.Set, 0, len(locs))
	for i, l := range locs {
		if l.UUID != "" {
			set = append(set, l.UUID)
			continue
		}
		name := "locator" + strconv.Itoa(i)
		ops = append(ops, ovsdb.Insert{Table: TablePhysicalLocator, Row: l.Row(), UUIDName: name})
		set = append(set, ovsdb.NamedUUID(name))
	}
	ops = append(ops, ovsdb.Insert{Table: TablePhysicalLocatorSet, Row: ovsdb.Row{"locators": set}, UUIDName: "locator_set"})
	row := mac.Row()
	row["locator_set"] = ovsdb.NamedUUID("locator_set")
	return append(ops, ovsdb.Insert{Table: TableMcastMacsRemote, Row: row})
}
