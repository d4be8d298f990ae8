package zookeeper

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/nsdbtest"
	"github.com/hivenet/hivenet/topology"
)

var testAuth = &Auth{Digest: Digest{User: "hivenet", Password: "s3cret-test-password"}}

// authHarness is harness with every client authenticated as auth.
type authHarness struct {
	harness
	auth *Auth
}

func (h authHarness) NewClient(t *testing.T) nsdb.Client { return h.client(t) }

func (h authHarness) client(t testing.TB) *Client {
	t.Helper()
	c, err := h.open(t, h.auth)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (h authHarness) open(t testing.TB, auth *Auth) (*Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return New(ctx, Config{Servers: h.servers, Root: h.root, SessionTimeout: h.timeout, Auth: auth, Logger: testLogger()})
}

// anonymous connects to servers with go-zookeeper and no credentials.
func anonymous(t *testing.T, servers []string) *zk.Conn {
	t.Helper()
	z, ev, err := zk.Connect(servers, 10*time.Second, zk.WithLogger(zkLogger{testLogger()}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(z.Close)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e := <-ev:
			if e.State == zk.StateHasSession {
				return z
			}
		case <-timeout:
			t.Fatal("anonymous client: no session")
		}
	}
}

// refused checks that every read and write of an anonymous client under
// root fails with NoAuth.
func refused(t *testing.T, z *zk.Conn, root string, object string) {
	t.Helper()
	for _, p := range []string{root, root + "/models", object} {
		if _, _, err := z.Get(p); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("anonymous get %s: %v, want NoAuth", p, err)
		}
		if _, _, err := z.Children(p); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("anonymous children %s: %v, want NoAuth", p, err)
		}
		if _, _, _, err := z.GetW(p); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("anonymous watch %s: %v, want NoAuth", p, err)
		}
		if _, err := z.Set(p, []byte("{}"), -1); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("anonymous set %s: %v, want NoAuth", p, err)
		}
		if _, err := z.Create(p+"/intruder", nil, zk.FlagPersistent, zk.WorldACL(zk.PermAll)); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("anonymous create under %s: %v, want NoAuth", p, err)
		}
		if _, err := z.SetACL(p, zk.WorldACL(zk.PermAll), -1); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("anonymous setACL %s: %v, want NoAuth", p, err)
		}
	}
	if err := z.Delete(object, -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("anonymous delete %s: %v, want NoAuth", object, err)
	}
}

// TestACLZooKeeper: a client with Auth creates everything it writes with
// its digest ACL: an anonymous go-zookeeper client can neither read nor
// write anything under the root, a hivenet client without Auth or with a
// wrong password is refused at New with ErrDenied, one with the identity
// (or granted it) reads and writes, also after a reconnection and on a
// new session.
func TestACLZooKeeper(t *testing.T) {
	connect := zktest.Standalone(t)
	h := authHarness{harness: newHarness(t, connect), auth: testAuth}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := h.client(t)
	br := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "net1"), Name: "net1"}
	if _, err := c.Store().Commit(ctx, nsdb.Create(br)); err != nil {
		t.Fatal(err)
	}
	if err := c.StateKeys().Set(ctx, nsdb.KeyHostAlive(), topology.NameID(topology.KindHost, "h"), "yes"); err != nil {
		t.Fatal(err)
	}
	object := c.paths.object(topology.KindBridge, br.ID)

	refused(t, anonymous(t, h.servers), h.root, object)
	if _, err := h.open(t, nil); !errors.Is(err, nsdb.ErrDenied) {
		t.Errorf("New without Auth: %v, want ErrDenied", err)
	}
	wrong := &Auth{Digest: Digest{User: testAuth.Digest.User, Password: "not-the-password"}}
	if _, err := h.open(t, wrong); !errors.Is(err, nsdb.ErrDenied) {
		t.Errorf("New with a wrong password: %v, want ErrDenied", err)
	}

	// The identity reads and writes from another client; so does another
	// identity the first one grants.
	for _, a := range []*Auth{testAuth, {Digest: Digest{User: "ops", Password: "other"}}} {
		if a != testAuth {
			granting := *testAuth
			granting.Grant = []string{a.Digest.ID()}
			g, err := h.open(t, &granting)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := g.SecureRoot(ctx); err != nil {
				t.Fatalf("SecureRoot granting %s: %v", a.Digest.User, err)
			}
			g.Close()
		}
		c2, err := h.open(t, a)
		if err != nil {
			t.Fatalf("New as %s: %v", a.Digest.User, err)
		}
		if _, err := c2.Store().Get(ctx, topology.KindBridge, br.ID); err != nil {
			t.Errorf("%s reads the bridge: %v", a.Digest.User, err)
		}
		if _, err := c2.Store().Commit(ctx, nsdb.Put(&topology.Bridge{ID: br.ID, Name: "net1-" + a.Digest.User})); err != nil {
			t.Errorf("%s writes the bridge: %v", a.Digest.User, err)
		}
		c2.Close()
	}

	// A new session on a new connection authenticates again.
	expire(t, h.servers, c)
	if _, err := c.Store().Commit(ctx, nsdb.Put(&topology.Bridge{ID: br.ID, Name: "after-expiry"})); err != nil {
		t.Errorf("write on the new session: %v", err)
	}
	if err := c.StateKeys().Set(ctx, nsdb.KeyHostAlive(), topology.NameID(topology.KindHost, "h"), "again"); err != nil {
		t.Errorf("state key on the new session: %v", err)
	}
	refused(t, anonymous(t, h.servers), h.root, object)
}

// TestACLReconnectZooKeeper: after a connection loss within the session,
// the client's credentials are sent again before anything else and its
// reads and writes keep working.
func TestACLReconnectZooKeeper(t *testing.T) {
	connect := zktest.Standalone(t)
	proxy := zktest.NewProxy(t, connect)
	h := authHarness{harness: harness{servers: []string{proxy.Addr()}, root: zktest.UniquePath(t), timeout: 10 * time.Second}, auth: testAuth}
	c := h.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := c.Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	proxy.Cut()
	for c.connected() {
		select {
		case <-ctx.Done():
			t.Fatal("the client did not notice the cut")
		case <-time.After(10 * time.Millisecond):
		}
	}
	proxy.Heal()
	br := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "net1"), Name: "net1"}
	if _, err := c.Store().Commit(ctx, nsdb.Create(br)); err != nil {
		t.Fatalf("write after the reconnection: %v", err)
	}
	if got, err := c.Store().Get(ctx, topology.KindBridge, br.ID); err != nil || got.Object.ObjectName() != "net1" {
		t.Fatalf("read after the reconnection: %v %v", got, err)
	}
	if s2, err := c.Session(ctx); err != nil || s2.ID() != s.ID() {
		t.Errorf("the session changed (%v, %v): the test did not reconnect within it", s2, err)
	}
	refused(t, anonymous(t, []string{connect}), h.root, c.paths.object(topology.KindBridge, br.ID))
}

// TestACLSecureRootZooKeeper: a database written by clients without Auth
// is open to anyone until SecureRoot, closed after it; a second run
// changes nothing.
func TestACLSecureRootZooKeeper(t *testing.T) {
	connect := zktest.Standalone(t)
	h := authHarness{harness: newHarness(t, connect)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	open := h.client(t) // no Auth
	br := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "net1"), Name: "net1"}
	if _, err := open.Store().Commit(ctx, nsdb.Create(br)); err != nil {
		t.Fatal(err)
	}
	object := open.paths.object(topology.KindBridge, br.ID)
	anon := anonymous(t, h.servers)
	if _, _, err := anon.Get(object); err != nil {
		t.Fatalf("before SecureRoot, anonymous get: %v", err)
	}
	if _, err := open.SecureRoot(ctx); !errors.Is(err, nsdb.ErrInvalid) {
		t.Errorf("SecureRoot without Auth: %v, want ErrInvalid", err)
	}
	c, err := h.open(t, testAuth)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n, err := c.SecureRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Errorf("SecureRoot changed %d znodes; the layout alone has more", n)
	}
	refused(t, anon, h.root, object)
	if n, err := c.SecureRoot(ctx); err != nil || n != 0 {
		t.Errorf("second SecureRoot: %d changed, %v", n, err)
	}
	if _, err := c.Store().Get(ctx, topology.KindBridge, br.ID); err != nil {
		t.Errorf("the identity reads after SecureRoot: %v", err)
	}
	// The client without Auth lost access too.
	if _, err := open.Store().Commit(ctx, nsdb.Put(&topology.Bridge{ID: br.ID, Name: "x"})); !errors.Is(err, nsdb.ErrDenied) {
		t.Errorf("write without Auth after SecureRoot: %v, want ErrDenied", err)
	}
}

// TestACLConformanceZooKeeper runs the nsdb conformance suite with every
// client authenticated: everything the backend does works under its ACLs.
func TestACLConformanceZooKeeper(t *testing.T) {
	connect := zktest.Standalone(t)
	nsdbtest.Run(t, func(t *testing.T) nsdbtest.Harness {
		return authHarness{harness: newHarness(t, connect), auth: testAuth}
	})
}

func TestDigestID(t *testing.T) {
	// ZooKeeper's DigestAuthenticationProvider.generateDigest("super:test").
	if got := (Digest{User: "super", Password: "test"}).ID(); got != "super:D/InIHSb7yEEbrWz8b9l71RjZJU=" {
		t.Errorf("ID = %q", got)
	}
	if !strings.HasPrefix(testAuth.Digest.ID(), "hivenet:") {
		t.Error("ID does not start with the user")
	}
}

// connected reports whether the client's current connection is up.
func (c *Client) connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur != nil && c.cur.up
}

// TestACLTLSZooKeeper: a client reaches a server's TLS port with Config.TLS
// and works there with its ACLs (an anonymous client on the plaintext
// port is refused what it wrote); a client that does not trust the
// server's certificate gets no session.
func TestACLTLSZooKeeper(t *testing.T) {
	s, tlsAddr, roots := zktest.StartServerTLS(t)
	root := zktest.UniquePath(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := New(ctx, Config{Servers: []string{tlsAddr}, Root: root, Auth: testAuth, TLS: &tls.Config{RootCAs: roots}, Logger: testLogger()})
	if err != nil {
		t.Fatalf("New over TLS: %v", err)
	}
	defer c.Close()
	br := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "net1"), Name: "net1"}
	if _, err := c.Store().Commit(ctx, nsdb.Create(br)); err != nil {
		t.Fatalf("write over TLS: %v", err)
	}
	if _, err := c.Store().Get(ctx, topology.KindBridge, br.ID); err != nil {
		t.Fatalf("read over TLS: %v", err)
	}
	refused(t, anonymous(t, []string{s.Addr().String()}), root, c.paths.object(topology.KindBridge, br.ID))

	short, cancel2 := context.WithTimeout(ctx, 3*time.Second)
	defer cancel2()
	if c, err := New(short, Config{Servers: []string{tlsAddr}, Root: root, Auth: testAuth, TLS: &tls.Config{}}); err == nil {
		c.Close()
		t.Error("a client that does not trust the server's certificate got a session")
	}
}
