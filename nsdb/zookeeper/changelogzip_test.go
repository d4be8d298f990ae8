package zookeeper

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"testing"

	"github.com/hivenet/hivenet/nsdb/internal/txn"
	"github.com/hivenet/hivenet/topology"
)

// bulkEntry is the entry of a commit creating n bridges.
func bulkEntry(n int) []byte {
	var cs []change
	for i := range n {
		id := topology.NameID(topology.KindBridge, fmt.Sprint(i))
		cs = append(cs, change{key: txn.Key{Kind: topology.KindBridge, ID: id}, data: fmt.Appendf(nil, `{"id":%q,"name":"b%d"}`, id, i)})
	}
	return encodeChanges(cs)
}

func TestPackEntry(t *testing.T) {
	small := bulkEntry(2)
	if len(small) >= compressEntryMin {
		t.Fatalf("small entry is %d bytes", len(small))
	}
	if got := packEntry(small); !bytes.Equal(got, small) {
		t.Fatal("a small entry was changed")
	}
	big := bulkEntry(500)
	packed := packEntry(big)
	if len(packed) >= len(big)/2 {
		t.Fatalf("a %d-byte entry packed to %d bytes", len(big), len(packed))
	}
	for _, data := range [][]byte{small, packed} {
		got, err := unpackEntry(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeChangelog(got); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := unpackEntry(packed); !bytes.Equal(got, big) {
		t.Fatal("the packed entry does not unpack to the entry")
	}
}

func TestUnpackEntryBounded(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(make([]byte, maxChangelogEntry+1))
	zw.Close()
	if _, err := unpackEntry(z.Bytes()); !errors.Is(err, errBadChangelog) {
		t.Fatalf("an entry decompressing past the bound: %v, want errBadChangelog", err)
	}
	if _, err := unpackEntry([]byte{0x1f, 0x8b, 1, 2, 3}); !errors.Is(err, errBadChangelog) {
		t.Fatalf("a broken gzip stream: %v, want errBadChangelog", err)
	}
}

func FuzzUnpackEntry(f *testing.F) {
	f.Add(packEntry(bulkEntry(200)))
	f.Add(bulkEntry(1))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := unpackEntry(data)
		if err != nil {
			if !errors.Is(err, errBadChangelog) {
				t.Fatalf("error %v does not wrap errBadChangelog", err)
			}
			return
		}
		if len(out) > max(len(data), maxChangelogEntry) {
			t.Fatalf("%d bytes unpacked to %d", len(data), len(out))
		}
	})
}
