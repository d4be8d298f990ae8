package agent

import (
	"testing"

	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// benchStateMessage is what one TCP connection through source NAT pushes:
// a conntrack key and the NAT pair, with one egress port.
func benchStateMessage() *flowstate.Message {
	k := flowstate.ConnKey{Device: bridge, SrcIP: flowstate.IPv4{10, 0, 0, 1}, DstIP: flowstate.IPv4{8, 8, 8, 8}, SrcPort: 40000, DstPort: 443, Proto: 6}
	b := flowstate.NATBinding{IP: flowstate.IPv4{203, 0, 113, 10}, Port: 1024}
	return &flowstate.Message{Sender: portA, IngressPort: portA, EgressPorts: []topology.ID{portB},
		Conns: []flowstate.ConnKey{k},
		NATs: []flowstate.NATEntry{{Key: flowstate.NATKey{Type: flowstate.NATFwdSNAT, ConnKey: k}, Binding: b},
			{Key: flowstate.NATKey{Type: flowstate.NATRevSNAT, ConnKey: k}, Binding: b}}}
}

// BenchmarkStatePush measures what the agent does per flow-state message
// it pushes, up to the datapath's execute: encode the message, sign it
// (signed) or not (unsigned, the cost before authentication), and build
// the frame. 0 allocations either way.
func BenchmarkStatePush(b *testing.B) {
	for _, signed := range []bool{false, true} {
		name := map[bool]string{false: "unsigned", true: "signed"}[signed]
		b.Run(name, func(b *testing.B) {
			msg, mac := benchStateMessage(), testKeys.NewMAC()
			buf, out := make([]byte, 0, flowstate.MaxPayload), make([]byte, 0, 1600)
			b.ReportAllocs()
			for range b.N {
				err := msg.AppendParts(buf[:0], flowstate.MaxPayload-auth.Overhead, func(part []byte) error {
					if signed {
						var err error
						if part, err = mac.Seal(part, 0, auth.FlowStateMessage, nil, t0); err != nil {
							return err
						}
					}
					f, err := translate.AppendFlowStateFrame(out[:0], part)
					out = f
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStateReceive measures what the agent does per flow-state message
// it receives before importing the keys: parse the frame, verify the MAC
// (signed) or not (unsigned), decode the message. 0 allocations either way.
func BenchmarkStateReceive(b *testing.B) {
	for _, signed := range []bool{false, true} {
		name := map[bool]string{false: "unsigned", true: "signed"}[signed]
		b.Run(name, func(b *testing.B) {
			msg, mac := benchStateMessage(), testKeys.NewMAC()
			payload, _ := msg.AppendBinary(nil)
			if signed {
				payload, _ = mac.Seal(payload, 0, auth.FlowStateMessage, nil, t0)
			}
			frame, err := translate.AppendFlowStateFrame(nil, payload)
			if err != nil {
				b.Fatal(err)
			}
			var m packet.Match
			var got flowstate.Message
			b.ReportAllocs()
			for range b.N {
				if err := m.Parse(frame); err != nil {
					b.Fatal(err)
				}
				l := m.Layout()
				p := frame[l.Payload:l.End]
				if signed {
					if p, err = mac.Open(p, auth.FlowStateMessage, nil, t0); err != nil {
						b.Fatal(err)
					}
				}
				if err := got.UnmarshalBinary(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
