package dhcp_test

import (
	"errors"
	"testing"

	"github.com/hivenet/hivenet/simulation/dhcp"
)

// FuzzDecode: Decode never panics, accepts only what it can walk, and
// every option of an accepted message lies inside it.
func FuzzDecode(f *testing.F) {
	f.Add(discover(vmMAC)[42:])
	f.Add(dhcp.AppendClientFrame(nil, &dhcp.ClientMessage{Type: dhcp.Request, MAC: vmMAC, RequestedIP: vmAddr, ServerID: server, Params: []byte{1, 3, 6, 26, 121}})[42:])
	f.Add(make([]byte, 240))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m dhcp.Message
		if err := m.Decode(b); err != nil {
			if !errors.Is(err, dhcp.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(b) < dhcp.HeaderLen {
			t.Fatalf("accepted %d bytes", len(b))
		}
		for code := range 256 {
			if v, ok := m.Option(uint8(code)); ok && len(v) > 255 {
				t.Fatalf("option %d of %d bytes", code, len(v))
			}
		}
		if v, ok := m.Option(dhcp.OptMessageType); !ok || len(v) != 1 || dhcp.MessageType(v[0]) != m.Type {
			t.Fatalf("message type option %v disagrees with Type %v", v, m.Type)
		}
	})
}

// FuzzReply: the server never panics on any frame, and whatever it sends
// is a server message that decodes, for the client's transaction.
func FuzzReply(f *testing.F) {
	f.Add(discover(vmMAC))
	f.Add(dhcp.AppendClientFrame(nil, &dhcp.ClientMessage{Type: dhcp.Request, MAC: vmMAC, RequestedIP: vmAddr}))
	f.Add(dhcp.AppendClientFrame(nil, &dhcp.ClientMessage{Type: dhcp.Inform, MAC: vmMAC, CIAddr: vmAddr}))
	tab := testTable(f, 0)
	s := dhcp.New(dhcp.Config{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		a, err := s.Reply(nil, &dhcp.Input{Table: tab, Bridge: bridgeID, Frame: frame, TunnelMTU: 1450})
		if err != nil || a.Frame == nil {
			if a.Frame != nil {
				t.Fatalf("error %v with a reply", err)
			}
			return
		}
		p, err := dhcp.ServerPayload(a.Frame)
		if err != nil {
			t.Fatalf("reply frame: %v", err)
		}
		var m dhcp.Message
		if err := m.Decode(p); err != nil {
			t.Fatalf("reply does not decode: %v", err)
		}
		if m.Type != a.Reply || m.Op != dhcp.OpReply {
			t.Fatalf("reply type %v op %d, answer says %v", m.Type, m.Op, a.Reply)
		}
	})
}
