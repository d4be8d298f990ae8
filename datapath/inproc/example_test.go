package inproc_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/inproc"
)

// An agent's loop on the in-process datapath: a frame from a VM port
// misses, the upcall carries its key, the agent installs a megaflow and
// executes the packet; the next frames of the flow are forwarded without
// upcalls.
func Example() {
	ctx := context.Background()
	dp := inproc.New(inproc.Config{Name: "hv0"})
	defer dp.Close()
	sock, _ := dp.OpenUpcalls()
	vm1, _ := dp.CreatePort(ctx, datapath.PortSpec{Name: "vm1", Type: datapath.PortNetdev, UpcallPIDs: []uint32{sock.PID()}})
	vm2, _ := dp.CreatePort(ctx, datapath.PortSpec{Name: "vm2", Type: datapath.PortNetdev})
	ep1, _ := dp.Endpoint(vm1.Number)
	ep2, _ := dp.Endpoint(vm2.Number)

	// An Ethernet frame with an ARP request from 10.0.0.1 for 10.0.0.2.
	frame := []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06,
		0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 1, 10, 0, 0, 1,
		0, 0, 0, 0, 0, 0, 10, 0, 0, 2,
	}
	ep1.Send(frame)

	var up datapath.Upcall
	sock.Receive(ctx, &up)
	fmt.Println("upcall:", up.Kind == datapath.UpcallMiss, "in_port", up.Key.InPort, "arp target", up.Key.ARP.TIP)

	// Megaflow: any ARP from vm1 goes to vm2.
	mask := datapath.FlowKey{Fields: datapath.KeyInPort | datapath.KeyEtherType, InPort: ^datapath.PortNumber(0), EtherType: 0xffff}
	flow := datapath.Flow{Match: datapath.Match{Key: up.Key, Mask: mask}, Actions: datapath.Actions{datapath.Output{Port: vm2.Number}}}
	if err := dp.PutFlow(ctx, &flow, datapath.PutCreate); err != nil {
		fmt.Println(err)
	}
	dp.Execute(ctx, up.Packet, &up.Key, flow.Actions)

	frame[41] = 3 // another target: same megaflow
	ep1.Send(frame)
	for i := 0; i < 2; i++ {
		f, _ := ep2.Receive(ctx)
		fmt.Println("vm2 received ARP for", netip.AddrFrom4([4]byte(f[38:42])))
	}
	st := dp.Stats()
	fmt.Printf("hit %d missed %d flows %d\n", st.Hit, st.Missed, st.Flows)
	// Output:
	// upcall: true in_port 1 arp target 10.0.0.2
	// vm2 received ARP for 10.0.0.2
	// vm2 received ARP for 10.0.0.3
	// hit 1 missed 1 flows 1
}
