package vtep

import (
	"errors"
	"net"
	"net/netip"
	"reflect"
	"testing"

	"github.com/hivenet/hivenet/vxgw/ovsdb"
)

const (
	u1 ovsdb.UUID = "11111111-0000-0000-0000-000000000001"
	u2 ovsdb.UUID = "22222222-0000-0000-0000-000000000002"
)

// Every type reads back what its Row writes.
func TestRowsRoundTrip(t *testing.T) {
	mac, _ := net.ParseMAC("02:00:00:00:00:09")
	ip := netip.MustParseAddr("10.0.0.9")
	for _, tc := range []struct {
		in    any
		row   ovsdb.Row
		parse func(ovsdb.Row) (any, error)
	}{
		{Global{UUID: u1, Managers: []ovsdb.UUID{u2}, Switches: []ovsdb.UUID{}, OtherConfig: map[string]string{"a": "b"}}, nil,
			func(r ovsdb.Row) (any, error) { return ParseGlobal(u1, r) }},
		{PhysicalSwitch{UUID: u1, Name: "ps", Description: "d", ManagementIPs: []netip.Addr{ip}, TunnelIPs: []netip.Addr{ip},
			Ports: []ovsdb.UUID{u2}, Tunnels: []ovsdb.UUID{}, OtherConfig: map[string]string{}, FaultStatus: []string{}}, nil,
			func(r ovsdb.Row) (any, error) { return ParsePhysicalSwitch(u1, r) }},
		{PhysicalPort{UUID: u1, Name: "p", VLANBindings: map[uint16]ovsdb.UUID{0: u2, 4095: u1}, OtherConfig: map[string]string{}, FaultStatus: []string{}}, nil,
			func(r ovsdb.Row) (any, error) { return ParsePhysicalPort(u1, r) }},
		{LogicalSwitch{UUID: u1, Name: "ls", TunnelKey: 10000, HasTunnelKey: true, ReplicationMode: "source_node", OtherConfig: map[string]string{}}, nil,
			func(r ovsdb.Row) (any, error) { return ParseLogicalSwitch(u1, r) }},
		{LogicalSwitch{UUID: u1, Name: "ls", OtherConfig: map[string]string{}}, nil,
			func(r ovsdb.Row) (any, error) { return ParseLogicalSwitch(u1, r) }},
		{UcastMac{UUID: u1, MAC: mac, LogicalSwitch: u2, Locator: u1, IP: ip}, nil,
			func(r ovsdb.Row) (any, error) { return ParseUcastMac(u1, r) }},
		{McastMac{UUID: u1, MAC: UnknownDst, LogicalSwitch: u2, LocatorSet: u1}, nil,
			func(r ovsdb.Row) (any, error) { return ParseMcastMac(u1, r) }},
		{PhysicalLocator{UUID: u1, EncapsulationType: EncapVXLAN, DstIP: ip, TunnelKey: 5, HasTunnelKey: true}, nil,
			func(r ovsdb.Row) (any, error) { return ParsePhysicalLocator(u1, r) }},
		{PhysicalLocatorSet{UUID: u1, Locators: []ovsdb.UUID{u1, u2}}, nil,
			func(r ovsdb.Row) (any, error) { return ParsePhysicalLocatorSet(u1, r) }},
		{Tunnel{UUID: u1, Local: u1, Remote: u2, BFDConfigLocal: map[string]string{"a": "1"}, BFDConfigRemote: map[string]string{},
			BFDParams: map[string]string{}, BFDStatus: map[string]string{}}, nil,
			func(r ovsdb.Row) (any, error) { return ParseTunnel(u1, r) }},
	} {
		row := tc.in.(interface{ Row() ovsdb.Row }).Row()
		got, err := tc.parse(row)
		if err != nil || !reflect.DeepEqual(got, tc.in) {
			t.Errorf("%T: Row %v parses as %+v, %v", tc.in, row, got, err)
		}
	}
}

// Rows that do not hold what the schema says are refused with ErrBadRow
// and name the column.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		row   ovsdb.Row
		parse func(ovsdb.Row) error
	}{
		{ovsdb.Row{"MAC": "not-a-mac"}, func(r ovsdb.Row) error { _, err := ParseUcastMac(u1, r); return err }},
		{ovsdb.Row{"MAC": "02:00:00:00:00:01", "ipaddr": "10.0.0.300"}, func(r ovsdb.Row) error { _, err := ParseUcastMac(u1, r); return err }},
		{ovsdb.Row{"locator": "x"}, func(r ovsdb.Row) error { _, err := ParseUcastMac(u1, r); return err }},
		{ovsdb.Row{"tunnel_key": ovsdb.Set{int64(1), int64(2)}}, func(r ovsdb.Row) error { _, err := ParseLogicalSwitch(u1, r); return err }},
		{ovsdb.Row{"tunnel_key": "1"}, func(r ovsdb.Row) error { _, err := ParseLogicalSwitch(u1, r); return err }},
		{ovsdb.Row{"vlan_bindings": ovsdb.Map{int64(5000): u1}}, func(r ovsdb.Row) error { _, err := ParsePhysicalPort(u1, r); return err }},
		{ovsdb.Row{"vlan_bindings": ovsdb.Map{"5": u1}}, func(r ovsdb.Row) error { _, err := ParsePhysicalPort(u1, r); return err }},
		{ovsdb.Row{"tunnel_ips": ovsdb.Set{"nope"}}, func(r ovsdb.Row) error { _, err := ParsePhysicalSwitch(u1, r); return err }},
		{ovsdb.Row{"other_config": ovsdb.Map{"a": int64(1)}}, func(r ovsdb.Row) error { _, err := ParseGlobal(u1, r); return err }},
		{ovsdb.Row{"locators": ovsdb.Map{}}, func(r ovsdb.Row) error { _, err := ParsePhysicalLocatorSet(u1, r); return err }},
		{ovsdb.Row{"dst_ip": int64(1)}, func(r ovsdb.Row) error { _, err := ParsePhysicalLocator(u1, r); return err }},
		{ovsdb.Row{"bfd_status": ovsdb.Set{"x"}}, func(r ovsdb.Row) error { _, err := ParseTunnel(u1, r); return err }},
	} {
		if err := tc.parse(tc.row); !errors.Is(err, ErrBadRow) {
			t.Errorf("parse %v = %v, want ErrBadRow", tc.row, err)
		}
	}
	// Rows decoded without a schema (a lone atom for a one-element set)
	// and rows lacking columns read as well.
	ls, err := ParseLogicalSwitch(u1, ovsdb.Row{"name": "x", "tunnel_key": int64(7)})
	if err != nil || !ls.HasTunnelKey || ls.TunnelKey != 7 || ls.OtherConfig == nil {
		t.Errorf("lone atom tunnel key: %+v, %v", ls, err)
	}
}
