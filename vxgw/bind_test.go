package vxgw_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw"
)

func id(k topology.Kind, name string) topology.ID { return topology.NameID(k, name) }

// world is two bridges (net2 with its own VNI) and a VTEP.
func world(t *testing.T) nsdb.Client {
	t.Helper()
	c := memory.NewServer(memory.Config{}).NewClient()
	t.Cleanup(func() { c.Close() })
	topo := &topology.Topology{}
	topo.Add(&topology.Bridge{ID: id(topology.KindBridge, "net1"), Name: "net1"})
	topo.Add(&topology.Bridge{ID: id(topology.KindBridge, "net2"), Name: "net2", VNI: 20000})
	topo.Add(&topology.VTEP{ID: id(topology.KindVTEP, "vtep1"), Name: "vtep1", ManagementIP: netip.MustParseAddr("192.0.2.1")})
	if _, err := c.Store().Commit(context.Background(), nsdb.PutAll(topo)...); err != nil {
		t.Fatal(err)
	}
	return c
}

func get[T topology.Object](t *testing.T, c nsdb.Client, k topology.Kind, i topology.ID) (T, bool) {
	t.Helper()
	v, err := c.Store().Get(context.Background(), k, i)
	if errors.Is(err, nsdb.ErrNotFound) {
		var zero T
		return zero, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return v.Object.(T), true
}

func TestBindAndUnbind(t *testing.T) {
	c := world(t)
	ctx := context.Background()
	vtep, net1, net2 := id(topology.KindVTEP, "vtep1"), id(topology.KindBridge, "net1"), id(topology.KindBridge, "net2")
	bind := func(port string, vlan uint16, br topology.ID) error {
		_, err := vxgw.Bind(ctx, c, vtep, topology.VTEPBinding{PortName: port, VLAN: vlan, Bridge: br})
		return err
	}
	for _, b := range []struct {
		port string
		vlan uint16
		br   topology.ID
	}{{"eth0", 10, net1}, {"eth0", 10, net1}, {"eth1", 0, net1}, {"eth0", 20, net2}} {
		if err := bind(b.port, b.vlan, b.br); err != nil {
			t.Fatalf("bind %s/%d: %v", b.port, b.vlan, err)
		}
	}
	if err := bind("eth0", 10, net2); !errors.Is(err, vxgw.ErrBound) {
		t.Fatalf("binding a bound port and VLAN to another bridge: %v, want ErrBound", err)
	}
	if b, _ := get[*topology.Bridge](t, c, topology.KindBridge, net1); b.VNI != vxgw.MinVNI {
		t.Errorf("net1's VNI %d, want the first of the sequence, %d", b.VNI, vxgw.MinVNI)
	}
	if b, _ := get[*topology.Bridge](t, c, topology.KindBridge, net2); b.VNI != 20000 {
		t.Errorf("net2's VNI %d, want its own 20000", b.VNI)
	}
	if v, _ := get[*topology.VTEP](t, c, topology.KindVTEP, vtep); len(v.Bindings) != 3 {
		t.Errorf("bindings %v, want 3", v.Bindings)
	}
	p, ok := get[*topology.Port](t, c, topology.KindPort, vxgw.PortID(net1, vtep))
	if !ok || p.Bridge != net1 || p.VTEP != vtep || p.Name != vxgw.PortName("net1", "vtep1") || p.Kind() != topology.PortExterior {
		t.Fatalf("net1's VxLAN port: %+v", p)
	}

	// The port goes with the bridge's last binding; the VNI stays.
	if err := vxgw.Unbind(ctx, c, vtep, "eth0", 10); err != nil {
		t.Fatal(err)
	}
	if _, ok := get[*topology.Port](t, c, topology.KindPort, vxgw.PortID(net1, vtep)); !ok {
		t.Fatal("net1's port went with one of its two bindings")
	}
	if err := vxgw.Unbind(ctx, c, vtep, "eth1", 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := get[*topology.Port](t, c, topology.KindPort, vxgw.PortID(net1, vtep)); ok {
		t.Fatal("net1's port survived its last binding")
	}
	if b, _ := get[*topology.Bridge](t, c, topology.KindBridge, net1); b.VNI != vxgw.MinVNI {
		t.Errorf("net1's VNI after unbinding: %d", b.VNI)
	}
	if err := vxgw.Unbind(ctx, c, vtep, "eth1", 0); !errors.Is(err, nsdb.ErrNotFound) {
		t.Errorf("unbinding twice: %v, want ErrNotFound", err)
	}
	if err := bind("eth9", 0, id(topology.KindBridge, "nope")); !errors.Is(err, nsdb.ErrNotFound) {
		t.Errorf("binding a missing bridge: %v, want ErrNotFound", err)
	}
}

// Prepare does for bindings written with the VTEP what Bind does.
func TestPrepare(t *testing.T) {
	c := world(t)
	ctx := context.Background()
	vtep, net1 := id(topology.KindVTEP, "vtep1"), id(topology.KindBridge, "net1")
	v, _ := get[*topology.VTEP](t, c, topology.KindVTEP, vtep)
	v.Bindings = []topology.VTEPBinding{{PortName: "eth0", Bridge: net1}}
	if _, err := c.Store().Commit(ctx, nsdb.Put(v)); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		wrote, err := vxgw.Prepare(ctx, c, vtep)
		if err != nil || wrote != want {
			t.Fatalf("Prepare #%d: wrote %v, %v; want %v", i+1, wrote, err, want)
		}
	}
	if b, _ := get[*topology.Bridge](t, c, topology.KindBridge, net1); b.VNI != vxgw.MinVNI {
		t.Errorf("VNI %d", b.VNI)
	}
	if _, ok := get[*topology.Port](t, c, topology.KindPort, vxgw.PortID(net1, vtep)); !ok {
		t.Fatal("no VxLAN port")
	}
	v.Bindings = nil
	if _, err := c.Store().Commit(ctx, nsdb.Put(v)); err != nil {
		t.Fatal(err)
	}
	if wrote, err := vxgw.Prepare(ctx, c, vtep); err != nil || !wrote {
		t.Fatalf("Prepare after the binding's removal: %v, %v", wrote, err)
	}
	if _, ok := get[*topology.Port](t, c, topology.KindPort, vxgw.PortID(net1, vtep)); ok {
		t.Fatal("the VxLAN port of an unbound bridge survived Prepare")
	}
}

func TestConnectionText(t *testing.T) {
	c := vxgw.Connection{State: vxgw.ConnDisconnected, Endpoint: "tcp:192.0.2.1:6632", Node: id(topology.KindHost, "cn1"), NodeName: "cn1",
		Since: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Error: "connection refused"}
	got, err := vxgw.ParseConnection(c.String())
	if err != nil || got != c {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "{}", `{"state": "happy"}`, "[]", `{"state": "connected", "node": "x"}`} {
		if _, err := vxgw.ParseConnection(bad); !errors.Is(err, nsdb.ErrInvalid) {
			t.Errorf("ParseConnection(%q): %v, want ErrInvalid", bad, err)
		}
	}
}

func FuzzParseConnection(f *testing.F) {
	f.Add(vxgw.Connection{State: vxgw.ConnConnected, Endpoint: "unix:/x", Since: time.Unix(1, 0).UTC()}.String())
	f.Add(`{"state":"connecting","node":"00000000-0000-0000-0000-000000000000"}`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := vxgw.ParseConnection(s)
		if err != nil {
			if !errors.Is(err, nsdb.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		again, err := vxgw.ParseConnection(c.String())
		if err != nil || !again.Since.Equal(c.Since) || again.State != c.State || again.Endpoint != c.Endpoint || again.Error != c.Error {
			t.Fatalf("re-parse of %q: %+v, %v", c.String(), again, err)
		}
	})
}
