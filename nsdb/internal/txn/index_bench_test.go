package txn

import (
	"context"
	"testing"

	"github.com/hivenet/hivenet/internal/topogen"
	"github.com/hivenet/hivenet/topology"
)

// BenchmarkSecondaryIndex100k measures what a lazy index's first plan
// after a Shrink costs: building the referrer, name and holder indexes of
// a 100,000-port deployment.
func BenchmarkSecondaryIndex100k(b *testing.B) {
	ix := NewLazyIndex()
	for o := range topogen.Generate(100_000).Objects() {
		ix.Set(Key{o.ObjectKind(), o.ObjectID()}, o, 1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ix.Shrink()
		if _, err := ix.Named(context.Background(), topology.KindBridge, "b0"); err != nil {
			b.Fatal(err)
		}
	}
}
