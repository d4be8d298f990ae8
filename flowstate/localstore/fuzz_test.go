package localstore

import (
	"context"
	"os"
	"testing"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/topology"
)

// FuzzLoadFile feeds arbitrary bytes to the file decoder as a port's file:
// Load never panics, never fails for bad content (it skips what does not
// check), and delivers only messages that are valid flow-state messages.
func FuzzLoadFile(f *testing.F) {
	clk := newClock()
	port := topology.NameID(topology.KindPort, "fuzz")
	cfg := func(dir string) Config {
		return Config{Dir: dir, BlockSize: MinBlockSize, BlocksPerPort: 8, Now: clk.Now, FlushInterval: -1, ExpireInterval: -1}
	}
	{
		dir := f.TempDir()
		s, err := Open(cfg(dir))
		if err != nil {
			f.Fatal(err)
		}
		saveN(f, s, port, 0, perBlock(MinBlockSize)+3) // a full block and a partial one
		s.Close()
		b, err := os.ReadFile(s.path(port))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:MinBlockSize+HeaderSize+40])
		f.Add(b[:HeaderSize])
		f.Add(b[MinBlockSize:])
	}
	f.Add([]byte{})
	f.Add(make([]byte, HeaderSize))
	s, err := Open(cfg(f.TempDir()))
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 8*MinBlockSize {
			return
		}
		if err := os.WriteFile(s.path(port), data, 0o600); err != nil {
			t.Fatal(err)
		}
		var check flowstate.Message
		err = s.Load(context.Background(), port, func(m *flowstate.Message) error {
			b, err := m.AppendBinary(nil)
			if err != nil {
				t.Fatalf("delivered a message that does not encode: %v", err)
			}
			if err := check.UnmarshalBinary(b); err != nil {
				t.Fatalf("delivered a message that does not round-trip: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Load failed on bad content instead of skipping it: %v", err)
		}
	})
}
