package simulation

import (
	"testing"

	"github.com/hivenet/hivenet/simulation/packet"
)

func BenchmarkZZParseRef(b *testing.B) {
	_, f := benchL3(b)
	var m packet.Match
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Parse(f)
	}
}
