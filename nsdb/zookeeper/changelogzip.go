package zookeeper

import (
	"bytes"
	"compress/gzip"
)

// A change log entry of at least compressEntryMin bytes is written
// gzip-compressed. Every client reads every entry, so an entry's size is
// paid once per client: a client replaying a bulk load reads each of its
// commits (100,000 ports take 252 commits and 34 MB of entries, a
// quarter of that compressed), and an ensemble serving a fleet sends
// each commit to every agent. A small entry (a rule, a port binding) is
// left as it is: compressing it would save little and cost the reader a
// decompressor.
//
// A plain entry begins with a kind name, a compressed one with the gzip
// magic bytes, so a reader tells them apart by their first bytes. A
// client that predates compression finds a compressed entry undecodable
// and re-reads every object, as for an entry it cannot read.

// compressEntryMin is the size from which an entry is compressed.
const compressEntryMin = 4096

// packEntry returns the data to write for entry: entry itself if small,
// else its gzip stream (at the fastest level: a commit waits for it).
func packEntry(entry []byte) []byte {
	if len(entry) < compressEntryMin {
		return entry
	}
	var z bytes.Buffer
	z.Grow(len(entry) / 3)
	zw, err := gzip.NewWriterLevel(&z, gzip.BestSpeed)
	if err == nil {
		_, err = zw.Write(entry)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil || z.Len() >= len(entry) {
		return entry
	}
	return z.Bytes()
}

// unpackEntry returns the entry data holds: data itself unless it is
// compressed (the gzip magic bytes), then its decompressed form, bounded
// by maxChangelogEntry. Its errors wrap errBadChangelog.
func unpackEntry(data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data, nil
	}
	return gunzipBounded(data, maxChangelogEntry, errBadChangelog)
}
