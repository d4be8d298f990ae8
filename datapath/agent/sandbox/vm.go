package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// ErrTimeout reports that a VM did not get the packet it waited for.
var ErrTimeout = errors.New("sandbox: timed out")

// Port is the far side of a datapath port a VM is plugged into: what
// inproc.Endpoint provides.
type Port interface {
	Send(frame []byte) error
	Receive(ctx context.Context) ([]byte, error)
}

// VMConfig describes an emulated VM.
type VMConfig struct {
	Name string
	MAC  topology.MAC
	// Addr is the VM's address and subnet (10.1.0.11/24).
	Addr netip.Prefix
	// Gateway is the next hop for addresses outside Addr's subnet.
	Gateway netip.Addr
	// Internet makes the VM answer echo requests and accept packets for
	// any destination address sent to its MAC: an upstream router standing
	// for the internet.
	Internet bool
	// TCPListen are the TCP ports answered with SYN-ACK; UDPEcho the UDP
	// ports whose datagrams are sent back.
	TCPListen []uint16
	UDPEcho   []uint16
}

// Packet is a frame a VM received, parsed.
type Packet struct {
	Frame []byte
	Match packet.Match
	At    time.Time
}

// View returns the packet's fields.
func (p *Packet) View() *packet.View { return p.Match.Peek() }

func (p *Packet) String() string { return p.Match.String() }

// VM is an emulated virtual machine: an Ethernet endpoint with a MAC and
// an IPv4 address that answers ARP requests and pings, resolves its next
// hops with ARP, and sends pings, UDP datagrams and TCP SYNs. It records
// every frame it receives.
type VM struct {
	cfg  VMConfig
	port Port

	mu      sync.Mutex
	arp     map[netip.Addr]topology.MAC
	waiters map[*waiter]struct{}
	log     []*Packet
	sent    []*Packet
	nextID  uint16
}

type waiter struct {
	match func(*Packet) bool
	ch    chan *Packet
}

// NewVM returns a VM on port; call Run to start it.
func NewVM(cfg VMConfig, port Port) *VM {
	return &VM{cfg: cfg, port: port, arp: make(map[netip.Addr]topology.MAC), waiters: make(map[*waiter]struct{}), nextID: 1}
}

// Name returns the VM's name.
func (v *VM) Name() string { return v.cfg.Name }

// Addr returns the VM's address.
func (v *VM) Addr() netip.Addr { return v.cfg.Addr.Addr() }

// MAC returns the VM's MAC.
func (v *VM) MAC() topology.MAC { return v.cfg.MAC }

// Run receives and answers frames until ctx ends or the port goes away.
func (v *VM) Run(ctx context.Context) {
	v.mu.Lock()
	port := v.port
	v.mu.Unlock()
	for {
		f, err := port.Receive(ctx)
		if err != nil {
			return
		}
		p := &Packet{Frame: f, At: time.Now()}
		if err := p.Match.Parse(f); err != nil {
			continue
		}
		v.mu.Lock()
		v.log = append(v.log, p)
		v.mu.Unlock()
		v.answer(p)
		v.mu.Lock()
		for w := range v.waiters {
			if w.match(p) {
				select {
				case w.ch <- p:
				default:
				}
			}
		}
		v.mu.Unlock()
	}
}

// plug moves the VM to port (a migration): the frames it sends from now on
// leave through port; Run must be started again to receive from it.
func (v *VM) plug(port Port) {
	v.mu.Lock()
	v.port = port
	v.mu.Unlock()
}

// Received returns the frames received so far.
func (v *VM) Received() []*Packet {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.log)
}

// Resolve returns the MAC of next hop ip, asking with ARP every 200 ms
// until ctx ends.
func (v *VM) Resolve(ctx context.Context, ip netip.Addr) (topology.MAC, error) {
	for {
		v.mu.Lock()
		mac, ok := v.arp[ip]
		v.mu.Unlock()
		if ok {
			return mac, nil
		}
		req, err := packet.AppendARPRequest(nil, packet.VLAN{}, v.cfg.MAC, v.Addr(), ip)
		if err != nil {
			return topology.MAC{}, err
		}
		tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, err = v.expect(tctx, func(p *Packet) bool {
			m := p.View()
			return m.EtherType() == packet.EtherTypeARP && m.ARPOp() == 2 && m.ARPSPA() == ip
		}, func() error { return v.send(req) })
		cancel()
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return topology.MAC{}, fmt.Errorf("%w: %s: no ARP reply for %s", ErrTimeout, v.cfg.Name, ip)
		}
	}
}

// nextHop returns the MAC to send a packet for dst to.
func (v *VM) nextHop(ctx context.Context, dst netip.Addr) (topology.MAC, error) {
	nh := dst
	if !v.cfg.Addr.Contains(dst) {
		if !v.cfg.Gateway.IsValid() {
			return topology.MAC{}, fmt.Errorf("sandbox: %s has no route to %s", v.cfg.Name, dst)
		}
		nh = v.cfg.Gateway
	}
	return v.Resolve(ctx, nh)
}

func (v *VM) id() uint16 {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.nextID++
	return v.nextID
}

// Ping sends an ICMP echo request to dst and waits for the reply with the
// same identifier; it returns the reply.
func (v *VM) Ping(ctx context.Context, dst netip.Addr) (*Packet, error) {
	mac, err := v.nextHop(ctx, dst)
	if err != nil {
		return nil, err
	}
	id := v.id()
	var m packet.Match
	m.SetEthSrc(v.cfg.MAC)
	m.SetEthDst(mac)
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(v.Addr())
	m.SetIPDst(dst)
	m.SetIPProto(packet.ProtoICMP)
	m.SetIPTTL(64)
	m.SetICMPType(packet.ICMPEchoRequest)
	m.SetICMPID(id)
	f, err := packet.AppendFrame(nil, &m, []byte("hivenet sandbox ping"))
	if err != nil {
		return nil, err
	}
	match := func(p *Packet) bool {
		x := p.View()
		return x.EtherType() == packet.EtherTypeIPv4 && x.IPProto() == packet.ProtoICMP &&
			x.ICMPType() == packet.ICMPEchoReply && x.ICMPID() == id && x.IPDst() == v.Addr()
	}
	// Like ping(8), send again until a reply comes (every PingInterval).
	for {
		tctx, cancel := context.WithTimeout(ctx, PingInterval)
		r, err := v.expect(tctx, match, func() error { return v.send(f) })
		cancel()
		if err == nil || ctx.Err() != nil {
			if err != nil {
				err = fmt.Errorf("%w: %s: no echo reply from %s", ErrTimeout, v.cfg.Name, dst)
			}
			return r, err
		}
	}
}

// PingInterval is how often Ping sends its echo request again while no
// reply comes.
const PingInterval = 250 * time.Millisecond

// SendTCP sends a TCP segment with flags (0x02: SYN) from sport to
// dst:dport; with wait it waits for the answer (a segment from dst's side
// to sport) and returns it.
func (v *VM) SendTCP(ctx context.Context, dst netip.Addr, sport, dport uint16, flags uint16, wait bool) (*Packet, error) {
	return v.sendL4(ctx, packet.ProtoTCP, dst, sport, dport, flags, nil, wait)
}

// SendTCPData sends a TCP segment with flags and data as its payload from
// sport to dst:dport, without waiting for an answer.
func (v *VM) SendTCPData(ctx context.Context, dst netip.Addr, sport, dport uint16, flags uint16, data []byte) error {
	_, err := v.sendL4(ctx, packet.ProtoTCP, dst, sport, dport, flags, data, false)
	return err
}

// SendUDP sends an empty UDP datagram from sport to dst:dport; with wait
// it waits for a datagram back to sport.
func (v *VM) SendUDP(ctx context.Context, dst netip.Addr, sport, dport uint16, wait bool) (*Packet, error) {
	return v.sendL4(ctx, packet.ProtoUDP, dst, sport, dport, 0, nil, wait)
}

func (v *VM) sendL4(ctx context.Context, proto uint8, dst netip.Addr, sport, dport, flags uint16, payload []byte, wait bool) (*Packet, error) {
	f, err := v.l4Frame(ctx, proto, dst, sport, dport, flags, payload)
	if err != nil {
		return nil, err
	}
	if !wait {
		return nil, v.send(f)
	}
	return v.expect(ctx, func(p *Packet) bool {
		x := p.View()
		return x.EtherType() == packet.EtherTypeIPv4 && x.IPProto() == proto && x.DstPort() == sport && x.IPDst() == v.Addr()
	}, func() error { return v.send(f) })
}

// l4Frame builds a TCP or UDP frame from the VM to dst, addressed to the
// MAC of its next hop (resolved first).
func (v *VM) l4Frame(ctx context.Context, proto uint8, dst netip.Addr, sport, dport, flags uint16, payload []byte) ([]byte, error) {
	mac, err := v.nextHop(ctx, dst)
	if err != nil {
		return nil, err
	}
	var m packet.Match
	m.SetEthSrc(v.cfg.MAC)
	m.SetEthDst(mac)
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(v.Addr())
	m.SetIPDst(dst)
	m.SetIPProto(proto)
	m.SetIPTTL(64)
	m.SetSrcPort(sport)
	m.SetDstPort(dport)
	if proto == packet.ProtoTCP {
		m.SetTCPFlags(flags)
	}
	return packet.AppendFrame(nil, &m, payload)
}

// SendFrame sends a raw frame.
func (v *VM) SendFrame(f []byte) error { return v.send(f) }

// send sends f and records it.
func (v *VM) send(f []byte) error {
	p := &Packet{Frame: f, At: time.Now()}
	if p.Match.Parse(f) == nil {
		v.mu.Lock()
		v.sent = append(v.sent, p)
		v.mu.Unlock()
	}
	v.mu.Lock()
	port := v.port
	v.mu.Unlock()
	return port.Send(f)
}

// Sent returns the frames the VM sent, ARP and automatic answers included.
func (v *VM) Sent() []*Packet {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.sent)
}

// LastSent returns the last frame the VM sent that satisfies match.
func (v *VM) LastSent(match func(*Packet) bool) (*Packet, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i := len(v.sent) - 1; i >= 0; i-- {
		if match(v.sent[i]) {
			return v.sent[i], true
		}
	}
	return nil, false
}

// WaitFor returns the first frame received (before or after the call)
// that satisfies match, waiting until ctx ends.
func (v *VM) WaitFor(ctx context.Context, match func(*Packet) bool) (*Packet, error) {
	w := &waiter{match: match, ch: make(chan *Packet, 1)}
	v.mu.Lock()
	for _, p := range v.log {
		if match(p) {
			v.mu.Unlock()
			return p, nil
		}
	}
	v.waiters[w] = struct{}{}
	v.mu.Unlock()
	defer func() {
		v.mu.Lock()
		delete(v.waiters, w)
		v.mu.Unlock()
	}()
	select {
	case p := <-w.ch:
		return p, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %s: %w", ErrTimeout, v.cfg.Name, ctx.Err())
	}
}

// Count returns the number of received frames that satisfy match.
func (v *VM) Count(match func(*Packet) bool) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for _, p := range v.log {
		if match(p) {
			n++
		}
	}
	return n
}

// Announce broadcasts a gratuitous ARP for the VM's address (as a VM does
// when it boots or moves).
func (v *VM) Announce() error {
	f, err := packet.AppendARPRequest(nil, packet.VLAN{}, v.cfg.MAC, v.Addr(), v.Addr())
	if err != nil {
		return err
	}
	return v.send(f)
}

// ForgetARP empties the VM's ARP cache.
func (v *VM) ForgetARP() {
	v.mu.Lock()
	clear(v.arp)
	v.mu.Unlock()
}
