package topofile_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/hivenet/hivenet/internal/topogen"
	"github.com/hivenet/hivenet/topology/topofile"
)

// largeFile writes a topology file with bridges×ports VM ports spread over
// 100 hosts in one tunnel zone.
func largeFile(tb testing.TB, bridges, ports int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := topofile.Write(&buf, topogen.Flat(bridges, ports)); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkLoadSummarize100kPorts: one op loads, validates and summarises
// a 100,000-port topology file (1,000 bridges of 100 ports, 100 hosts), as
// `topo` does. The summary visits each object once: ns/op and B/op stay
// linear in the file (the target is under 2 s and 500 MB per op).
func BenchmarkLoadSummarize100kPorts(b *testing.B) {
	data := largeFile(b, 1000, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t, err := topofile.Load(bytes.NewReader(data), "large.yaml")
		if err != nil {
			b.Fatal(err)
		}
		if err := topofile.Summarize(io.Discard, t); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data))/(1<<20), "file-MiB")
}
