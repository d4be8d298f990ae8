package cassandra

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/storetest"
	"github.com/hivenet/hivenet/topology"
)

// serverEnv names the Cassandra server the server tests run against.
const serverEnv = "HIVENET_CASSANDRA"

// server returns a store on a fresh keyspace of the server HIVENET_CASSANDRA
// names, dropped when the test ends; without it the test is skipped, saying
// so: no Cassandra server can run on hivenet's machines, and no fake one
// stands in.
func server(t *testing.T) *Store {
	t.Helper()
	addr := os.Getenv(serverEnv)
	if addr == "" {
		t.Skipf("%s is not set: the Cassandra backend's conformance suite needs a real Cassandra server "+
			"(none can run on hivenet's development machines); set %s=host:port to run it", serverEnv, serverEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ks := fmt.Sprintf("hivenet_test_%d", time.Now().UnixNano())
	s, err := New(ctx, Config{Hosts: strings.Split(addr, ","), Keyspace: ks, CreateSchema: true, TTL: 60 * time.Second})
	if err != nil {
		t.Fatalf("%s=%s: %v", serverEnv, addr, err)
	}
	t.Cleanup(func() {
		if err := s.sess.Query("DROP KEYSPACE IF EXISTS " + ks).Exec(); err != nil {
			t.Errorf("dropping keyspace %s: %v", ks, err)
		}
		s.Close()
	})
	return s
}

// TestCassandraConformance runs the flowstate.Store conformance suite, the
// local store's, against a real Cassandra server (HIVENET_CASSANDRA).
func TestCassandraConformance(t *testing.T) {
	s := server(t)
	storetest.Run(t, func(*testing.T) flowstate.Store { return s })
}

// TestCassandraTTL: every row carries the keys' idle expiry as its TTL.
func TestCassandraTTL(t *testing.T) {
	s := server(t)
	host := topology.NameID(topology.KindHost, "h")
	port := storetest.Port(t, "vm")
	storetest.Save(t, s, storetest.Message(host, port, []topology.ID{storetest.Port(t, "up")}, topology.NameID(topology.KindRouter, "r"), 0, 2))
	for _, q := range []string{
		"SELECT TTL(device) FROM %s.conntrack_by_ingress_port WHERE port = ?",
		"SELECT TTL(translate_ip) FROM %s.nat_by_ingress_port WHERE port = ?",
	} {
		it := s.sess.Query(fmt.Sprintf(q, s.cfg.Keyspace), gocql.UUID(port)).Iter()
		var ttl, n int
		for it.Scan(&ttl) {
			n++
			if ttl <= 0 || ttl > 60 {
				t.Errorf("%s: a row's TTL is %d s, want 1-60", q, ttl)
			}
		}
		if err := it.Close(); err != nil || n == 0 {
			t.Fatalf("%s: %d rows, %v", q, n, err)
		}
	}
}

func TestRowsRoundTrip(t *testing.T) {
	m := storetest.Message(topology.NameID(topology.KindHost, "h"), topology.NameID(topology.KindPort, "p"), nil, topology.NameID(topology.KindRouter, "r"), 7, 3)
	port := topology.NameID(topology.KindPort, "p")
	for _, k := range m.Conns {
		a := connArgs(port, &k, 60)
		r := connRow{proto: a[1].(int), srcIP: a[2].(net.IP), srcPort: a[3].(int), dstIP: a[4].(net.IP), dstPort: a[5].(int), device: a[6].(gocql.UUID)}
		if got, err := r.key(); err != nil || got != k {
			t.Errorf("conntrack row of %s reads back as %s, %v", k, got, err)
		}
		if a[0].(gocql.UUID) != gocql.UUID(port) || a[7].(int) != 60 {
			t.Errorf("row args %v: want the port first and the TTL last", a)
		}
	}
	for typ := flowstate.NATFwdDNAT; typ <= flowstate.NATRevSNAT; typ++ {
		e := m.NATs[0]
		e.Key.Type = typ
		a := natArgs(port, &e, 60)
		r := connRow{proto: a[1].(int), srcIP: a[2].(net.IP), srcPort: a[3].(int), dstIP: a[4].(net.IP), dstPort: a[5].(int), device: a[6].(gocql.UUID)}
		got, err := natEntry(&r, a[7].(string), a[8].(net.IP), a[9].(int))
		if err != nil || got != e {
			t.Errorf("NAT row of %s reads back as %s, %v", e.Key, got.Key, err)
		}
	}
}

func TestMalformedRows(t *testing.T) {
	ok := connRow{proto: 6, srcIP: net.IPv4(10, 0, 0, 1), srcPort: 1, dstIP: net.IPv4(10, 0, 0, 2), dstPort: 2}
	for name, r := range map[string]connRow{
		"IPv6 source":    {proto: 6, srcIP: net.ParseIP("2001:db8::1"), dstIP: ok.dstIP},
		"port too large": {proto: 6, srcIP: ok.srcIP, dstIP: ok.dstIP, srcPort: 70000},
		"negative proto": {proto: -1, srcIP: ok.srcIP, dstIP: ok.dstIP},
		"no address":     {proto: 6},
	} {
		if _, err := r.key(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := natEntry(&ok, "fwd-snat", net.IPv4(1, 2, 3, 4), 80); err != nil {
		t.Errorf("a valid NAT row: %v", err)
	}
	if _, err := natEntry(&ok, "FWD_SNAT", net.IPv4(1, 2, 3, 4), 80); err == nil {
		t.Error("an unknown NAT type was accepted")
	}
	if _, err := natEntry(&ok, "rev-dnat", net.IPv4(1, 2, 3, 4), -5); err == nil {
		t.Error("a negative translated port was accepted")
	}
}

func TestSchema(t *testing.T) {
	stmts := Schema("ks", 3)
	if len(stmts) != 5 || !strings.Contains(stmts[0], "'replication_factor': 3") {
		t.Fatalf("schema: %q", stmts)
	}
	for _, s := range stmts[1:] {
		if !strings.Contains(s, "PRIMARY KEY ((port),") || !strings.Contains(s, "gc_grace_seconds = 30") {
			t.Errorf("table not partitioned by port with the reference's grace: %s", s)
		}
	}
	st := newStatements("ks")
	for _, q := range append(st.insConn[:], st.insNAT[:]...) {
		if !strings.HasSuffix(q, "USING TTL ?") {
			t.Errorf("insert without a TTL: %s", q)
		}
	}
}

func TestConfig(t *testing.T) {
	for _, c := range []Config{{}, {Hosts: []string{"x:9042"}, Keyspace: "bad-name"}, {Hosts: []string{"x:9042"}, TTL: time.Millisecond}} {
		if _, err := New(context.Background(), c); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", c, err)
		}
	}
	c := Config{Hosts: []string{"x:9042"}}
	if err := c.withDefaults(); err != nil || c.Consistency != gocql.Quorum || c.TTL != flowstate.DefaultIdleTimeout || c.Keyspace != DefaultKeyspace {
		t.Errorf("defaults %+v, %v", c, err)
	}
}

// TestUnreachable: with nothing listening, New fails (through the real
// driver) within its connect timeout instead of hanging.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a port nothing listens on
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var logs bytes.Buffer
	start := time.Now()
	_, err = New(ctx, Config{Hosts: []string{addr}, ConnectTimeout: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err == nil {
		t.Fatal("New succeeded with no server")
	}
	if d := time.Since(start); d > 25*time.Second {
		t.Errorf("New took %v to fail", d)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("the error does not name the server: %v", err)
	}
}

func TestDriverLogs(t *testing.T) {
	var b bytes.Buffer
	l := slogger{slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	l.Warning("host down", gocql.NewLogFieldString("host", "10.0.0.1"), gocql.NewLogFieldInt("port", 9042), gocql.NewLogFieldBool("up", false))
	if got := b.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "host=10.0.0.1 port=9042 up=false") {
		t.Errorf("driver log became %q", got)
	}
}
