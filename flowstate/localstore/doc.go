// Package localstore keeps flow state (connection-tracking and NAT keys) on
// the agent's own disk, one file per port, so that an agent that restarts
// reloads its ports' connections, and a port's next host can ask this one
// for them when the port moves (package flowstate/transfer). It implements
// flowstate.Store.
//
// # Why here
//
// It is a backend of flowstate.Store, next to the interface and the
// message encoding it stores, as flowstate/cassandra is; the agent
// (datapath/agent) imports it, not the other way round. It holds no
// simulation and no NSDB code.
//
// # File format
//
// A port's file is a ring of fixed-size blocks (Config.BlockSize, 256 KiB
// by default; Config.BlocksPerPort of them, 512 by default, so at most
// 128 MiB per port). Each block starts with a 64-byte header (all integers
// little-endian):
//
//	offset  size  field
//	0       4     magic "HVSB"
//	4       1     version (1)
//	5       3     zero
//	8       4     block size
//	12      4     bytes of records after the header
//	16      4     number of records
//	20      4     CRC-32C of the records
//	24      8     sequence number (grows by one per block of the port)
//	32      8     time of the first record (Unix ns)
//	40      8     time of the last record (Unix ns)
//	48      12    the port ID's first 12 bytes
//	60      4     CRC-32C of bytes 0-59
//
// followed by records, each a 4-byte length, an 8-byte time (Unix ns) and
// one flow-state message in its wire format (flowstate.Message). A block
// whose header or records fail their checksum, or whose records do not
// parse, is skipped whole, counted and logged: a torn or corrupted block
// never stops the reader, and the blocks around it are read.
//
// Blocks expire whole: a block whose last record is older than
// Config.Retention (two minutes: twice the keys' idle timeout) is not
// read, and its slot is the next to be reused. When the ring is full the
// oldest block is overwritten (counted). A file with no live block left is
// deleted.
//
// # Writes
//
// Save appends records to the port's current block in memory; a
// background flusher writes them every Config.FlushInterval (20 ms), with
// the block's header after them, with plain positioned writes: once
// written, data survives the agent's process being killed (it is in the
// kernel's page cache), though not a crash of the machine. Load writes the
// port's pending records first, so what was saved is read back. The agent
// keeps Save off its packet path: workers hand messages to a queue without
// allocating, and one goroutine saves them.
package localstore
