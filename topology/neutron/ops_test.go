package neutron_test

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/neutron"
)

// The model refuses what Neutron refuses, with Neutron's exception names,
// and a refused change leaves the model as it was.
func TestModelRefuses(t *testing.T) {
	fresh := topology.MustParseID("0f0f0f0f-0000-4000-8000-000000000001")
	missing := topology.MustParseID("0f0f0f0f-0000-4000-8000-0000000000ff")
	addr := netip.MustParseAddr
	cases := []struct {
		name  string
		op    func(c *cloud) error
		class error
		typ   string
	}{
		{"delete a network with ports", func(c *cloud) error { return c.m.DeleteNetwork(c.private.ID) }, neutron.ErrConflict, "NetworkInUse"},
		{"delete an external network with a gateway", func(c *cloud) error { return c.m.DeleteNetwork(c.public.ID) }, neutron.ErrConflict, "NetworkInUse"},
		{"delete a subnet with ports", func(c *cloud) error { return c.m.DeleteSubnet(c.privateSub.ID) }, neutron.ErrConflict, "SubnetInUse"},
		{"delete a missing network", func(c *cloud) error { return c.m.DeleteNetwork(missing) }, neutron.ErrNotFound, "NetworkNotFound"},
		{"subnet on a missing network", func(c *cloud) error {
			_, err := c.m.CreateSubnet(fresh, neutron.SubnetFields{NetworkID: &missing, CIDR: ptr(netip.MustParsePrefix("10.9.0.0/24"))})
			return err
		}, neutron.ErrNotFound, "NetworkNotFound"},
		{"overlapping subnet", func(c *cloud) error {
			_, err := c.m.CreateSubnet(fresh, neutron.SubnetFields{NetworkID: &c.private.ID, CIDR: ptr(netip.MustParsePrefix("10.0.0.128/25"))})
			return err
		}, neutron.ErrBadRequest, "BadRequest"},
		{"IPv6 subnet", func(c *cloud) error {
			_, err := c.m.CreateSubnet(fresh, neutron.SubnetFields{NetworkID: &c.private.ID, IPVersion: ptr(6), CIDR: ptr(netip.MustParsePrefix("2001:db8::/64"))})
			return err
		}, neutron.ErrBadRequest, "InvalidInput"},
		{"gateway in a pool", func(c *cloud) error {
			_, err := c.m.CreateSubnet(fresh, neutron.SubnetFields{NetworkID: &c.private.ID, CIDR: ptr(netip.MustParsePrefix("10.1.0.0/24")),
				Pools: &[]neutron.Pool{{Start: addr("10.1.0.1"), End: addr("10.1.0.9")}}})
			return err
		}, neutron.ErrConflict, "GatewayConflictWithAllocationPools"},
		{"address taken", func(c *cloud) error {
			_, err := c.m.CreatePort(fresh, neutron.PortFields{NetworkID: &c.private.ID, FixedIPs: &[]neutron.IPRequest{{Addr: c.vm1.FixedIPs[0].Addr}}})
			return err
		}, neutron.ErrConflict, "IpAddressAlreadyAllocated"},
		{"MAC taken", func(c *cloud) error {
			_, err := c.m.CreatePort(fresh, neutron.PortFields{NetworkID: &c.private.ID, MAC: &c.vm1.MAC})
			return err
		}, neutron.ErrConflict, "MacAddressInUse"},
		{"missing security group", func(c *cloud) error {
			_, err := c.m.CreatePort(fresh, neutron.PortFields{NetworkID: &c.private.ID, SecurityGroups: &[]topology.ID{missing}})
			return err
		}, neutron.ErrNotFound, "SecurityGroupNotFound"},
		{"groups without port security", func(c *cloud) error {
			_, err := c.m.CreatePort(fresh, neutron.PortFields{NetworkID: &c.private.ID, PortSecurity: ptr(false), SecurityGroups: &[]topology.ID{c.web.ID}})
			return err
		}, neutron.ErrBadRequest, "InvalidInput"},
		{"disable port security of a port in a group", func(c *cloud) error {
			_, err := c.m.UpdatePort(c.vm1.ID, neutron.PortFields{PortSecurity: ptr(false)})
			return err
		}, neutron.ErrConflict, "PortSecurityPortHasSecurityGroup"},
		{"delete a router interface port directly", func(c *cloud) error {
			return c.m.DeletePort(c.m.Interfaces(c.router.ID)[0].ID)
		}, neutron.ErrConflict, "L3PortInUse"},
		{"delete a router with interfaces", func(c *cloud) error { return c.m.DeleteRouter(c.router.ID) }, neutron.ErrConflict, "RouterInUse"},
		{"remove an interface a floating IP needs", func(c *cloud) error {
			_, err := c.m.RemoveInterface(c.router.ID, c.privateSub.ID, topology.ID{})
			return err
		}, neutron.ErrConflict, "RouterInterfaceInUseByFloatingIP"},
		{"clear a gateway a floating IP needs", func(c *cloud) error {
			var none *neutron.GatewayFields
			_, err := c.m.UpdateRouter(c.router.ID, neutron.RouterFields{Name: ptr("renamed"), Gateway: &none})
			return err
		}, neutron.ErrConflict, "RouterExternalGatewayInUseByFloatingIp"},
		{"second interface on a subnet", func(c *cloud) error {
			_, err := c.m.AddInterface(c.router.ID, c.privateSub.ID, topology.ID{})
			return err
		}, neutron.ErrBadRequest, "BadRequest"},
		{"gateway on an internal network", func(c *cloud) error {
			gw := &neutron.GatewayFields{NetworkID: c.private.ID}
			_, err := c.m.CreateRouter(fresh, neutron.RouterFields{Gateway: &gw})
			return err
		}, neutron.ErrBadRequest, "BadRequest"},
		{"extra route to nowhere", func(c *cloud) error {
			_, err := c.m.UpdateRouter(c.router.ID, neutron.RouterFields{Routes: &[]neutron.Route{{Destination: netip.MustParsePrefix("172.16.0.0/12"), NextHop: addr("192.0.2.1")}}})
			return err
		}, neutron.ErrBadRequest, "InvalidRoutes"},
		{"floating IP on an internal network", func(c *cloud) error {
			_, err := c.m.CreateFloatingIP(fresh, neutron.FloatingIPFields{NetworkID: &c.private.ID})
			return err
		}, neutron.ErrBadRequest, "BadRequest"},
		{"floating IP address taken", func(c *cloud) error {
			_, err := c.m.CreateFloatingIP(fresh, neutron.FloatingIPFields{NetworkID: &c.public.ID, Addr: &c.fip.Addr})
			return err
		}, neutron.ErrConflict, "IpAddressInUse"},
		{"second floating IP on a fixed IP", func(c *cloud) error {
			_, err := c.m.CreateFloatingIP(fresh, neutron.FloatingIPFields{NetworkID: &c.public.ID, PortID: &c.vm1.ID})
			return err
		}, neutron.ErrConflict, "FloatingIPPortAlreadyAssociated"},
		{"delete a group in use", func(c *cloud) error { return c.m.DeleteSecurityGroup(c.web.ID) }, neutron.ErrConflict, "SecurityGroupInUse"},
		{"duplicate rule", func(c *cloud) error {
			_, err := c.m.CreateRule(fresh, neutron.RuleFields{GroupID: &c.web.ID, Direction: ptr("ingress"), Protocol: ptr("icmp")})
			return err
		}, neutron.ErrConflict, "SecurityGroupRuleExists"},
		{"ports without a protocol", func(c *cloud) error {
			_, err := c.m.CreateRule(fresh, neutron.RuleFields{GroupID: &c.web.ID, Direction: ptr("ingress"), PortMin: ptr(1)})
			return err
		}, neutron.ErrBadRequest, "BadRequest"},
		{"unknown protocol", func(c *cloud) error {
			_, err := c.m.CreateRule(fresh, neutron.RuleFields{GroupID: &c.web.ID, Direction: ptr("egress"), Protocol: ptr("bogus")})
			return err
		}, neutron.ErrBadRequest, "SecurityGroupRuleInvalidProtocol"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCloud(t)
			before := c.m.Clone()
			err := tc.op(c)
			var ne *neutron.Error
			if !errors.As(err, &ne) || !errors.Is(err, tc.class) || ne.Type != tc.typ {
				t.Fatalf("error %v, want a %s of class %v", err, tc.typ, tc.class)
			}
			if !reflect.DeepEqual(before, c.m) {
				t.Fatal("the refused change changed the model")
			}
		})
	}
}

// Floating IPs follow their port: deleting the port disassociates the
// floating IP, whose translation goes away.
func TestDeletePortDisassociates(t *testing.T) {
	c := newCloud(t)
	if err := c.m.DeletePort(c.vm1.ID); err != nil {
		t.Fatal(err)
	}
	f := c.m.FloatingIPs[c.fip.ID]
	if !f.PortID.IsZero() || f.FixedAddr.IsValid() || !f.RouterID.IsZero() {
		t.Fatalf("floating IP still associated: %+v", f)
	}
	for _, s := range neutron.Translate(c.m, neutron.Env{}).Seeds {
		if s.Addr == f.Addr {
			t.Fatalf("the disassociated floating IP still has a seed: %+v", s)
		}
	}
}
