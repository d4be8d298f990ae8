package scale

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// Offsets in the frames the harness sends: Ethernet, IPv4 without options,
// then the L4 header (20 bytes for TCP, 8 for UDP) and an 8-byte payload
// carrying the stream and the sequence number.
const (
	ethLen  = 14
	l4Off   = ethLen + 20
	seqMark = 0x5ca1e000
)

// stream is one kind of new-flow traffic: frames entering the agent at
// one endpoint, each with a new 5-tuple (and for flooding a new
// destination MAC), received at one or more endpoints.
type stream struct {
	name string
	id   uint8
	in   *inproc.Endpoint
	tmpl []byte
	// vary writes packet i's distinguishing fields into f.
	vary func(f []byte, i int)
	sent []atomic.Int64 // send time (ns since the driver's start) of packet i
	lat  []atomic.Int64 // latency of packet i in ns, 0 until received
	got  atomic.Int64
	n    atomic.Int64 // packets sent
}

// frame builds a TCP SYN (or UDP if udp) frame template.
func frame(src, dst topology.MAC, sip, dip netip.Addr, udp bool) []byte {
	var m packet.Match
	m.SetEthSrc(src)
	m.SetEthDst(dst)
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(sip)
	m.SetIPDst(dip)
	m.SetIPTTL(64)
	if udp {
		m.SetIPProto(packet.ProtoUDP)
	} else {
		m.SetIPProto(packet.ProtoTCP)
		m.SetTCPFlags(0x002) // SYN
	}
	m.SetSrcPort(1024)
	m.SetDstPort(22)
	f, err := packet.AppendFrame(nil, &m, make([]byte, 8))
	if err != nil {
		panic(fmt.Sprintf("scale: frame template: %v", err)) // a programming error: the fields are fixed
	}
	return f
}

// ports varies the L4 ports: 60,000 source ports per destination port,
// starting at dport.
func ports(dport int) func(f []byte, i int) {
	return func(f []byte, i int) {
		binary.BigEndian.PutUint16(f[l4Off:], uint16(1024+i%60000))
		binary.BigEndian.PutUint16(f[l4Off+2:], uint16(dport+i/60000))
	}
}

// driver sends streams into an agent and records the latency of every
// packet received.
type driver struct {
	start   time.Time
	streams []*stream
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// newDriver prepares the streams for n packets each and starts receiving
// on outs.
func newDriver(streams []*stream, outs []*inproc.Endpoint, n int) *driver {
	d := &driver{start: time.Now(), streams: streams}
	for i, s := range streams {
		s.id = uint8(i)
		s.sent = make([]atomic.Int64, n)
		s.lat = make([]atomic.Int64, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	for _, ep := range outs {
		d.wg.Add(1)
		go d.receive(ctx, ep)
	}
	return d
}

func (d *driver) receive(ctx context.Context, ep *inproc.Endpoint) {
	defer d.wg.Done()
	for {
		f, err := ep.Receive(ctx)
		if err != nil {
			return
		}
		now := int64(time.Since(d.start))
		if len(f) < 8 {
			continue
		}
		pl := f[len(f)-8:]
		mark := binary.BigEndian.Uint32(pl)
		if mark&^0xff != seqMark {
			continue
		}
		s := int(mark & 0xff)
		i := int(binary.BigEndian.Uint32(pl[4:]))
		if s >= len(d.streams) || i >= len(d.streams[s].lat) {
			continue
		}
		st := d.streams[s]
		if st.lat[i].CompareAndSwap(0, max(now-st.sent[i].Load(), 1)) {
			st.got.Add(1)
		}
	}
}

// send sends packet i of s.
func (d *driver) send(s *stream, buf []byte, i int) error {
	buf = append(buf[:0], s.tmpl...)
	s.vary(buf, i)
	binary.BigEndian.PutUint32(buf[len(buf)-8:], seqMark|uint32(s.id))
	binary.BigEndian.PutUint32(buf[len(buf)-4:], uint32(i))
	s.sent[i].Store(int64(time.Since(d.start)))
	s.n.Add(1)
	return s.in.Send(buf)
}

// closedLoop sends n packets of s as fast as the agent takes them, with
// at most window unanswered, and waits (up to wait) for the last answers.
func (d *driver) closedLoop(ctx context.Context, s *stream, n, window int, wait time.Duration) error {
	buf := make([]byte, 0, 256)
	// lost counts packets given up on: when nothing arrives for a second,
	// the packets in flight are taken as dropped.
	var lost int64
	for i := range n {
		last, since := s.got.Load(), time.Now()
		for int64(i)-s.got.Load()-lost >= int64(window) {
			if err := ctx.Err(); err != nil {
				return err
			}
			if g := s.got.Load(); g != last {
				last, since = g, time.Now()
			} else if time.Since(since) > time.Second {
				lost = int64(i) - g
			}
			time.Sleep(50 * time.Microsecond) // polling the receivers' count
		}
		if err := d.send(s, buf, i); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(wait)
	for s.got.Load() < int64(n) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Millisecond) // polling the receivers' count
	}
	return ctx.Err()
}

// openLoop sends each stream at rate packets/s for length (n packets at
// most per stream), paced in 1 ms steps, whatever the agent answers.
func (d *driver) openLoop(ctx context.Context, rate int, length time.Duration) {
	buf := make([]byte, 0, 256)
	start := time.Now()
	for ctx.Err() == nil {
		el := time.Since(start)
		if el >= length {
			break
		}
		want := int(el.Seconds() * float64(rate))
		for _, s := range d.streams {
			for i := int(s.n.Load()); i < want && i < len(s.sent); i++ {
				_ = d.send(s, buf, i)
			}
		}
		time.Sleep(time.Millisecond) // pacing
	}
}

// stop stops the receivers.
func (d *driver) stop() {
	d.cancel()
	d.wg.Wait()
}

// latencies returns s's latencies of the packets received, sorted, and the
// number sent.
func (s *stream) latencies() ([]time.Duration, int) {
	n := int(s.n.Load())
	var out []time.Duration
	for i := range min(n, len(s.lat)) {
		if v := s.lat[i].Load(); v > 0 {
			out = append(out, time.Duration(v))
		}
	}
	slices.Sort(out)
	return out, n
}

// quantile returns the q-quantile of sorted (0 if empty).
func quantile[T ~int64 | ~float64](sorted []T, q float64) T {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return sorted[i]
}
