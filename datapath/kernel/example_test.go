package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/kernel"
)

// This example creates a datapath with two ports and installs a megaflow
// forwarding IPv4 traffic from port 1 to 10.0.0.0/24 out of port 2.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	c, err := kernel.Dial(nil)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Println("openvswitch module not loaded")
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	dp, _, err := c.CreateDatapath(ctx, kernel.DatapathSpec{Name: "hn-example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.DeleteDatapath(ctx, "hn-example")

	up, err := dp.OpenUpcalls()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer up.Close()
	for _, name := range []string{"hn-ex-a", "hn-ex-b"} {
		if _, err := dp.CreatePort(ctx, datapath.PortSpec{Name: name, Type: datapath.PortInternal,
			UpcallPIDs: []uint32{up.PID()}}); err != nil {
			fmt.Println(err)
			return
		}
	}

	key := datapath.FlowKey{
		Fields:    datapath.KeyInPort | datapath.KeyEthernet | datapath.KeyEtherType | datapath.KeyIPv4,
		InPort:    1,
		EtherType: 0x0800,
		IPv4:      datapath.IPv4Key{Src: netip.IPv4Unspecified(), Dst: netip.MustParseAddr("10.0.0.0")},
	}
	mask := datapath.ExactMask(key)
	mask.Ethernet = datapath.EthernetKey{} // any MAC
	mask.IPv4 = datapath.IPv4Key{Src: netip.IPv4Unspecified(), Dst: netip.MustParseAddr("255.255.255.0")}
	flow := datapath.Flow{
		UFID:    datapath.UFID{1},
		Match:   datapath.Match{Key: key, Mask: mask},
		Actions: datapath.Actions{datapath.Output{Port: 2}},
	}
	if err := dp.PutFlow(ctx, &flow, datapath.PutCreate); err != nil {
		fmt.Println(err)
		return
	}
	for f, err := range dp.Flows(ctx) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(f.UFID == flow.UFID, f.Actions)
	}
}
