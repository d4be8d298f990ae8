package neutronstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/nsdb/neutronstore"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/neutron"
)

// BenchmarkUpdatePort measures one Neutron write (a port renamed: read the
// model, translate it before and after, commit the difference) in a model
// of 10 networks and 1,000 VM ports in one security group, on the memory
// NSDB. A write costs the size of the whole model: every write reads and
// translates all of it.
func BenchmarkUpdatePort(b *testing.B) {
	db := memory.NewServer(memory.Config{}).NewClient()
	defer db.Close()
	s, err := neutronstore.New(neutronstore.Config{NSDB: db, Rand: rand.NewChaCha8([32]byte{3})})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	r := rand.NewChaCha8([32]byte{4})
	id := func() topology.ID { x, _ := topology.NewID(r); return x }
	var ports []topology.ID
	_, err = s.Update(ctx, func(m *neutron.Model) error {
		g, err := m.CreateSecurityGroup(id(), neutron.SecurityGroupFields{Name: ptr("web")})
		if err != nil {
			return err
		}
		for n := range 10 {
			net, err := m.CreateNetwork(id(), neutron.NetworkFields{Name: ptr(fmt.Sprint("net", n))})
			if err != nil {
				return err
			}
			cidr := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n), 0, 0}), 16)
			if _, err := m.CreateSubnet(id(), neutron.SubnetFields{NetworkID: &net.ID, CIDR: &cidr}); err != nil {
				return err
			}
			for range 100 {
				p, err := m.CreatePort(id(), neutron.PortFields{NetworkID: &net.ID, SecurityGroups: &[]topology.ID{g.ID}})
				if err != nil {
					return err
				}
				ports = append(ports, p.ID)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p := ports[i%len(ports)]
		if _, err := s.Update(ctx, func(m *neutron.Model) error {
			_, err := m.UpdatePort(p, neutron.PortFields{Name: ptr(fmt.Sprint("vm", i))})
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}
