package vtep_test

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/hivenet/hivenet/vxgw/ovsdb"
	"github.com/hivenet/hivenet/vxgw/ovsdb/vtep"
)

// A remote MAC and the locator of the host behind it go into one
// transaction: the MAC refers to the new locator by name.
func ExampleInsertUcastMacRemote() {
	mac, _ := net.ParseMAC("02:00:00:00:00:01")
	ops := vtep.InsertUcastMacRemote(
		vtep.UcastMac{MAC: mac, LogicalSwitch: "7f1c1e3a-64b5-4d8b-9a53-0c7e0d5b1a01", IP: netip.MustParseAddr("192.168.1.10")},
		vtep.PhysicalLocator{DstIP: netip.MustParseAddr("10.0.0.2")},
	)
	for _, op := range ops {
		ins := op.(ovsdb.Insert)
		fmt.Println(ins.Op(), ins.Table, ins.UUIDName, ins.Row["locator"])
	}
	// c.Transact(ctx, vtep.Database, ops...) runs them; the last result
	// holds the MAC row's UUID.

	// Output:
	// insert Physical_Locator locator <nil>
	// insert Ucast_Macs_Remote  locator
}
