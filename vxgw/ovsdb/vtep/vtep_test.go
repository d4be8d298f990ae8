package vtep_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/ovsdbtest"
	"github.com/hivenet/hivenet/vxgw/ovsdb"
	"github.com/hivenet/hivenet/vxgw/ovsdb/vtep"
)

func TestMain(m *testing.M) { ovsdbtest.Main(m) }

func setup(t *testing.T) (*ovsdbtest.Server, *ovsdb.Client, context.Context) {
	srv := ovsdbtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	c, err := ovsdb.Dial(ctx, ovsdb.Config{Endpoint: srv.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, c, ctx
}

// selectRows returns the rows of table matching where, by UUID.
func selectRows(t *testing.T, ctx context.Context, c *ovsdb.Client, table string, where ...ovsdb.Condition) map[ovsdb.UUID]ovsdb.Row {
	t.Helper()
	res, err := c.Transact(ctx, vtep.Database, ovsdb.Select{Table: table, Where: where})
	if err != nil {
		t.Fatalf("select %s: %v", table, err)
	}
	out := make(map[ovsdb.UUID]ovsdb.Row)
	for _, r := range res[0].Rows {
		out[r["_uuid"].(ovsdb.UUID)] = r
	}
	return out
}

func one(t *testing.T, rows map[ovsdb.UUID]ovsdb.Row) (ovsdb.UUID, ovsdb.Row) {
	t.Helper()
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1: %v", len(rows), rows)
	}
	for u, r := range rows {
		return u, r
	}
	return "", nil
}

func eq(name string, v any) ovsdb.Condition { return ovsdb.Cond(name, ovsdb.FuncEQ, v) }

// A VTEP configured by vtep-ctl reads back as typed rows.
func TestParseVtepCtlConfiguration(t *testing.T) {
	srv, c, ctx := setup(t)
	ps, ls := ovsdbtest.UniqueName(t), ovsdbtest.UniqueName(t)
	tunnelIP, macIP, floodIP := ovsdbtest.UniqueIPv4(), ovsdbtest.UniqueIPv4(), ovsdbtest.UniqueIPv4()
	for _, args := range [][]string{
		{"add-ps", ps, "--", "set", "Physical_Switch", ps, "tunnel_ips=" + tunnelIP.String(), "management_ips=192.168.5.1", "description=rack1"},
		{"add-port", ps, "p1"},
		{"add-ls", ls, "--", "set", "Logical_Switch", ls, "tunnel_key=10042", "other_config:k=v"},
		{"bind-ls", ps, "p1", "100", ls},
		{"add-ucast-remote", ls, "02:00:00:00:05:01", macIP.String()},
		{"add-mcast-remote", ls, vtep.UnknownDst, floodIP.String()},
	} {
		if _, err := srv.VtepCtl(ctx, args...); err != nil {
			t.Fatal(err)
		}
	}
	su, srow := one(t, selectRows(t, ctx, c, vtep.TablePhysicalSwitch, eq("name", ps)))
	sw, err := vtep.ParsePhysicalSwitch(su, srow)
	if err != nil {
		t.Fatal(err)
	}
	if sw.Name != ps || sw.Description != "rack1" || !reflect.DeepEqual(sw.TunnelIPs, []netip.Addr{tunnelIP}) ||
		!reflect.DeepEqual(sw.ManagementIPs, []netip.Addr{netip.MustParseAddr("192.168.5.1")}) || len(sw.Ports) != 1 {
		t.Fatalf("physical switch %+v", sw)
	}
	port, err := vtep.ParsePhysicalPort(one(t, selectRows(t, ctx, c, vtep.TablePhysicalPort, eq("_uuid", sw.Ports[0]))))
	if err != nil {
		t.Fatal(err)
	}
	lu, lrow := one(t, selectRows(t, ctx, c, vtep.TableLogicalSwitch, eq("name", ls)))
	lsw, err := vtep.ParseLogicalSwitch(lu, lrow)
	if err != nil {
		t.Fatal(err)
	}
	if port.Name != "p1" || port.VLANBindings[100] != lu || len(port.VLANBindings) != 1 {
		t.Fatalf("physical port %+v, logical switch %s", port, lu)
	}
	if lsw.Name != ls || !lsw.HasTunnelKey || lsw.TunnelKey != 10042 || lsw.OtherConfig["k"] != "v" {
		t.Fatalf("logical switch %+v", lsw)
	}
	mac, err := vtep.ParseUcastMac(one(t, selectRows(t, ctx, c, vtep.TableUcastMacsRemote, eq("logical_switch", lu))))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := vtep.ParsePhysicalLocator(one(t, selectRows(t, ctx, c, vtep.TablePhysicalLocator, eq("_uuid", mac.Locator))))
	if err != nil {
		t.Fatal(err)
	}
	if mac.MAC.String() != "02:00:00:00:05:01" || mac.LogicalSwitch != lu || loc.DstIP != macIP || loc.EncapsulationType != vtep.EncapVXLAN {
		t.Fatalf("remote MAC %+v at %+v", mac, loc)
	}
	mc, err := vtep.ParseMcastMac(one(t, selectRows(t, ctx, c, vtep.TableMcastMacsRemote, eq("logical_switch", lu))))
	if err != nil {
		t.Fatal(err)
	}
	set, err := vtep.ParsePhysicalLocatorSet(one(t, selectRows(t, ctx, c, vtep.TablePhysicalLocatorSet, eq("_uuid", mc.LocatorSet))))
	if err != nil {
		t.Fatal(err)
	}
	floc, err := vtep.ParsePhysicalLocator(one(t, selectRows(t, ctx, c, vtep.TablePhysicalLocator, eq("_uuid", set.Locators[0]))))
	if err != nil {
		t.Fatal(err)
	}
	if mc.MAC != vtep.UnknownDst || len(set.Locators) != 1 || floc.DstIP != floodIP {
		t.Fatalf("unknown-dst %+v via %+v at %+v", mc, set, floc)
	}
	g, err := vtep.ParseGlobal(one(t, selectRows(t, ctx, c, vtep.TableGlobal)))
	if err != nil || !contains(g.Switches, su) {
		t.Fatalf("global %+v, %v", g, err)
	}
}

func contains(us []ovsdb.UUID, u ovsdb.UUID) bool {
	for _, x := range us {
		if x == u {
			return true
		}
	}
	return false
}

// The gateway's writes: a remote MAC with its new locator in one
// transaction, a second MAC reusing the locator, and the unknown-dst row
// towards a flooding proxy; vtep-ctl lists them.
func TestInsertRemoteMacs(t *testing.T) {
	srv, c, ctx := setup(t)
	name := ovsdbtest.UniqueName(t)
	res, err := c.Transact(ctx, vtep.Database, ovsdb.Insert{Table: vtep.TableLogicalSwitch, Row: vtep.LogicalSwitch{Name: name, TunnelKey: 10043, HasTunnelKey: true}.Row()})
	if err != nil {
		t.Fatal(err)
	}
	ls := res[0].UUID
	mac1, _ := net.ParseMAC("02:00:00:00:06:01")
	mac2, _ := net.ParseMAC("02:00:00:00:06:02")
	hostLoc := vtep.PhysicalLocator{DstIP: ovsdbtest.UniqueIPv4()}
	res, err = c.Transact(ctx, vtep.Database, vtep.InsertUcastMacRemote(vtep.UcastMac{MAC: mac1, LogicalSwitch: ls, IP: netip.MustParseAddr("192.168.6.1")}, hostLoc)...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := vtep.ParseUcastMac(one(t, selectRows(t, ctx, c, vtep.TableUcastMacsRemote, eq("_uuid", res[1].UUID))))
	if err != nil || got.Locator != res[0].UUID || got.IP != netip.MustParseAddr("192.168.6.1") || got.MAC.String() != mac1.String() {
		t.Fatalf("inserted MAC %+v, %v", got, err)
	}
	hostLoc.UUID = got.Locator
	if _, err := c.Transact(ctx, vtep.Database, vtep.InsertUcastMacRemote(vtep.UcastMac{MAC: mac2, LogicalSwitch: ls}, hostLoc)...); err != nil {
		t.Fatal(err)
	}
	proxy := vtep.PhysicalLocator{DstIP: ovsdbtest.UniqueIPv4()}
	if _, err := c.Transact(ctx, vtep.Database, vtep.InsertMcastMacRemote(vtep.McastMac{MAC: vtep.UnknownDst, LogicalSwitch: ls}, proxy, hostLoc)...); err != nil {
		t.Fatal(err)
	}
	out, err := srv.VtepCtl(ctx, "list-remote-macs", name)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"02:00:00:00:06:01 -> vxlan_over_ipv4/" + hostLoc.DstIP.String(),
		"02:00:00:00:06:02 -> vxlan_over_ipv4/" + hostLoc.DstIP.String(),
		"unknown-dst -> vxlan_over_ipv4/" + hostLoc.DstIP.String(),
		"unknown-dst -> vxlan_over_ipv4/" + proxy.DstIP.String(),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("vtep-ctl list-remote-macs lacks %q:\n%s", want, out)
		}
	}
	// A second locator for the same address breaks Physical_Locator's
	// index: why callers pass the UUID of an existing one.
	_, err = c.Transact(ctx, vtep.Database, vtep.InsertUcastMacRemote(vtep.UcastMac{MAC: mac2, LogicalSwitch: ls}, vtep.PhysicalLocator{DstIP: hostLoc.DstIP})...)
	if !errors.Is(err, ovsdb.ErrConstraintViolation) {
		t.Fatalf("duplicate locator: %v", err)
	}
}
