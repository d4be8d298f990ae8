package auth

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// seeded returns a deterministic source of secrets.
func seeded(b byte) *bytes.Reader { return bytes.NewReader(bytes.Repeat([]byte{b}, 64)) }

func mustSet(t testing.TB, seed byte) KeySet {
	t.Helper()
	ks, err := NewKeySet(t0, seeded(seed))
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestSealOpen(t *testing.T) {
	m := NewKeyring(mustSet(t, 1)).NewMAC()
	payload := []byte("conntrack keys")
	b, err := m.Seal(append([]byte("hdr:"), payload...), 4, FlowStateMessage, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 4+len(payload)+Overhead {
		t.Fatalf("sealed %d bytes, want %d", len(b), 4+len(payload)+Overhead)
	}
	got, err := m.Open(b[4:], FlowStateMessage, nil, t0.Add(time.Second))
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("Open = %q, %v; want %q", got, err, payload)
	}
}

func TestOpenRefuses(t *testing.T) {
	ring := NewKeyring(mustSet(t, 1))
	m := ring.NewMAC()
	bind := []byte("nonce-and-seq")
	sealed, err := m.Seal([]byte("payload"), 0, TransferFrame, bind, t0)
	if err != nil {
		t.Fatal(err)
	}
	other := NewKeyring(KeySet{Keys: []Key{{ID: 1, Secret: [SecretSize]byte{9}}}}).NewMAC()
	stranger := NewKeyring(KeySet{Keys: []Key{{ID: 7, Secret: [SecretSize]byte{9}}}}).NewMAC()
	for _, tc := range []struct {
		name string
		m    *MAC
		b    []byte
		p    Purpose
		bind []byte
		now  time.Time
		want error
	}{
		{"no trailer", m, []byte("payload"), TransferFrame, bind, t0, ErrNoMAC},
		{"empty", m, nil, TransferFrame, bind, t0, ErrNoMAC},
		{"another purpose", m, sealed, FlowStateMessage, bind, t0, ErrBadMAC},
		{"another binding", m, sealed, TransferFrame, []byte("nonce-and-seQ"), t0, ErrBadMAC},
		{"another secret, same ID", other, sealed, TransferFrame, bind, t0, ErrBadMAC},
		{"a key the receiver lacks", stranger, sealed, TransferFrame, bind, t0, ErrUnknownKey},
		{"too old", m, sealed, TransferFrame, bind, t0.Add(DefaultWindow + time.Second), ErrStale},
		{"from the future", m, sealed, TransferFrame, bind, t0.Add(-DefaultWindow - time.Second), ErrStale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.m.Open(tc.b, tc.p, tc.bind, tc.now); !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
		})
	}
	// Every single-bit change of the sealed bytes is refused.
	for i := range sealed {
		for bit := range 8 {
			b := bytes.Clone(sealed)
			b[i] ^= 1 << bit
			if _, err := m.Open(b, TransferFrame, bind, t0); err == nil {
				t.Fatalf("flipping bit %d of byte %d went unnoticed", bit, i)
			}
		}
	}
}

// TestRotation: before the new key's activation senders keep the old one,
// after it they use the new one, and a receiver holding both accepts
// either; a receiver that has not read the rotation yet still accepts
// what is signed before the activation.
func TestRotation(t *testing.T) {
	old := mustSet(t, 1)
	rotated, err := old.Rotate(t0.Add(time.Minute), 30*time.Second, seeded(2))
	if err != nil {
		t.Fatal(err)
	}
	if len(rotated.Keys) != 2 || rotated.Keys[0].ID != 2 || rotated.Keys[1].ID != 1 {
		t.Fatalf("rotated set %+v, want keys 2 and 1", rotated.Info())
	}
	if _, err := rotated.Rotate(t0.Add(time.Minute+10*time.Second), time.Second, seeded(3)); !errors.Is(err, ErrRotationPending) {
		t.Fatalf("a second rotation before the first's activation: %v, want ErrRotationPending", err)
	}
	sender, lagging := NewKeyring(rotated).NewMAC(), NewKeyring(old).NewMAC()
	before, after := t0.Add(time.Minute+time.Second), t0.Add(time.Minute+31*time.Second)
	b, _ := sender.Seal([]byte("x"), 0, FlowStateMessage, nil, before)
	if _, err := lagging.Open(b, FlowStateMessage, nil, before); err != nil {
		t.Fatalf("a receiver without the new key refused a message signed before its activation: %v", err)
	}
	b, _ = sender.Seal([]byte("x"), 0, FlowStateMessage, nil, after)
	if _, err := lagging.Open(b, FlowStateMessage, nil, after); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("after the activation: %v, want the new key (unknown to the lagging receiver)", err)
	}
	if _, err := sender.Open(b, FlowStateMessage, nil, after); err != nil {
		t.Fatal(err)
	}
	third, err := rotated.Rotate(after, time.Second, seeded(3))
	if err != nil || len(third.Keys) != 2 || third.Keys[0].ID != 3 || third.Keys[1].ID != 2 {
		t.Fatalf("the next rotation: %+v, %v; want keys 3 and 2", third.Info(), err)
	}
}

func TestEmptyKeyring(t *testing.T) {
	m := NewKeyring(KeySet{}).NewMAC()
	if _, err := m.Seal(nil, 0, FlowStateMessage, nil, t0); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("Seal without keys: %v, want ErrNoKeys", err)
	}
	if r := Reason(ErrNoKeys); r != "no-keys" {
		t.Errorf("Reason(ErrNoKeys) = %q", r)
	}
}

func TestKeySetRoundTrip(t *testing.T) {
	ks, err := mustSet(t, 1).Rotate(t0.Add(time.Hour), time.Minute, seeded(2))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ks.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got KeySet
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for i := range ks.Keys {
		if got.Keys[i].ID != ks.Keys[i].ID || got.Keys[i].Secret != ks.Keys[i].Secret ||
			!got.Keys[i].ActiveFrom.Equal(ks.Keys[i].ActiveFrom) || !got.Keys[i].Created.Equal(ks.Keys[i].Created) {
			t.Fatalf("key %d: %+v, want %+v", i, got.Keys[i], ks.Keys[i])
		}
	}
	for _, bad := range []string{`{}`, `{"version":1,"keys":[]}`, `{"version":2,"keys":[{"id":1,"secret":""}]}`,
		`{"version":1,"keys":[{"id":1,"secret":"AAAA"}]}`, `[`} {
		if err := got.UnmarshalBinary([]byte(bad)); !errors.Is(err, ErrBadKeySet) {
			t.Errorf("%s: %v, want ErrBadKeySet", bad, err)
		}
	}
}

// TestSealOpenNoAllocs: the hot path signs and verifies without
// allocating once the MAC has built its HMAC states.
func TestSealOpenNoAllocs(t *testing.T) {
	m := NewKeyring(mustSet(t, 1)).NewMAC()
	buf := make([]byte, 0, 1500)
	payload := bytes.Repeat([]byte{7}, 200)
	allocs := testing.AllocsPerRun(100, func() {
		b, err := m.Seal(append(buf[:0], payload...), 0, FlowStateMessage, nil, t0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Open(b, FlowStateMessage, nil, t0); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per seal and open, want 0", allocs)
	}
}
