package auth

import (
	"bytes"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to Open as a received message: it never
// panics, and accepts only what was sealed (the seeds).
func FuzzOpen(f *testing.F) {
	m := NewKeyring(mustSet(f, 1)).NewMAC()
	sealed, err := m.Seal([]byte("a flow-state message"), 0, FlowStateMessage, nil, t0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add(sealed[:len(sealed)-1])
	f.Add([]byte("HVA1"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		payload, err := m.Open(data, FlowStateMessage, nil, t0)
		if err == nil && !bytes.Equal(data, sealed) {
			t.Fatalf("accepted % x, which was never sealed (payload %q)", data, payload)
		}
	})
}

// FuzzKeySet feeds arbitrary bytes to the key set's decoder (what the NSDB
// holds): it never panics, and what it accepts encodes and decodes again
// to the same keys.
func FuzzKeySet(f *testing.F) {
	ks := mustSet(f, 1)
	b, _ := ks.MarshalBinary()
	f.Add(b)
	f.Add([]byte(`{"version":1,"keys":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got KeySet
		if err := got.UnmarshalBinary(data); err != nil {
			return
		}
		if len(got.Keys) == 0 || len(got.Keys) > MaxKeys {
			t.Fatalf("accepted %d keys", len(got.Keys))
		}
		again, err := got.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back KeySet
		if err := back.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded set refused: %v", err)
		}
		for i := range got.Keys {
			if back.Keys[i].ID != got.Keys[i].ID || back.Keys[i].Secret != got.Keys[i].Secret {
				t.Fatalf("key %d changed in a round trip", i)
			}
		}
	})
}
