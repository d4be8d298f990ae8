package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/ovsdbtest"
	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw"
	"github.com/hivenet/hivenet/vxgw/gateway"
	"github.com/hivenet/hivenet/vxgw/ovsdb"
	"github.com/hivenet/hivenet/vxgw/ovsdb/vtep"
)

func TestMain(m *testing.M) { zktest.Main(m) }

// wait bounds every wait for an expected state; it orders nothing.
const wait = 20 * time.Second

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("HIVENET_VXGW_DEBUG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func id(k topology.Kind, name string) topology.ID { return topology.NameID(k, name) }

// Addresses of the test topology: hosts in the VTEP's tunnel zone, and the
// VTEP's own tunnel address.
var (
	addrA    = netip.MustParseAddr("10.0.0.1")
	addrB    = netip.MustParseAddr("10.0.0.2")
	addrC    = netip.MustParseAddr("10.0.0.3")
	vtepAddr = netip.MustParseAddr("192.0.2.200")
)

// env is a VTEP (a real ovsdb-server with one physical switch and ports
// eth0 and eth1), an NSDB holding a topology that names it, and the
// test's own OVSDB client watching the VTEP's database.
type env struct {
	t   testing.TB
	srv *ovsdbtest.Server
	// endpoint is the VTEP's database.
	endpoint string
	admin    nsdb.Client
	vtep     topology.ID
	ovs      *ovsdb.Client
	mon      *ovsdb.Monitor
	// newClient opens another NSDB session on the same database.
	newClient func(t testing.TB) nsdb.Client
}

func newEnv(t testing.TB) *env {
	srv := memory.NewServer(memory.Config{})
	return newEnvOn(t, func(t testing.TB) nsdb.Client {
		c := srv.NewClient()
		t.Cleanup(func() { c.Close() })
		return c
	})
}

func newEnvOn(t testing.TB, newClient func(t testing.TB) nsdb.Client) *env {
	t.Helper()
	srv := ovsdbtest.StartServer(t)
	ctx := context.Background()
	for _, args := range [][]string{
		{"add-ps", "ps1"}, {"set", "Physical_Switch", "ps1", "tunnel_ips=" + vtepAddr.String()},
		{"add-port", "ps1", "eth0"}, {"add-port", "ps1", "eth1"},
	} {
		if _, err := srv.VtepCtl(ctx, args...); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnvWith(t, newClient, srv.Endpoint())
	e.srv = srv
	return e
}

// newEnvWith is newEnvOn for a VTEP database someone else runs.
func newEnvWith(t testing.TB, newClient func(t testing.TB) nsdb.Client, endpoint string) *env {
	t.Helper()
	e := &env{t: t, endpoint: endpoint, newClient: newClient, vtep: id(topology.KindVTEP, "vtep1")}
	ctx := context.Background()
	e.admin = newClient(t)
	topo := &topology.Topology{}
	for _, h := range []string{"host-a", "host-b", "host-c"} {
		topo.Add(&topology.Host{ID: id(topology.KindHost, h), Name: h})
	}
	topo.Add(&topology.TunnelZone{ID: id(topology.KindTunnelZone, "vtz"), Name: "vtz", Type: topology.TunnelZoneVTEP,
		Members: []topology.TunnelZoneMember{
			{Host: id(topology.KindHost, "host-a"), Addr: addrA}, {Host: id(topology.KindHost, "host-b"), Addr: addrB},
			{Host: id(topology.KindHost, "host-c"), Addr: addrC}}})
	for _, b := range []string{"net1", "net2"} {
		topo.Add(&topology.Bridge{ID: id(topology.KindBridge, b), Name: b})
	}
	for i, p := range []struct{ name, bridge, host string }{{"vm1", "net1", "host-a"}, {"vm2", "net1", "host-b"}, {"vm3", "net2", "host-c"}} {
		topo.Add(&topology.Port{ID: id(topology.KindPort, p.name), Name: p.name, Bridge: id(topology.KindBridge, p.bridge),
			Host: id(topology.KindHost, p.host), Interface: fmt.Sprintf("tap%d", i)})
	}
	topo.Add(&topology.VTEP{ID: e.vtep, Name: "vtep1", ManagementIP: netip.MustParseAddr("127.0.0.1"), ManagementPort: 6632,
		TunnelZone: id(topology.KindTunnelZone, "vtz")})
	if _, err := e.admin.Store().Commit(ctx, nsdb.PutAll(topo)...); err != nil {
		t.Fatal(err)
	}
	c, err := ovsdb.Dial(ctx, ovsdb.Config{Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e.ovs = c
	reqs := map[string]ovsdb.MonitorRequest{}
	for _, tb := range []string{vtep.TableLogicalSwitch, vtep.TablePhysicalPort, vtep.TableUcastMacsRemote, vtep.TableUcastMacsLocal,
		vtep.TableMcastMacsRemote, vtep.TablePhysicalLocator, vtep.TablePhysicalLocatorSet} {
		reqs[tb] = ovsdb.MonitorRequest{}
	}
	if e.mon, err = c.Monitor(ctx, vtep.Database, reqs, nil); err != nil {
		t.Fatal(err)
	}
	return e
}

// gateway starts the gateway service for the VTEP on client, as node
// name, outside any cluster node (it writes the VTEP's manager key, as a
// node would); stop ends it and returns RunEntity's error.
func (e *env) gateway(name string, client nsdb.Client) (stop func() error) {
	svc, err := gateway.New(e.gatewayConfig(name, client))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := client.StateKeys().Set(context.Background(), nsdb.KeyVTEPManager(), e.vtep, cluster.NodeID(name).String()); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.RunEntity(ctx, e.vtep) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	e.t.Cleanup(func() { stop() })
	return stop
}

func (e *env) gatewayConfig(name string, client nsdb.Client) gateway.Config {
	return gateway.Config{NSDB: client, Node: cluster.NodeID(name), NodeName: name, Logger: testLogger(e.t).With("node", name),
		Endpoint:   func(*topology.VTEP) (string, error) { return e.endpoint, nil },
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Retry: 50 * time.Millisecond}
}

func (e *env) bind(port string, vlan uint16, bridge string) {
	e.t.Helper()
	if _, err := vxgw.Bind(context.Background(), e.admin, e.vtep, topology.VTEPBinding{PortName: port, VLAN: vlan, Bridge: id(topology.KindBridge, bridge)}); err != nil {
		e.t.Fatal(err)
	}
}

// remoteMAC is a Ucast_Macs_Remote row as the test sees it.
type remoteMAC struct{ loc, ip netip.Addr }

// vtepView is the part of the VTEP's database the gateway writes, by
// bridge name.
type vtepView struct {
	// switches maps a Logical_Switch name to its tunnel key.
	switches map[string]int64
	// bindings maps "port/vlan" to a switch name.
	bindings map[string]string
	remote   map[string]map[string]remoteMAC // switch → MAC → row
	flood    map[string][]netip.Addr         // switch → unknown-dst locators
}

func (e *env) view() vtepView {
	v := vtepView{switches: map[string]int64{}, bindings: map[string]string{}, remote: map[string]map[string]remoteMAC{}, flood: map[string][]netip.Addr{}}
	lsName := map[ovsdb.UUID]string{}
	for u, r := range e.mon.Table(vtep.TableLogicalSwitch) {
		ls, _ := vtep.ParseLogicalSwitch(u, r)
		lsName[u] = ls.Name
		v.switches[ls.Name] = ls.TunnelKey
	}
	loc := func(u ovsdb.UUID) netip.Addr {
		r, ok := e.mon.Row(vtep.TablePhysicalLocator, u)
		if !ok {
			return netip.Addr{}
		}
		l, _ := vtep.ParsePhysicalLocator(u, r)
		return l.DstIP
	}
	for u, r := range e.mon.Table(vtep.TablePhysicalPort) {
		p, _ := vtep.ParsePhysicalPort(u, r)
		for vlan, ls := range p.VLANBindings {
			v.bindings[fmt.Sprintf("%s/%d", p.Name, vlan)] = lsName[ls]
		}
	}
	for u, r := range e.mon.Table(vtep.TableUcastMacsRemote) {
		m, _ := vtep.ParseUcastMac(u, r)
		ls := lsName[m.LogicalSwitch]
		if v.remote[ls] == nil {
			v.remote[ls] = map[string]remoteMAC{}
		}
		if _, dup := v.remote[ls][m.MAC.String()]; dup {
			v.remote[ls][m.MAC.String()+" (duplicate)"] = remoteMAC{}
		}
		v.remote[ls][m.MAC.String()] = remoteMAC{loc: loc(m.Locator), ip: m.IP}
	}
	for u, r := range e.mon.Table(vtep.TableMcastMacsRemote) {
		m, _ := vtep.ParseMcastMac(u, r)
		if m.MAC != vtep.UnknownDst {
			continue
		}
		set, _ := e.mon.Row(vtep.TablePhysicalLocatorSet, m.LocatorSet)
		s, _ := vtep.ParsePhysicalLocatorSet(m.LocatorSet, set)
		for _, l := range s.Locators {
			v.flood[lsName[m.LogicalSwitch]] = append(v.flood[lsName[m.LogicalSwitch]], loc(l))
		}
	}
	return v
}

// until waits for cond, reporting what it last saw if it never holds.
func until(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ok, got := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last saw: %s", what, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// untilRemote waits until switch ls holds exactly want.
func (e *env) untilRemote(ls string, want map[string]remoteMAC) {
	e.t.Helper()
	until(e.t, "Ucast_Macs_Remote of "+ls, func() (bool, string) {
		got := e.view().remote[ls]
		return maps.Equal(got, want) || len(got) == 0 && len(want) == 0, fmt.Sprint(got)
	})
}

func swName(bridge string) string { return "hivenet-" + id(topology.KindBridge, bridge).String() }

// macTable returns the untagged MAC table of a bridge, as admin sees it.
func (e *env) macTable(bridge string) nsdb.Table[topology.MAC, topology.ID] {
	e.t.Helper()
	tb, err := e.admin.Tables().MACTable(context.Background(), id(topology.KindBridge, bridge), 0)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { tb.Close() })
	return tb
}

func (e *env) ip4Table(bridge string) nsdb.Table[netip.Addr, topology.MAC] {
	e.t.Helper()
	tb, err := e.admin.Tables().IP4MACTable(context.Background(), id(topology.KindBridge, bridge))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { tb.Close() })
	return tb
}

// addLocal inserts a Ucast_Macs_Local row on a switch, as the VTEP does
// when it learns a MAC, and returns its UUID.
func (e *env) addLocal(ls, mac string, ip netip.Addr) ovsdb.UUID {
	e.t.Helper()
	var lsID ovsdb.UUID
	for u, r := range e.mon.Table(vtep.TableLogicalSwitch) {
		if l, _ := vtep.ParseLogicalSwitch(u, r); l.Name == ls {
			lsID = u
		}
	}
	if lsID == "" {
		e.t.Fatalf("no switch %s", ls)
	}
	hw := topology.MustParseMAC(mac)
	row := vtep.UcastMac{MAC: hw[:], LogicalSwitch: lsID, IP: ip}.Row()
	ops := []ovsdb.Operation{}
	var locRef any
	// The server's locator, not the cache's: it deletes a locator as soon
	// as nothing refers to it.
	sel, err := e.ovs.Transact(context.Background(), vtep.Database, ovsdb.Select{Table: vtep.TablePhysicalLocator,
		Where: []ovsdb.Condition{ovsdb.Cond("dst_ip", ovsdb.FuncEQ, vtepAddr.String())}, Columns: []string{"_uuid"}})
	if err != nil {
		e.t.Fatal(err)
	}
	if rows := sel[0].Rows; len(rows) > 0 {
		locRef = rows[0]["_uuid"]
	}
	if locRef == nil {
		ops = append(ops, ovsdb.Insert{Table: vtep.TablePhysicalLocator, Row: vtep.PhysicalLocator{DstIP: vtepAddr}.Row(), UUIDName: "loc"})
		locRef = ovsdb.NamedUUID("loc")
	}
	row["locator"] = locRef
	ops = append(ops, ovsdb.Insert{Table: vtep.TableUcastMacsLocal, Row: row})
	res, err := e.ovs.Transact(context.Background(), vtep.Database, ops...)
	if err != nil {
		e.t.Fatal(err)
	}
	return res[len(res)-1].UUID
}

func (e *env) deleteRow(table string, u ovsdb.UUID) {
	e.t.Helper()
	if _, err := e.ovs.Transact(context.Background(), vtep.Database, ovsdb.Delete{Table: table, Where: []ovsdb.Condition{ovsdb.Cond("_uuid", ovsdb.FuncEQ, u)}}); err != nil {
		e.t.Fatal(err)
	}
}

// status reads the VTEP's gateway status.
func (e *env) status() vxgw.Status {
	e.t.Helper()
	st, err := vxgw.ReadStatus(context.Background(), e.admin, e.vtep)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}
