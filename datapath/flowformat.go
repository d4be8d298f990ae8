package datapath

import (
	"strconv"
	"time"
)

// Format returns f as `ovs-dpctl dump-flows` prints it, on one line:
//
//	<match>, packets:N, bytes:N, used:<age>, [flags:<tcp flags>, ]actions:<actions>
//
// The age is now minus f.Used in seconds with three decimals ("0.420s"),
// or "never" when the flow never matched; now is a reading of the clock
// Used is on (MonotonicClock for the kernel and the in-process datapath).
// The TCP flags, when any were seen, use ovs's letters (S F P R U . E C N).
func (f *Flow) Format(now time.Duration) string {
	b := make([]byte, 0, 256)
	b = append(b, f.Match.String()...)
	b = append(b, ", packets:"...)
	b = strconv.AppendUint(b, f.Stats.Packets, 10)
	b = append(b, ", bytes:"...)
	b = strconv.AppendUint(b, f.Stats.Bytes, 10)
	b = append(b, ", used:"...)
	if f.Used == 0 {
		b = append(b, "never"...)
	} else {
		age := max(now-f.Used, 0)
		b = strconv.AppendFloat(b, float64(age.Milliseconds())/1000, 'f', 3, 64)
		b = append(b, 's')
	}
	if f.TCPFlags != 0 {
		b = append(b, ", flags:"...)
		b = AppendTCPFlags(b, uint16(f.TCPFlags))
	}
	b = append(b, ", actions:"...)
	b = append(b, f.Actions.String()...)
	return string(b)
}

// tcpFlagLetters are ovs's letters for TCP flags, in the order it prints
// them, with their bits.
var tcpFlagLetters = [...]struct {
	bit    uint16
	letter byte
}{
	{0x002, 'S'}, {0x001, 'F'}, {0x008, 'P'}, {0x004, 'R'}, {0x020, 'U'},
	{0x010, '.'}, {0x040, 'E'}, {0x080, 'C'}, {0x100, 'N'},
}

// AppendTCPFlags appends TCP flags as ovs prints them: one letter per set
// flag in the order S F P R U . E C N, then any other bits in brackets as
// hex ("[200]").
func AppendTCPFlags(b []byte, flags uint16) []byte {
	for _, l := range tcpFlagLetters {
		if flags&l.bit != 0 {
			b = append(b, l.letter)
			flags &^= l.bit
		}
	}
	for bit := uint16(0x200); bit != 0 && flags != 0; bit <<= 1 {
		if flags&bit != 0 {
			b = append(b, '[')
			b = strconv.AppendUint(b, uint64(bit), 16)
			b = append(b, ']')
			flags &^= bit
		}
	}
	return b
}
