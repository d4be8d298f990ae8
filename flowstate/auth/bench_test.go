package auth

import (
	"bytes"
	"testing"
)

// benchmarkSealOpen measures one Seal or Open of a payload of n bytes: 73
// is a flow-state message with one conntrack key, 1390 the largest part
// that fits the underlay MTU.
func benchmarkSealOpen(b *testing.B, n int, open bool) {
	m := NewKeyring(mustSet(b, 1)).NewMAC()
	buf := make([]byte, 0, n+Overhead)
	payload := bytes.Repeat([]byte{7}, n)
	sealed, err := m.Seal(append([]byte(nil), payload...), 0, FlowStateMessage, nil, t0)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if open {
			if _, err := m.Open(sealed, FlowStateMessage, nil, t0); err != nil {
				b.Fatal(err)
			}
			continue
		}
		if _, err := m.Seal(append(buf[:0], payload...), 0, FlowStateMessage, nil, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal73(b *testing.B)   { benchmarkSealOpen(b, 73, false) }
func BenchmarkOpen73(b *testing.B)   { benchmarkSealOpen(b, 73, true) }
func BenchmarkSeal1390(b *testing.B) { benchmarkSealOpen(b, 1390, false) }
func BenchmarkOpen1390(b *testing.B) { benchmarkSealOpen(b, 1390, true) }
