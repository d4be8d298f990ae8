package kernel

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/ovsh"
)

// FuzzDecodeFlowKey checks that decoding never panics, leaves the key zero
// on error, and that whatever decodes re-encodes to bytes that decode to
// the same key (keys and masks share this codec).
func FuzzDecodeFlowKey(f *testing.F) {
	for _, k := range keyCases() {
		f.Add(appendKey(nil, &k))
		m := datapath.ExactMask(k)
		f.Add(appendKey(nil, &m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var k datapath.FlowKey
		if err := decodeKey(b, &k); err != nil {
			if (k != datapath.FlowKey{}) {
				t.Fatalf("key not reset after error %v", err)
			}
			return
		}
		enc := appendKey(nil, &k)
		var k2 datapath.FlowKey
		if err := decodeKey(enc, &k2); err != nil {
			t.Fatalf("re-decoding %x: %v", enc, err)
		}
		if k2 != k {
			t.Fatalf("round trip:\n got %+v\nwant %+v", k2, k)
		}
		if enc2 := appendKey(nil, &k2); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%x\n%x", enc, enc2)
		}
	})
}

// FuzzDecodeActions checks that action decoding never panics and that
// decoded lists round-trip.
func FuzzDecodeActions(f *testing.F) {
	for _, acts := range actionCases() {
		b, err := appendActions(nil, acts)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		acts, err := decodeActions(b)
		if err != nil {
			return
		}
		enc, err := appendActions(nil, acts)
		if err != nil {
			t.Fatalf("re-encoding %#v: %v", acts, err)
		}
		acts2, err := decodeActions(enc)
		if err != nil {
			t.Fatalf("re-decoding %x: %v", enc, err)
		}
		if !reflect.DeepEqual(acts, acts2) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", acts2, acts)
		}
	})
}

func upcallSeed(cmd uint8, k *datapath.FlowKey, pkt []byte, extra []byte) []byte {
	b := request(nil, cmd, ovsh.PacketVersion, 5, nil)
	b = appendAttr(b, ovsh.PacketAttrPacket, pkt)
	var s int
	b, s = beginNested(b, ovsh.PacketAttrKey)
	b = appendKey(b, k)
	b = endNested(b, s)
	return append(b, extra...)
}

// FuzzDecodeUpcall feeds arbitrary generic netlink payloads to the upcall
// decoder, with a reused Upcall as in Receive.
func FuzzDecodeUpcall(f *testing.F) {
	k := keyCases()["tcp4"]
	f.Add(upcallSeed(ovsh.PacketCmdMiss, &k, []byte{1, 2, 3}, nil))
	extra := appendAttr(nil, ovsh.PacketAttrUserdata, []byte("ud"))
	extra = appendU16(extra, ovsh.PacketAttrMRU, 1400)
	extra = appendU32(extra, ovsh.PacketAttrLen, 9000)
	extra = ne.AppendUint64(appendAttrHdr(extra, ovsh.PacketAttrHash, 8), 77)
	f.Add(upcallSeed(ovsh.PacketCmdAction, &k, make([]byte, 61), extra))
	var u datapath.Upcall
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := decodeUpcall(b, &u); err != nil {
			return
		}
		if u.Kind != datapath.UpcallMiss && u.Kind != datapath.UpcallAction {
			t.Fatalf("decoded kind %d", u.Kind)
		}
		var k datapath.FlowKey
		if err := decodeKey(appendKey(nil, &u.Key), &k); err != nil || k != u.Key {
			t.Fatalf("upcall key does not round-trip: %v", err)
		}
	})
}

// FuzzDecodeFlowReply fuzzes the attributes of flow replies (dump, get,
// delete), checking that a decoded flow re-encodes and decodes the same.
func FuzzDecodeFlowReply(f *testing.F) {
	for name, k := range keyCases() {
		fl := datapath.Flow{UFID: datapath.UFID{1, 2, 3}, Match: datapath.Match{Key: k, Mask: datapath.ExactMask(k)},
			Actions: actionCases()[name]}
		b, err := appendFlow(nil, &fl, true, true, false)
		if err != nil {
			f.Fatal(err)
		}
		b = appendAttr(b, ovsh.FlowAttrStats, make([]byte, 16))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fl datapath.Flow
		if err := decodeFlow(b, &fl); err != nil {
			return
		}
		if fl.Actions == nil {
			fl.Actions = datapath.Actions{}
		}
		enc, err := appendFlow(nil, &fl, true, true, false)
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		var fl2 datapath.Flow
		if err := decodeFlow(enc, &fl2); err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		fl2.Stats, fl2.Used, fl2.TCPFlags = fl.Stats, fl.Used, fl.TCPFlags
		if fl.Match.Mask.Fields == 0 {
			fl.Match.Mask = datapath.FlowKey{} // a mask without fields is not encoded
			fl2.Match.Mask = datapath.FlowKey{}
		}
		if !reflect.DeepEqual(fl, fl2) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", fl2, fl)
		}
	})
}

// FuzzParseDatapathVport fuzzes the datapath and vport reply parsers.
func FuzzParseDatapathVport(f *testing.F) {
	f.Add(appendU32(appendAttr(nil, ovsh.DPAttrName, []byte("dp0\x00")), ovsh.DPAttrUserFeatures, 3))
	f.Add(appendAttr(appendU32(nil, ovsh.VportAttrPortNo, 1), ovsh.VportAttrStats, make([]byte, 64)))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseDatapath(reply{attrs: b})
		_, _ = parseVport(b)
	})
}
