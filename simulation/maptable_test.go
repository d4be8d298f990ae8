package simulation

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/hivenet/hivenet/topology"
)

// TestKeyTableModel runs random puts, deletes and gets against a Go map:
// the table must agree on every lookup, through growth and through
// deletions inside probe runs (kept long by a high load).
func TestKeyTableModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	var tab keyTable[int]
	model := map[tableKey]int{}
	keys := make([]tableKey, 3000)
	for i := range keys {
		keys[i] = macTableKey(id(topology.KindBridge, string(rune('a'+i%7))), uint16(i%3), topology.MAC{2, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)})
	}
	for step := range 200000 {
		k := keys[rng.IntN(len(keys))]
		switch rng.IntN(3) {
		case 0:
			tab.put(k, step)
			model[k] = step
		case 1:
			tab.delete(k)
			delete(model, k)
		}
		got, ok := tab.get(k)
		want, wok := model[k]
		if ok != wok || got != want {
			t.Fatalf("step %d: get = %d, %v; model %d, %v", step, got, ok, want, wok)
		}
		if tab.n != len(model) {
			t.Fatalf("step %d: %d entries, model %d", step, tab.n, len(model))
		}
	}
	for _, k := range keys {
		got, ok := tab.get(k)
		if want, wok := model[k]; ok != wok || got != want {
			t.Fatalf("final: get = %d, %v; model %d, %v", got, ok, want, wok)
		}
	}
}

// TestMapStateKeys: entries are per device, per VLAN and per address; an
// IPv4 address and its IPv4-mapped form are one entry.
func TestMapStateKeys(t *testing.T) {
	s := NewMapState()
	b1, b2 := bid("b1"), bid("b2")
	s.LearnMAC(b1, 0, mac(mac1), pid("p1"))
	s.LearnMAC(b1, 7, mac(mac1), pid("p7"))
	if p, ok := s.MACPort(b1, 0, mac(mac1)); !ok || p != pid("p1") {
		t.Errorf("vlan 0: %v %v", p, ok)
	}
	if p, ok := s.MACPort(b1, 7, mac(mac1)); !ok || p != pid("p7") {
		t.Errorf("vlan 7: %v %v", p, ok)
	}
	if _, ok := s.MACPort(b2, 0, mac(mac1)); ok {
		t.Error("entry leaked to another bridge")
	}
	s.ForgetMAC(b1, 0, mac(mac1))
	if _, ok := s.MACPort(b1, 0, mac(mac1)); ok {
		t.Error("forgotten entry still found")
	}
	a := netip.MustParseAddr("10.0.0.1")
	s.SetARP(b1, a, mac(mac2))
	var e ARPEntry
	if ok := s.ARPEntry(b1, netip.AddrFrom16(a.As16()), &e); !ok || e.MAC != mac(mac2) {
		t.Errorf("IPv4-mapped lookup: %v %v", e, ok)
	}
	if s.ARPEntry(b2, a, &e) {
		t.Error("ARP entry leaked to another router")
	}
	s.DeleteARP(b1, a)
	if s.ARPEntry(b1, a, &e) {
		t.Error("deleted ARP entry still found")
	}
	s.SetIP4MAC(b2, a, mac(mac1))
	if m, ok := s.IP4MAC(b2, a); !ok || m != mac(mac1) {
		t.Errorf("IPv4-MAC: %v %v", m, ok)
	}
}

// get returns the value of k.
func (t *keyTable[V]) get(k tableKey) (V, bool) {
	if i := t.find(k); i >= 0 {
		return t.vals[i], true
	}
	var zero V
	return zero, false
}
