// Package storetest is the conformance suite every flowstate.Store
// implementation passes: the local per-port file store
// (flowstate/localstore) and the Cassandra backend (flowstate/cassandra)
// run the same cases, so an agent can rely on one contract whichever
// backend it is given. It lives under flowstate/ next to the interface it
// checks, as nsdb/nsdbtest does for the NSDB backends.
//
// The contract, as the agent uses it:
//
//   - Load(port) delivers every connection-tracking key and NAT entry of
//     every message saved with port as its ingress port or one of its
//     egress ports, and nothing saved only under other ports. Message
//     boundaries need not survive (a backend that stores one row per key
//     regroups them), duplicates are allowed, and the *Message handed to
//     the callback may be reused after it returns.
//   - A key saved in a message whose ingress port is port is delivered at
//     least once in a message whose IngressPort is port: the agent reserves
//     the source-NAT ports of the connections that started on its ports,
//     and only those.
//   - A callback error stops Load, which returns it (errors.Is holds).
//   - A cancelled context makes Save and Load fail.
//   - Save is safe for concurrent use, and a Load that starts after Save
//     returned sees what it saved.
//
// Idle expiry is not part of the suite: the local store expires whole
// blocks by its own clock, Cassandra by the TTL of its rows, and each
// backend's own tests check it.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/topology"
)

// NewStore returns an empty store for one test case; the suite does not
// close it (register cleanup with t.Cleanup).
type NewStore func(t *testing.T) flowstate.Store

// Run runs every case of the suite as a subtest of t.
func Run(t *testing.T, newStore NewStore) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newStore(t)) })
	}
}

var cases = []struct {
	name string
	fn   func(*testing.T, flowstate.Store)
}{
	{"EmptyPort", testEmptyPort},
	{"IngressAndEgress", testIngressAndEgress},
	{"IngressPortKept", testIngressPortKept},
	{"PortsApart", testPortsApart},
	{"ManyMessages", testManyMessages},
	{"LargeMessage", testLargeMessage},
	{"NoKeys", testNoKeys},
	{"CallbackError", testCallbackError},
	{"Cancelled", testCancelled},
	{"ConcurrentSaves", testConcurrentSaves},
}

// Port returns the ID of a test port named name (unique per test, so that
// backends shared between tests, like a Cassandra keyspace, do not mix
// them up).
func Port(t *testing.T, name string) topology.ID {
	return topology.NameID(topology.KindPort, t.Name()+"/"+name+"/"+fmt.Sprint(time.Now().UnixNano()))
}

// Conn returns a distinct TCP connection key for i on device.
func Conn(device topology.ID, i int) flowstate.ConnKey {
	return flowstate.ConnKey{Device: device,
		SrcIP: flowstate.IPv4{10, byte(i >> 16), byte(i >> 8), byte(i)}, DstIP: flowstate.IPv4{203, 0, 113, byte(i % 250)},
		SrcPort: uint16(1024 + i%60000), DstPort: 443, Proto: flowstate.ProtoTCP}
}

// Message returns a message from host with ingress port in, egress ports
// out, and, for each i in [first, first+n), connection i's forward
// conntrack key and its forward and reverse SNAT entries.
func Message(host, in topology.ID, out []topology.ID, device topology.ID, first, n int) *flowstate.Message {
	m := &flowstate.Message{Sender: host, IngressPort: in, EgressPorts: slices.Clone(out)}
	for i := first; i < first+n; i++ {
		k := Conn(device, i)
		b := flowstate.NATBinding{IP: flowstate.IPv4{198, 51, 100, 10}, Port: uint16(20000 + i%40000)}
		m.Conns = append(m.Conns, k)
		rev := flowstate.ConnKey{Device: device, SrcIP: k.DstIP, DstIP: b.IP, SrcPort: k.DstPort, DstPort: b.Port, Proto: k.Proto}
		m.NATs = append(m.NATs,
			flowstate.NATEntry{Key: flowstate.NATKey{ConnKey: k, Type: flowstate.NATFwdSNAT}, Binding: b},
			flowstate.NATEntry{Key: flowstate.NATKey{ConnKey: rev, Type: flowstate.NATRevSNAT}, Binding: flowstate.NATBinding{IP: k.SrcIP, Port: k.SrcPort}})
	}
	return m
}

// Loaded is what Load delivered for one port.
type Loaded struct {
	Conns map[flowstate.ConnKey]bool
	NATs  map[flowstate.NATKey]flowstate.NATBinding
	// ViaIngress are the keys delivered in a message whose IngressPort
	// was the loaded port.
	ConnsViaIngress map[flowstate.ConnKey]bool
	NATsViaIngress  map[flowstate.NATKey]bool
	Messages        int
}

// Load loads port from s and collects what it delivered; it fails the
// test on error.
func Load(t *testing.T, s flowstate.Store, port topology.ID) *Loaded {
	t.Helper()
	l := &Loaded{Conns: map[flowstate.ConnKey]bool{}, NATs: map[flowstate.NATKey]flowstate.NATBinding{},
		ConnsViaIngress: map[flowstate.ConnKey]bool{}, NATsViaIngress: map[flowstate.NATKey]bool{}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := s.Load(ctx, port, func(m *flowstate.Message) error {
		l.Messages++
		for _, k := range m.Conns {
			l.Conns[k] = true
			if m.IngressPort == port {
				l.ConnsViaIngress[k] = true
			}
		}
		for _, e := range m.NATs {
			if !e.Key.Type.Valid() {
				return fmt.Errorf("delivered a NAT entry of invalid type %d", e.Key.Type)
			}
			if b, ok := l.NATs[e.Key]; ok && b != e.Binding {
				return fmt.Errorf("NAT key %s delivered with two bindings, %s and %s", e.Key, b, e.Binding)
			}
			l.NATs[e.Key] = e.Binding
			if m.IngressPort == port {
				l.NATsViaIngress[e.Key] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Load(%s): %v", port, err)
	}
	return l
}

// Save saves m in s, failing the test on error.
func Save(t *testing.T, s flowstate.Store, m *flowstate.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Save(ctx, m); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

// Contains reports the first key of m missing from l, or "" if l holds
// every key of m with its binding.
func (l *Loaded) Contains(m *flowstate.Message) string {
	for _, k := range m.Conns {
		if !l.Conns[k] {
			return k.String()
		}
	}
	for _, e := range m.NATs {
		if b, ok := l.NATs[e.Key]; !ok || b != e.Binding {
			return fmt.Sprintf("%s -> %s (loaded: %s, %v)", e.Key, e.Binding, b, ok)
		}
	}
	return ""
}

// Len returns the number of distinct keys delivered.
func (l *Loaded) Len() int { return len(l.Conns) + len(l.NATs) }

func ids(t *testing.T) (host, device topology.ID) {
	return topology.NameID(topology.KindHost, t.Name()+"/host"), topology.NameID(topology.KindRouter, t.Name()+"/router")
}

func testEmptyPort(t *testing.T, s flowstate.Store) {
	if l := Load(t, s, Port(t, "never-saved")); l.Len() != 0 || l.Messages != 0 {
		t.Fatalf("a port nothing was saved for delivered %d messages, %d keys", l.Messages, l.Len())
	}
}

func testIngressAndEgress(t *testing.T, s flowstate.Store) {
	host, dev := ids(t)
	in, out1, out2 := Port(t, "in"), Port(t, "out1"), Port(t, "out2")
	m := Message(host, in, []topology.ID{out1, out2}, dev, 0, 3)
	Save(t, s, m)
	for name, p := range map[string]topology.ID{"ingress": in, "first egress": out1, "second egress": out2} {
		l := Load(t, s, p)
		if miss := l.Contains(m); miss != "" {
			t.Errorf("the %s port misses %s", name, miss)
		}
		if l.Len() != len(m.Conns)+len(m.NATs) {
			t.Errorf("the %s port delivered %d keys, want the %d saved", name, l.Len(), len(m.Conns)+len(m.NATs))
		}
	}
}

func testIngressPortKept(t *testing.T, s flowstate.Store) {
	host, dev := ids(t)
	a, b := Port(t, "a"), Port(t, "b")
	ma := Message(host, a, []topology.ID{b}, dev, 0, 2)   // started on a
	mb := Message(host, b, []topology.ID{a}, dev, 100, 2) // started on b
	Save(t, s, ma)
	Save(t, s, mb)
	l := Load(t, s, a)
	for _, k := range ma.Conns {
		if !l.ConnsViaIngress[k] {
			t.Errorf("%s, saved with ingress port a, never delivered with IngressPort a", k)
		}
	}
	for _, e := range ma.NATs {
		if !l.NATsViaIngress[e.Key] {
			t.Errorf("%s, saved with ingress port a, never delivered with IngressPort a", e.Key)
		}
	}
	for _, k := range mb.Conns {
		if l.ConnsViaIngress[k] {
			t.Errorf("%s, saved with ingress port b, delivered with IngressPort a", k)
		}
		if !l.Conns[k] {
			t.Errorf("%s, saved with egress port a, not delivered for a", k)
		}
	}
}

func testPortsApart(t *testing.T, s flowstate.Store) {
	host, dev := ids(t)
	a, b, c := Port(t, "a"), Port(t, "b"), Port(t, "c")
	ma := Message(host, a, nil, dev, 0, 4)
	mb := Message(host, b, []topology.ID{c}, dev, 1000, 4)
	Save(t, s, ma)
	Save(t, s, mb)
	la := Load(t, s, a)
	if miss := la.Contains(ma); miss != "" {
		t.Errorf("a misses %s", miss)
	}
	if la.Len() != len(ma.Conns)+len(ma.NATs) {
		t.Errorf("a delivered %d keys, want only its own %d", la.Len(), len(ma.Conns)+len(ma.NATs))
	}
	for _, k := range mb.Conns {
		if la.Conns[k] {
			t.Errorf("a delivered %s, saved only under b and c", k)
		}
	}
}

func testManyMessages(t *testing.T, s flowstate.Store) {
	host, dev := ids(t)
	p := Port(t, "busy")
	var all []*flowstate.Message
	for i := range 300 {
		m := Message(host, p, nil, dev, i*5, 5)
		all = append(all, m)
		Save(t, s, m)
	}
	l := Load(t, s, p)
	for i, m := range all {
		if miss := l.Contains(m); miss != "" {
			t.Fatalf("message %d of %d: %s missing", i, len(all), miss)
		}
	}
	if want := 300 * 5 * 3; l.Len() != want {
		t.Errorf("delivered %d distinct keys, want %d", l.Len(), want)
	}
}

func testLargeMessage(t *testing.T, s flowstate.Store) {
	host, dev := ids(t)
	p := Port(t, "large")
	// Far more than one datagram's worth: an agent restoring a port
	// saves what it loaded in large messages.
	m := Message(host, p, []topology.ID{Port(t, "other")}, dev, 0, 2000)
	Save(t, s, m)
	l := Load(t, s, p)
	if miss := l.Contains(m); miss != "" {
		t.Fatalf("%s missing", miss)
	}
}

func testNoKeys(t *testing.T, s flowstate.Store) {
	host, _ := ids(t)
	p := Port(t, "empty")
	Save(t, s, &flowstate.Message{Sender: host, IngressPort: p})
	if l := Load(t, s, p); l.Len() != 0 {
		t.Errorf("a message without keys left %d keys", l.Len())
	}
}

func testCallbackError(t *testing.T, s flowstate.Store) {
	host, dev := ids(t)
	p := Port(t, "p")
	for i := range 10 {
		Save(t, s, Message(host, p, nil, dev, i*10, 10))
	}
	stop := errors.New("enough")
	calls := 0
	err := s.Load(context.Background(), p, func(*flowstate.Message) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Load returned %v, want the callback's error", err)
	}
	if calls != 1 {
		t.Errorf("the callback was called %d times after returning an error, want 1", calls)
	}
}

func testCancelled(t *testing.T, s flowstate.Store) {
	host, dev := ids(t)
	p := Port(t, "p")
	Save(t, s, Message(host, p, nil, dev, 0, 1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Save(ctx, Message(host, p, nil, dev, 1, 1)); err == nil {
		t.Error("Save with a cancelled context succeeded")
	}
	err := s.Load(ctx, p, func(*flowstate.Message) error { return nil })
	if err == nil {
		t.Error("Load with a cancelled context succeeded")
	}
}

func testConcurrentSaves(t *testing.T, s flowstate.Store) {
	host, dev := ids(t)
	p, q := Port(t, "p"), Port(t, "q")
	const writers, each = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	msgs := make([][]*flowstate.Message, writers)
	for w := range writers {
		for i := range each {
			msgs[w] = append(msgs[w], Message(host, p, []topology.ID{q}, dev, (w*each+i)*2, 2))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, m := range msgs[w] {
				if err := s.Save(context.Background(), m); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Save: %v", err)
	}
	for _, port := range []topology.ID{p, q} {
		l := Load(t, s, port)
		for w := range msgs {
			for _, m := range msgs[w] {
				if miss := l.Contains(m); miss != "" {
					t.Fatalf("writer %d's %s missing", w, miss)
				}
			}
		}
	}
}
