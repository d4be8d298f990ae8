package transfer

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/auth"
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
		_, n, _ := readResponse(bufio.NewReader(bytes.NewReader(data)), 1<<16, nil, func(m *flowstate.Message) error {
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

// FuzzAuthResponse feeds arbitrary bytes to the client's decoder as the
// answer to an authenticated request: it never panics and delivers nothing
// that does not carry valid MACs bound to the request (only the seed the
// server signed can get through).
func FuzzAuthResponse(f *testing.F) {
	keys := testKeys(f, 1)
	var nonce [nonceSize]byte
	m := storetest.Message(host, topology.NameID(topology.KindPort, "vm"), nil, router, 0, 2)
	signed := signedStream(f, keys, nonce, m)
	f.Add(signed)
	f.Add(signed[:len(signed)-1])
	f.Add(append(replyV(versionAuth, statusOK), frame(m)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		sess := newSession(keys, fixedNow, nonce)
		msgs, _, err := readResponse(bufio.NewReader(bytes.NewReader(data)), 1<<16, sess, func(*flowstate.Message) error { return nil })
		if msgs > 0 && !bytes.HasPrefix(data, signed[:len(signed)-4-auth.Overhead]) {
			t.Fatalf("delivered %d messages from a stream the server did not sign (%v)", msgs, err)
		}
	})
}

// FuzzAuthRequest feeds arbitrary bytes to the server's authenticated
// request decoder: only the signed seed is accepted.
func FuzzAuthRequest(f *testing.F) {
	keys := testKeys(f, 1)
	mac := keys.NewMAC()
	req, err := appendAuthRequest(nil, topology.NameID(topology.KindPort, "vm"), [nonceSize]byte{1}, mac, fixedNow())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(req)
	f.Add(appendRequest(nil, topology.NameID(topology.KindPort, "vm")))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, _, err := parseAuthRequest(data, mac, fixedNow()); err == nil && !bytes.Equal(data, req) {
			t.Fatalf("accepted % x, which was never signed", data)
		}
	})
}
