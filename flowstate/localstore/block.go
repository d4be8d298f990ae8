package localstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/hivenet/hivenet/topology"
)

// Block format constants (see the package documentation).
const (
	// HeaderSize is the size of a block header.
	HeaderSize = 64
	// RecordHeaderSize is the length and time before each record's
	// message.
	RecordHeaderSize = 12
	// MinBlockSize and MaxBlockSize bound Config.BlockSize.
	MinBlockSize = 4 << 10
	MaxBlockSize = 16 << 20

	version = 1
)

var (
	blockMagic = [4]byte{'H', 'V', 'S', 'B'}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// Errors of the block decoder, wrapped with details.
var (
	// ErrCorrupt: a block's header or records fail their checks.
	ErrCorrupt = errors.New("localstore: corrupt block")
	// ErrEmptySlot: the slot holds no block (zeros, or never written).
	ErrEmptySlot = errors.New("localstore: empty block slot")
)

// header is a block header.
type header struct {
	blockSize uint32
	used      uint32 // bytes of records after the header
	count     uint32
	crc       uint32 // CRC-32C of the records
	seq       uint64
	first     int64
	last      int64
	port      [12]byte
}

func portTag(p topology.ID) (t [12]byte) { copy(t[:], p[:12]); return t }

// put encodes h into b[:HeaderSize].
func (h *header) put(b []byte) {
	_ = b[HeaderSize-1]
	copy(b[0:4], blockMagic[:])
	b[4], b[5], b[6], b[7] = version, 0, 0, 0
	binary.LittleEndian.PutUint32(b[8:], h.blockSize)
	binary.LittleEndian.PutUint32(b[12:], h.used)
	binary.LittleEndian.PutUint32(b[16:], h.count)
	binary.LittleEndian.PutUint32(b[20:], h.crc)
	binary.LittleEndian.PutUint64(b[24:], h.seq)
	binary.LittleEndian.PutUint64(b[32:], uint64(h.first))
	binary.LittleEndian.PutUint64(b[40:], uint64(h.last))
	copy(b[48:60], h.port[:])
	binary.LittleEndian.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
}

// parseHeader decodes and checks a block header. An all-zero header is
// ErrEmptySlot; anything else that is not a valid header is ErrCorrupt.
func parseHeader(b []byte) (header, error) {
	if len(b) < HeaderSize {
		return header{}, fmt.Errorf("%w: header truncated to %d bytes", ErrCorrupt, len(b))
	}
	b = b[:HeaderSize]
	if allZero(b) {
		return header{}, ErrEmptySlot
	}
	if [4]byte(b[0:4]) != blockMagic {
		return header{}, fmt.Errorf("%w: bad magic %q", ErrCorrupt, b[0:4])
	}
	if got, want := binary.LittleEndian.Uint32(b[60:]), crc32.Checksum(b[:60], castagnoli); got != want {
		return header{}, fmt.Errorf("%w: header checksum %#x, computed %#x", ErrCorrupt, got, want)
	}
	if b[4] != version || b[5]|b[6]|b[7] != 0 {
		return header{}, fmt.Errorf("%w: version %d, flags %x (this build reads version %d)", ErrCorrupt, b[4], b[5:8], version)
	}
	h := header{
		blockSize: binary.LittleEndian.Uint32(b[8:]),
		used:      binary.LittleEndian.Uint32(b[12:]),
		count:     binary.LittleEndian.Uint32(b[16:]),
		crc:       binary.LittleEndian.Uint32(b[20:]),
		seq:       binary.LittleEndian.Uint64(b[24:]),
		first:     int64(binary.LittleEndian.Uint64(b[32:])),
		last:      int64(binary.LittleEndian.Uint64(b[40:])),
		port:      [12]byte(b[48:60]),
	}
	switch {
	case h.blockSize < MinBlockSize || h.blockSize > MaxBlockSize:
		return header{}, fmt.Errorf("%w: block size %d out of [%d, %d]", ErrCorrupt, h.blockSize, MinBlockSize, MaxBlockSize)
	case h.used > h.blockSize-HeaderSize:
		return header{}, fmt.Errorf("%w: %d bytes of records in a %d-byte block", ErrCorrupt, h.used, h.blockSize)
	case uint64(h.count)*RecordHeaderSize > uint64(h.used):
		return header{}, fmt.Errorf("%w: %d records in %d bytes", ErrCorrupt, h.count, h.used)
	case h.last < h.first:
		return header{}, fmt.Errorf("%w: last record older than the first", ErrCorrupt)
	}
	return h, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// appendRecord appends a record header for a message of n bytes written at
// ts; the caller appends the message.
func appendRecord(b []byte, n int, ts int64) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	return binary.LittleEndian.AppendUint64(b, uint64(ts))
}

// checkRecords checks the records of the block h heads (body is exactly
// the h.used bytes after the header): the checksum, the framing, the count
// and the times must agree with h, else it fails with ErrCorrupt.
func checkRecords(h *header, body []byte) error {
	if uint32(len(body)) != h.used {
		return fmt.Errorf("%w: %d bytes of records, the header says %d", ErrCorrupt, len(body), h.used)
	}
	if got := crc32.Checksum(body, castagnoli); got != h.crc {
		return fmt.Errorf("%w: records checksum %#x, header says %#x", ErrCorrupt, got, h.crc)
	}
	n := uint32(0)
	for p := body; len(p) > 0; n++ {
		if len(p) < RecordHeaderSize {
			return fmt.Errorf("%w: record %d truncated", ErrCorrupt, n)
		}
		l := binary.LittleEndian.Uint32(p)
		ts := int64(binary.LittleEndian.Uint64(p[4:]))
		if uint64(l) > uint64(len(p)-RecordHeaderSize) {
			return fmt.Errorf("%w: record %d of %d bytes overruns the block", ErrCorrupt, n, l)
		}
		if ts < h.first || ts > h.last {
			return fmt.Errorf("%w: record %d time outside the block's", ErrCorrupt, n)
		}
		p = p[RecordHeaderSize+int(l):]
	}
	if n != h.count {
		return fmt.Errorf("%w: %d records, the header says %d", ErrCorrupt, n, h.count)
	}
	return nil
}

// eachRecord calls fn with each record of a block checkRecords accepted.
func eachRecord(body []byte, fn func(ts int64, msg []byte) error) error {
	for p := body; len(p) > 0; {
		l := binary.LittleEndian.Uint32(p)
		ts := int64(binary.LittleEndian.Uint64(p[4:]))
		if err := fn(ts, p[RecordHeaderSize:RecordHeaderSize+int(l)]); err != nil {
			return err
		}
		p = p[RecordHeaderSize+int(l):]
	}
	return nil
}
