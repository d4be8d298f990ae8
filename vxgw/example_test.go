package vxgw_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw"
)

// Binding a VTEP's port to a bridge gives the bridge a VNI and a VxLAN
// port; the status says who manages the VTEP (nobody yet: no cluster node
// runs the gateway service here).
func ExampleBind() {
	c := memory.NewServer(memory.Config{}).NewClient()
	defer c.Close()
	ctx := context.Background()
	net1 := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "net1"), Name: "net1"}
	vtep := &topology.VTEP{ID: topology.NameID(topology.KindVTEP, "tor1"), Name: "tor1", ManagementIP: netip.MustParseAddr("192.0.2.10")}
	if _, err := c.Store().Commit(ctx, nsdb.Create(net1), nsdb.Create(vtep)); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := vxgw.Bind(ctx, c, vtep.ID, topology.VTEPBinding{PortName: "eth7", VLAN: 100, Bridge: net1.ID}); err != nil {
		fmt.Println(err)
		return
	}
	st, err := vxgw.ReadStatus(ctx, c, vtep.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	b := st.Bindings[0]
	fmt.Println(st.Name, st.Connection, b.PortName, b.VLAN, b.BridgeName, b.VNI, b.Port == vxgw.PortID(net1.ID, vtep.ID))
	// Output:
	// tor1 unmanaged eth7 100 net1 10000 true
}
