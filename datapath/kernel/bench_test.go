package kernel

import (
	"testing"

	"github.com/hivenet/hivenet/datapath"
)

func TestKeyCodecAllocs(t *testing.T) {
	for _, name := range []string{"tcp4", "qinq", "tunnel4", "ct"} {
		k := keyCases()[name]
		buf := make([]byte, 0, 1024)
		if n := testing.AllocsPerRun(100, func() { buf = appendKey(buf[:0], &k) }); n != 0 {
			t.Errorf("%s: encoding into a reused buffer allocates %v times", name, n)
		}
		var out datapath.FlowKey
		if n := testing.AllocsPerRun(100, func() { _ = decodeKey(buf, &out) }); n != 0 {
			t.Errorf("%s: decoding allocates %v times", name, n)
		}
	}
}

func BenchmarkFlowKeyEncode(b *testing.B) {
	for _, name := range []string{"tcp4", "udp6", "qinq", "tunnel4", "ct"} {
		k := keyCases()[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 1024)
			for b.Loop() {
				buf = appendKey(buf[:0], &k)
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

func BenchmarkFlowKeyDecode(b *testing.B) {
	for _, name := range []string{"tcp4", "udp6", "qinq", "tunnel4", "ct"} {
		k := keyCases()[name]
		enc := appendKey(nil, &k)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			var out datapath.FlowKey
			for b.Loop() {
				if err := decodeKey(enc, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkActionsEncode(b *testing.B) {
	acts := actionCases()["set-masked"]
	b.ReportAllocs()
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		buf, _ = appendActions(buf[:0], acts)
	}
}

func BenchmarkActionsDecode(b *testing.B) {
	enc, _ := appendActions(nil, actionCases()["ct"])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeActions(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	k := keyCases()["tcp4"]
	m := datapath.Match{Key: k, Mask: datapath.ExactMask(k)}
	b.ReportAllocs()
	for b.Loop() {
		if !m.Matches(&k) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkDecodeUpcall(b *testing.B) {
	k := keyCases()["tcp4"]
	msg := upcallSeed(2, &k, make([]byte, 1500), nil)
	msg[0] = 1 // OVS_PACKET_CMD_MISS
	var u datapath.Upcall
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := decodeUpcall(msg, &u); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeFlow(b *testing.B) {
	k := keyCases()["tcp4"]
	f := datapath.Flow{UFID: datapath.UFID{1}, Match: datapath.Match{Key: k, Mask: datapath.ExactMask(k)},
		Actions: datapath.Actions{datapath.Output{Port: 1}}}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = appendFlow(buf[:0], &f, true, true, false)
	}
}
