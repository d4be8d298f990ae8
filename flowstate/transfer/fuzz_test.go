package transfer

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/storetest"
	"github.com/hivenet/hivenet/topology"
)

// FuzzResponse feeds arbitrary bytes to the client's decoder as a peer's
// answer: it never panics, delivers only valid messages, and stops at the
// size limit.
func FuzzResponse(f *testing.F) {
	m := storetest.Message(host, topology.NameID(topology.KindPort, "vm"), nil, router, 0, 2)
	ok := append(reply(statusOK), frame(m)...)
	f.Add(append(ok, 0, 0, 0, 0))
	f.Add(ok)
	f.Add(reply(statusBusy))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var check flowstate.Message
		_, n, _ := readResponse(bufio.NewReader(bytes.NewReader(data)), 1<<16, func(m *flowstate.Message) error {
			b, err := m.AppendBinary(nil)
			if err != nil {
				t.Fatalf("delivered a message that does not encode: %v", err)
			}
			return check.UnmarshalBinary(b)
		})
		if n > 1<<16 {
			t.Fatalf("read %d bytes past the 65536-byte limit", n)
		}
	})
}

// FuzzRequest feeds arbitrary bytes to the server's request decoder.
func FuzzRequest(f *testing.F) {
	f.Add(appendRequest(nil, topology.NameID(topology.KindPort, "vm")))
	f.Add([]byte("HVST"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseRequest(data)
		if err == nil && !bytes.Equal(appendRequest(nil, p), data) {
			t.Fatalf("accepted % x, which is not the request for %s", data, p)
		}
	})
}
