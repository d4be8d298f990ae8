package nsdbtest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// testNeutronDocs: Neutron documents (topology.KindNeutron) are stored
// like objects — versioned, listed, written in one transaction with native
// objects — and are not part of the device model: nsdb.Load and a watch of
// every kind leave them out.
func testNeutronDocs(t *testing.T, h Harness) {
	c := h.NewClient(t)
	s := c.Store()
	ctx := testContext(t)
	net := bridge("neutron-net")
	doc := &topology.NeutronDoc{ID: net.ID, Resource: "network", Doc: json.RawMessage(`{"name":"private"}`)}
	v := commit(t, s, nsdb.Create(doc), nsdb.Create(net))
	if got := get(t, s, topology.KindNeutron, doc.ID); got.Version != v || !sameObject(got.Object, doc) {
		t.Fatalf("document read back as %+v@%d, want %+v@%d", got.Object, got.Version, doc, v)
	}
	if got := get(t, s, topology.KindBridge, net.ID); got.Version != v {
		t.Fatalf("the bridge written with the document has version %d, want the commit's %d", got.Version, v)
	}
	vs := must[[]nsdb.Versioned](t, "List(neutron)")(s.List(ctx, topology.KindNeutron))
	if len(vs) != 1 || vs[0].Object.ObjectID() != doc.ID {
		t.Fatalf("List(neutron) = %v, want the one document", vs)
	}
	loaded := must[*topology.Topology](t, "Load")(nsdb.Load(ctx, s))
	if loaded.Len() != 1 {
		t.Fatalf("Load returned %d objects, want the bridge only", loaded.Len())
	}
	w := must[nsdb.Watch[nsdb.Event]](t, "WatchKinds()")(s.WatchKinds(ctx))
	defer w.Close()
	for _, e := range next(t, w) {
		if e.Kind == topology.KindNeutron {
			t.Fatalf("a watch of every kind delivered a Neutron document: %+v", e)
		}
	}

	// A bad document is refused, and the transaction with it.
	bad := &topology.NeutronDoc{ID: id(topology.KindBridge, "neutron-bad"), Resource: "port", Doc: json.RawMessage(`[1]`)}
	before := dump(t, s)
	_, err := s.Commit(ctx, nsdb.Create(bridge("neutron-other")), nsdb.Create(bad))
	wantErr(t, "a document that is not a JSON object", err, nsdb.ErrInvalid)
	if after := dump(t, s); after != before {
		t.Fatalf("refused transaction wrote:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// Updates are version-checked; a delete of the document with its
	// translation leaves nothing.
	doc2 := clone(doc)
	doc2.Doc = json.RawMessage(`{"name":"renamed"}`)
	v2 := commit(t, s, nsdb.Update(doc2, v))
	_, err = s.Commit(ctx, nsdb.Update(doc, v))
	wantErr(t, "update of a document at a superseded version", err, nsdb.ErrConflict)
	commit(t, s, nsdb.Delete(topology.KindNeutron, doc.ID, v2), nsdb.Delete(topology.KindBridge, net.ID, nsdb.AnyVersion))
	absent(t, s, topology.KindNeutron, doc.ID)
	if vs := must[[]nsdb.Versioned](t, "List(neutron)")(s.List(context.Background(), topology.KindNeutron)); len(vs) != 0 {
		t.Fatalf("List(neutron) after the delete = %v", vs)
	}
}
