package nsdbtest

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// testTableList: every table any client added an entry to is listed by
// every client implementing nsdb.TableLister (both backends must), sorted,
// even when its device does not exist and after its entries are removed;
// a table only opened is not listed.
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
	ip := must[nsdb.Table[netip.Addr, topology.MAC]](t, "IP4MACTable")(a.Tables().IP4MACTable(ctx, br.ID))
	arp := must[nsdb.Table[netip.Addr, nsdb.ARPEntry]](t, "ARPTable")(a.Tables().ARPTable(ctx, rt.ID))
	if got := must[[]nsdb.TableID](t, "ListTables")(lister.ListTables(ctx)); len(got) != 0 {
		t.Fatalf("tables only opened are listed: %v", got)
	}
	// Reads and failed removals write nothing either.
	if err := m0.Remove(ctx, topology.MAC{2, 0, 0, 0, 0, 9}, id(topology.KindPort, "p")); !errors.Is(err, nsdb.ErrNotFound) {
		t.Fatalf("Remove from an empty table: %v, want ErrNotFound", err)
	}
	if err := m0.RemovePersistent(ctx, topology.MAC{2, 0, 0, 0, 0, 9}, id(topology.KindPort, "p")); !errors.Is(err, nsdb.ErrNotFound) {
		t.Fatalf("RemovePersistent from an empty table: %v, want ErrNotFound", err)
	}
	if err := m5.AddPersistent(ctx, topology.MAC{2, 0, 0, 0, 0, 1}, id(topology.KindPort, "p")); err != nil {
		t.Fatal(err)
	}
	addr, mac := netip.MustParseAddr("10.0.0.1"), topology.MAC{2, 0, 0, 0, 0, 2}
	if err := ip.Add(ctx, addr, mac); err != nil {
		t.Fatal(err)
	}
	if err := ip.Remove(ctx, addr, mac); err != nil {
		t.Fatal(err)
	}
	if err := arp.AddPersistent(ctx, addr, nsdb.ARPEntry{MAC: mac}); err != nil {
		t.Fatal(err)
	}
	for _, x := range []interface{ Close() error }{m0, m5, ip, arp} {
		x.Close()
	}
	want := []nsdb.TableID{
		{Type: nsdb.TableMAC, Device: br.ID, VLAN: 5},
		{Type: nsdb.TableIP4MAC, Device: br.ID},
		{Type: nsdb.TableARP, Device: rt.ID},
	}
	got := must[[]nsdb.TableID](t, "ListTables")(lister.ListTables(ctx))
	if !slices.Equal(got, want) {
		t.Fatalf("ListTables = %v, want %v", got, want)
	}
}
