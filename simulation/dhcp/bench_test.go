package dhcp_test

import (
	"testing"

	"github.com/hivenet/hivenet/simulation/dhcp"
)

// BenchmarkReply measures DHCP replies per second: a DISCOVER decoded,
// looked up and answered with a full OFFER frame.
func BenchmarkReply(b *testing.B) {
	s := dhcp.New(dhcp.Config{})
	in := &dhcp.Input{Table: testTable(b, 0), Bridge: bridgeID, Frame: discover(vmMAC), TunnelMTU: 1450}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Reply(buf[:0], in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "replies/s")
}
