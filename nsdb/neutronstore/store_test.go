package neutronstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/nsdb/neutronstore"
	"github.com/hivenet/hivenet/nsdb/nsdbtest"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/neutron"
)

func TestMain(m *testing.M) { zktest.Main(m) }

// backends open clients on one fresh database.
var backends = map[string]func(t *testing.T) func() nsdb.Client{
	"memory": func(t *testing.T) func() nsdb.Client {
		srv := memory.NewServer(memory.Config{})
		return func() nsdb.Client {
			c := srv.NewClient()
			t.Cleanup(func() { c.Close() })
			return c
		}
	},
	"zookeeper": func(t *testing.T) func() nsdb.Client {
		servers, root := strings.Split(zktest.Standalone(t), ","), zktest.UniquePath(t)
		return func() nsdb.Client {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := zookeeper.New(ctx, zookeeper.Config{Servers: servers, Root: root})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		}
	},
}

func forEachBackend(t *testing.T, f func(t *testing.T, open func() nsdb.Client)) {
	for _, name := range []string{"memory", "zookeeper"} {
		t.Run(name, func(t *testing.T) { f(t, backends[name](t)) })
	}
}

func ptr[T any](v T) *T { return &v }

// env is the operator's part: hosts and the provider router.
func seedNative(t *testing.T, c nsdb.Client) {
	t.Helper()
	prov := topology.NameID(topology.KindRouter, "provider")
	_, err := c.Store().Commit(context.Background(),
		nsdb.Create(&topology.Host{ID: topology.NameID(topology.KindHost, "host-a"), Name: "host-a"}),
		nsdb.Create(&topology.Router{ID: prov, Name: "provider"}))
	if err != nil {
		t.Fatal(err)
	}
}

type ids struct {
	public, private, publicSub, privateSub, router, web, vm1, fip topology.ID
}

// build makes a small cloud, one Update per API request.
func build(t *testing.T, s *neutronstore.Store) ids {
	t.Helper()
	ctx := context.Background()
	r := rand.NewChaCha8([32]byte{7})
	id := func() topology.ID { x, _ := topology.NewID(r); return x }
	var x ids
	x.public, x.private, x.publicSub, x.privateSub, x.router, x.web, x.vm1, x.fip = id(), id(), id(), id(), id(), id(), id(), id()
	steps := []func(m *neutron.Model) error{
		func(m *neutron.Model) error {
			_, err := m.CreateNetwork(x.public, neutron.NetworkFields{Name: ptr("public"), External: ptr(true)})
			return err
		},
		func(m *neutron.Model) error {
			_, err := m.CreateSubnet(x.publicSub, neutron.SubnetFields{NetworkID: &x.public, CIDR: ptr(netip.MustParsePrefix("203.0.113.0/24"))})
			return err
		},
		func(m *neutron.Model) error {
			_, err := m.CreateNetwork(x.private, neutron.NetworkFields{Name: ptr("private")})
			return err
		},
		func(m *neutron.Model) error {
			_, err := m.CreateSubnet(x.privateSub, neutron.SubnetFields{NetworkID: &x.private, CIDR: ptr(netip.MustParsePrefix("10.0.0.0/24"))})
			return err
		},
		func(m *neutron.Model) error {
			gw := &neutron.GatewayFields{NetworkID: x.public}
			_, err := m.CreateRouter(x.router, neutron.RouterFields{Name: ptr("r1"), Gateway: &gw})
			return err
		},
		func(m *neutron.Model) error {
			_, err := m.AddInterface(x.router, x.privateSub, topology.ID{})
			return err
		},
		func(m *neutron.Model) error {
			if _, err := m.CreateSecurityGroup(x.web, neutron.SecurityGroupFields{Name: ptr("web")}); err != nil {
				return err
			}
			_, err := m.CreateRule(id(), neutron.RuleFields{GroupID: &x.web, Direction: ptr("ingress"), Protocol: ptr("tcp"), PortMin: ptr(22)})
			return err
		},
		func(m *neutron.Model) error {
			_, err := m.CreatePort(x.vm1, neutron.PortFields{NetworkID: &x.private, Name: ptr("vm1"), Host: ptr("host-a"),
				SecurityGroups: &[]topology.ID{x.web}})
			return err
		},
		func(m *neutron.Model) error {
			_, err := m.CreateFloatingIP(x.fip, neutron.FloatingIPFields{NetworkID: &x.public, PortID: &x.vm1})
			return err
		},
	}
	for i, f := range steps {
		if _, err := s.Update(ctx, f); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	return x
}

func teardown(t *testing.T, s *neutronstore.Store, x ids) {
	t.Helper()
	var none *neutron.GatewayFields
	steps := []func(m *neutron.Model) error{
		func(m *neutron.Model) error { return m.DeleteFloatingIP(x.fip) },
		func(m *neutron.Model) error { return m.DeletePort(x.vm1) },
		func(m *neutron.Model) error {
			_, err := m.RemoveInterface(x.router, x.privateSub, topology.ID{})
			return err
		},
		func(m *neutron.Model) error {
			_, err := m.UpdateRouter(x.router, neutron.RouterFields{Gateway: &none})
			return err
		},
		func(m *neutron.Model) error { return m.DeleteRouter(x.router) },
		func(m *neutron.Model) error { return m.DeleteSecurityGroup(x.web) },
		func(m *neutron.Model) error { return m.DeleteNetwork(x.private) },
		func(m *neutron.Model) error { return m.DeleteNetwork(x.public) },
	}
	for i, f := range steps {
		if _, err := s.Update(context.Background(), f); err != nil {
			t.Fatalf("teardown step %d: %v", i, err)
		}
	}
}

// versions lists every object's kind, ID and version.
func versions(t *testing.T, c nsdb.Client) string {
	t.Helper()
	var b strings.Builder
	for _, k := range topology.StoredKinds() {
		vs, err := c.Store().List(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			fmt.Fprintln(&b, k, v.Object.ObjectID(), v.Version)
		}
	}
	return b.String()
}

func dump(t *testing.T, c nsdb.Client) string {
	t.Helper()
	d, err := nsdbtest.Dump(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Each write commits the Neutron documents with their translation in one
// transaction; seeds land in the tables; deleting everything leaves the
// database as it was, objects and table entries alike.
func TestStoreRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() nsdb.Client) {
		c := open()
		seedNative(t, c)
		s, err := neutronstore.New(neutronstore.Config{NSDB: c})
		if err != nil {
			t.Fatal(err)
		}
		before := dump(t, c)
		x := build(t, s)
		ctx := context.Background()

		// The port's document, its bridge port and its chains carry one
		// version: the commit's.
		doc, err := c.Store().Get(ctx, topology.KindNeutron, x.vm1)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []struct {
			kind topology.Kind
			id   topology.ID
		}{{topology.KindPort, x.vm1}, {topology.KindChain, neutron.DeriveID(x.vm1, "in")}, {topology.KindChain, neutron.DeriveID(x.vm1, "spoof")}} {
			v, err := c.Store().Get(ctx, k.kind, k.id)
			if err != nil {
				t.Fatalf("%s %s: %v", k.kind, k.id, err)
			}
			if v.Version != doc.Version {
				t.Errorf("%s %s has version %d, the port's document %d: not one transaction", k.kind, k.id, v.Version, doc.Version)
			}
		}
		bp, _ := c.Store().Get(ctx, topology.KindPort, x.vm1)
		if p := bp.Object.(*topology.Port); p.Host != topology.NameID(topology.KindHost, "host-a") || p.Name != "vm1-"+x.vm1.String()[:8] {
			t.Fatalf("vm1's bridge port %+v", p)
		}
		// The provider router links the external subnet.
		if _, err := c.Store().Get(ctx, topology.KindPort, neutron.DeriveID(x.publicSub, "provider-port")); err != nil {
			t.Fatalf("provider router port: %v", err)
		}
		// Seeds: vm1's address and the floating IP's in the tables.
		m, err := s.Model(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ip4, err := c.Tables().IP4MACTable(ctx, x.public)
		if err != nil {
			t.Fatal(err)
		}
		fip := m.FloatingIPs[x.fip].Addr
		if mac, ok := ip4.Lookup(fip); !ok || mac != m.Ports[m.Routers[x.router].Gateway.PortID].MAC {
			t.Fatalf("external network's IPv4-MAC entry of %s: %v %v", fip, mac, ok)
		}
		ip4.Close()

		// An update re-translates: renaming the port renames its bridge port.
		if _, err := s.Update(ctx, func(m *neutron.Model) error {
			_, err := m.UpdatePort(x.vm1, neutron.PortFields{Name: ptr("web1")})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		bp, _ = c.Store().Get(ctx, topology.KindPort, x.vm1)
		if n := bp.Object.ObjectName(); n != "web1-"+x.vm1.String()[:8] {
			t.Fatalf("renamed port's bridge port is named %q", n)
		}
		// A Sync that finds nothing to change writes nothing.
		unchanged := versions(t, c)
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if v := versions(t, c); v != unchanged {
			t.Fatalf("Sync of an unchanged model wrote:\nbefore:\n%s\nafter:\n%s", unchanged, v)
		}
		teardown(t, s, x)
		if after := dump(t, c); after != before {
			t.Fatalf("the database after deleting everything differs:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

// A refused change writes nothing; a translation the NSDB refuses is a
// conflict and writes nothing either.
func TestStoreRefusals(t *testing.T) {
	open := backends["memory"](t)
	c := open()
	seedNative(t, c)
	s, _ := neutronstore.New(neutronstore.Config{NSDB: c})
	x := build(t, s)
	before := dump(t, c)
	ctx := context.Background()
	_, err := s.Update(ctx, func(m *neutron.Model) error { return m.DeleteNetwork(x.private) })
	if ne := (*neutron.Error)(nil); !errors.As(err, &ne) || ne.Type != "NetworkInUse" {
		t.Fatalf("deleting a network in use: %v", err)
	}
	// A second port bound to vm1's interface on host-a.
	_, err = s.Update(ctx, func(m *neutron.Model) error {
		prof := json.RawMessage(`{"interface_name": "tap` + x.vm1.String()[:11] + `"}`)
		_, err := m.CreatePort(neutron.DeriveID(x.vm1, "twin"), neutron.PortFields{NetworkID: &x.private, Host: ptr("host-a"), Profile: &prof})
		return err
	})
	if ne := (*neutron.Error)(nil); !errors.As(err, &ne) || !errors.Is(err, neutron.ErrConflict) || ne.Type != "TopologyConflict" {
		t.Fatalf("a port bound to a bound interface: %v", err)
	}
	if after := dump(t, c); after != before {
		t.Fatalf("refused writes changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// Writers racing through several stores (nodes) lose no write, and the
// translation stays whole.
func TestStoreConcurrentWriters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() nsdb.Client) {
		const writers, each = 3, 4
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			s, _ := neutronstore.New(neutronstore.Config{NSDB: open()})
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					_, err := s.Update(context.Background(), func(m *neutron.Model) error {
						_, err := m.CreateNetwork(topology.NameID(topology.KindBridge, fmt.Sprint(w, "-", i)), neutron.NetworkFields{Name: ptr(fmt.Sprint("net", w, i))})
						return err
					})
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		c := open()
		bridges, _ := c.Store().List(context.Background(), topology.KindBridge)
		docs, _ := c.Store().List(context.Background(), topology.KindNeutron)
		if len(bridges) != writers*each || len(docs) != writers*each+1 {
			t.Fatalf("%d bridges and %d documents after %d network creations", len(bridges), len(docs), writers*each)
		}
	})
}

// A translated object deleted through the native API does not block the
// Neutron delete; Sync writes again what the native API deleted, and binds
// a port to a host created after the port was bound to it.
func TestStoreFollowsNativeChanges(t *testing.T) {
	open := backends["memory"](t)
	c := open()
	seedNative(t, c)
	s, _ := neutronstore.New(neutronstore.Config{NSDB: c})
	x := build(t, s)
	ctx := context.Background()
	if _, err := c.Store().Commit(ctx, nsdb.Delete(topology.KindPort, x.vm1, nsdb.AnyVersion)); err != nil {
		t.Fatal(err)
	}
	port := neutron.DeriveID(x.vm1, "late")
	if _, err := s.Update(ctx, func(m *neutron.Model) error {
		if err := m.DeleteFloatingIP(x.fip); err != nil {
			return err
		}
		if err := m.DeletePort(x.vm1); err != nil {
			return err
		}
		_, err := m.CreatePort(port, neutron.PortFields{NetworkID: &x.private, Host: ptr("host-late"), PortSecurity: ptr(false)})
		return err
	}); err != nil {
		t.Fatalf("deleting a port whose bridge port the native API deleted: %v", err)
	}
	if _, err := c.Store().Get(ctx, topology.KindChain, neutron.DeriveID(x.vm1, "in")); !errors.Is(err, nsdb.ErrNotFound) {
		t.Fatalf("the deleted port's chain: %v", err)
	}
	p, _ := c.Store().Get(ctx, topology.KindPort, port)
	if p.Object.(*topology.Port).Host != (topology.ID{}) {
		t.Fatal("a port bound to a host that does not exist is bound")
	}

	// The native API deletes the private network's bridge: its ports and
	// DHCP subnet go with it (cascade); Sync writes them again.
	before := dump(t, c)
	if _, err := c.Store().Commit(ctx, nsdb.Delete(topology.KindBridge, x.private, nsdb.AnyVersion)); err != nil {
		t.Fatal(err)
	}
	late := &topology.Host{ID: topology.NameID(topology.KindHost, "host-late"), Name: "host-late"}
	if _, err := c.Store().Commit(ctx, nsdb.Create(late)); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	p, _ = c.Store().Get(ctx, topology.KindPort, port)
	if p.Object == nil || p.Object.(*topology.Port).Host != late.ID {
		t.Fatalf("after Sync the port is %+v, want it bound to the host created since", p.Object)
	}
	if _, err := c.Store().Commit(ctx, nsdb.Delete(topology.KindHost, late.ID, nsdb.AnyVersion)); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if after := dump(t, c); after != before {
		t.Fatalf("Sync did not repair the native deletes:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// The tunnel key an agent writes into a translated port survives the
// port's re-translation, and a Sync does not count it as a change.
func TestStoreKeepsTunnelKeys(t *testing.T) {
	c := backends["memory"](t)()
	seedNative(t, c)
	s, _ := neutronstore.New(neutronstore.Config{NSDB: c})
	x := build(t, s)
	ctx := context.Background()
	v, err := c.Store().Get(ctx, topology.KindPort, x.vm1)
	if err != nil {
		t.Fatal(err)
	}
	p := *v.Object.(*topology.Port)
	p.TunnelKey = 0x100042
	if _, err := c.Store().Commit(ctx, nsdb.Update(&p, v.Version)); err != nil {
		t.Fatal(err)
	}
	before := versions(t, c)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if after := versions(t, c); after != before {
		t.Fatalf("Sync rewrote objects because of a tunnel key:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if _, err := s.Update(ctx, func(m *neutron.Model) error {
		_, err := m.UpdatePort(x.vm1, neutron.PortFields{Name: ptr("renamed")})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	v, _ = c.Store().Get(ctx, topology.KindPort, x.vm1)
	if got := v.Object.(*topology.Port); got.TunnelKey != 0x100042 || got.Name != "renamed-"+x.vm1.String()[:8] {
		t.Fatalf("re-translated port %+v lost its tunnel key or its new name", got)
	}
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
