package nsdbtest

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// testTableList: every table opened by any client is listed by every
// client implementing nsdb.TableLister (both backends must), sorted, even
// when its device does not exist.
func testTableList(t *testing.T, h Harness) {
	a, b := h.NewClient(t), h.NewClient(t)
	lister, ok := b.(nsdb.TableLister)
	if !ok {
		t.Fatalf("%T does not implement nsdb.TableLister", b)
	}
	if got := must[[]nsdb.TableID](t, "ListTables")(lister.ListTables(testContext(t))); len(got) != 0 {
		t.Fatalf("fresh database lists tables %v", got)
	}
	br, rt := bridge("b1"), router("r1") // never created in the store
	ctx := testContext(t)
	m0 := openMAC(t, a, br.ID, 0)
	m5 := openMAC(t, a, br.ID, 5)
	if err := m5.AddPersistent(ctx, topology.MAC{2, 0, 0, 0, 0, 1}, id(topology.KindPort, "p")); err != nil {
		t.Fatal(err)
	}
	ip := must[nsdb.Table[netip.Addr, topology.MAC]](t, "IP4MACTable")(a.Tables().IP4MACTable(ctx, br.ID))
	arp := must[nsdb.Table[netip.Addr, nsdb.ARPEntry]](t, "ARPTable")(a.Tables().ARPTable(ctx, rt.ID))
	for _, x := range []interface{ Close() error }{m0, m5, ip, arp} {
		x.Close()
	}
	want := []nsdb.TableID{
		{Type: nsdb.TableMAC, Device: br.ID, VLAN: 0},
		{Type: nsdb.TableMAC, Device: br.ID, VLAN: 5},
		{Type: nsdb.TableIP4MAC, Device: br.ID},
		{Type: nsdb.TableARP, Device: rt.ID},
	}
	got := must[[]nsdb.TableID](t, "ListTables")(lister.ListTables(ctx))
	if !slices.Equal(got, want) {
		t.Fatalf("ListTables = %v, want %v", got, want)
	}
}
