package simulation

import "testing"

func BenchmarkZZTags(b *testing.B) {
	e := New(Config{})
	var r Result
	e.r = &r
	id1, id2 := pid("a"), pid("b")
	m := mac(mac1)
	for b.Loop() {
		r.Tags = r.Tags[:0]
		e.tag(TagDevice(id1))
		e.tag(TagPortRx(id1))
		e.tag(TagDevice(id2))
		e.tag(TagBridgeMAC(id2, m, 0, id1))
		e.tag(TagBridgeMAC(id2, m, 0, id2))
		e.tag(TagDevice(id2))
		e.tag(TagPortTx(id2))
	}
}
