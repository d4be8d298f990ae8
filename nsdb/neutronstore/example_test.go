package neutronstore_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/nsdb/neutronstore"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/neutron"
)

// Each Update is one transaction: the Neutron objects it changes and their
// translation.
func ExampleStore_Update() {
	db := memory.NewServer(memory.Config{}).NewClient()
	defer db.Close()
	s, err := neutronstore.New(neutronstore.Config{NSDB: db})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	net := topology.MustParseID("00000000-0000-4000-8000-0000000000aa")
	name, cidr := "private", netip.MustParsePrefix("10.0.0.0/24")
	_, err = s.Update(ctx, func(m *neutron.Model) error {
		if _, err := m.CreateNetwork(net, neutron.NetworkFields{Name: &name}); err != nil {
			return err
		}
		_, err := m.CreateSubnet(topology.MustParseID("00000000-0000-4000-8000-0000000000bb"), neutron.SubnetFields{NetworkID: &net, CIDR: &cidr})
		return err
	})
	if err != nil {
		panic(err)
	}
	b, _ := db.Store().Get(ctx, topology.KindBridge, net)
	d, _ := db.Store().Get(ctx, topology.KindNeutron, net)
	fmt.Println(b.Object.ObjectName(), "written with its network:", b.Version == d.Version)
	// Output: private-00000000 written with its network: true
}
