package l4

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/nat"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// clock is a fake clock shared by the tables and the leaser.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// ports wraps a real leaser over an in-memory NSDB and counts calls.
type ports struct {
	*nat.Leaser
	mu     sync.Mutex
	allocs int
	frees  []flowstate.NATBinding
}

func (p *ports) Allocate(device topology.ID, dst flowstate.IPv4, dstPort uint16, targets []flowstate.NATTarget) (flowstate.NATBinding, error) {
	b, err := p.Leaser.Allocate(device, dst, dstPort, targets)
	if err == nil {
		p.mu.Lock()
		p.allocs++
		p.mu.Unlock()
	}
	return b, err
}

func (p *ports) Free(device topology.ID, b flowstate.NATBinding, dst flowstate.IPv4, dstPort uint16) {
	p.mu.Lock()
	p.frees = append(p.frees, b)
	p.mu.Unlock()
	p.Leaser.Free(device, b, dst, dstPort)
}

func (p *ports) freed() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.frees) }

// health is a MemberHealth backed by a map.
type health map[topology.ID]bool

func (h health) MemberUp(id topology.ID) bool { return h[id] }

// world is a topology with state, one engine and one worker's services.
type world struct {
	t      testing.TB
	topo   *topology.Topology
	snap   *topology.Snapshot
	st     *simulation.MapState
	eng    *simulation.Engine
	svc    *Services
	clock  *clock
	ports  *ports
	health health
	seed   uint64
	msg    flowstate.Message
}

func newWorld(t testing.TB, topo *topology.Topology) *world {
	t.Helper()
	return newAgent(t, topo, memory.NewServer(memory.Config{}).NewClient().Blocks(), 1)
}

// newAgent is newWorld for one agent of several sharing an NSDB: its NAT
// blocks are claimed through blocks (the agent's session); seed varies the
// random choices between agents.
func newAgent(t testing.TB, topo *topology.Topology, blocks nsdb.Blocks, seed uint64) *world {
	t.Helper()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	leaser := nat.NewLeaser(nat.LeaserConfig{
		Allocator: nat.NewAllocator(blocks, rand.New(rand.NewPCG(seed, 2))),
		Now:       c.Now,
		Rand:      rand.New(rand.NewPCG(seed, 4)),
	})
	t.Cleanup(func() { _ = leaser.Close() })
	w := &world{t: t, topo: topo, st: simulation.NewMapState(), eng: simulation.New(simulation.Config{}),
		clock: c, ports: &ports{Leaser: leaser}, health: health{}}
	w.svc = New(Config{
		Conns:  flowstate.NewConnTable(flowstate.TableConfig{Now: c.Now}),
		NATs:   flowstate.NewNATTable(flowstate.TableConfig{Now: c.Now}),
		Ports:  w.ports,
		Health: w.health,
	})
	w.learn()
	return w
}

// load reads a topology file text.
func load(t testing.TB, text string) *topology.Topology {
	t.Helper()
	topo, err := topofile.Load(strings.NewReader(text), t.Name()+".yaml")
	if err != nil {
		t.Fatalf("topology: %v", err)
	}
	return topo
}

func loadFile(t testing.TB, path string) *topology.Topology {
	t.Helper()
	topo, err := topofile.LoadFile(path)
	if err != nil {
		t.Fatalf("topology: %v", err)
	}
	return topo
}

func pid(name string) topology.ID { return topology.NameID(topology.KindPort, name) }
func rid(name string) topology.ID { return topology.NameID(topology.KindRouter, name) }
func bid(name string) topology.ID { return topology.NameID(topology.KindBridge, name) }
func ip(s string) netip.Addr      { return netip.MustParseAddr(s) }
func ip4(s string) flowstate.IPv4 { v, _ := flowstate.IPv4From(ip(s)); return v }

// learn makes every exterior port active, learns every VM of a DHCP host
// entry named after its port on that port, and gives every router an ARP
// entry for every such VM.
func (w *world) learn() {
	for i := range w.topo.Ports {
		p := &w.topo.Ports[i]
		if p.Kind() == topology.PortExterior {
			w.st.SetActive(p.ID, true)
		}
	}
	for _, d := range w.topo.DHCPSubnets {
		for _, h := range d.Hosts {
			w.st.LearnMAC(d.Bridge, 0, h.MAC, pid(h.Name))
			for _, r := range w.topo.Routers {
				w.st.SetARP(r.ID, h.Addr, h.MAC)
			}
		}
	}
	w.snap = nil
}

// changed rebuilds the snapshot after w.topo was modified.
func (w *world) changed() { w.snap = nil }

func (w *world) snapshot() *topology.Snapshot {
	if w.snap == nil {
		w.snap = topology.NewSnapshot(w.topo)
	}
	return w.snap
}

func (w *world) port(name string) *topology.Port {
	for i := range w.topo.Ports {
		if w.topo.Ports[i].Name == name {
			return &w.topo.Ports[i]
		}
	}
	w.t.Fatalf("no port %q", name)
	return nil
}

// mac returns the MAC of the VM named name (its DHCP host entry) or of the
// router port named name.
func (w *world) mac(name string) topology.MAC {
	for _, d := range w.topo.DHCPSubnets {
		for _, h := range d.Hosts {
			if h.Name == name {
				return h.MAC
			}
		}
	}
	return w.port(name).MAC
}

// sim simulates frame entering port in (or, generated, leaving it) and
// leaves the transaction open.
func (w *world) sim(in string, frame []byte, generated bool) *simulation.Result {
	w.t.Helper()
	return w.simAt(pid(in), frame, generated)
}

// simAt is sim for a port given by ID.
func (w *world) simAt(in topology.ID, frame []byte, generated bool) *simulation.Result {
	w.t.Helper()
	w.seed++
	r := &simulation.Result{}
	err := w.eng.Simulate(&simulation.Input{Snapshot: w.snapshot(), State: w.st, Stateful: w.svc,
		InPort: in, Frame: frame, Now: w.clock.Now(), Rand: w.seed, Trace: true, Generated: generated}, r)
	if err != nil {
		w.t.Fatalf("Simulate: %v", err)
	}
	if testing.Verbose() {
		w.t.Logf("trace:\n%s", r.Trace)
	}
	return r
}

// send simulates frame and finishes the transaction (commit or abort by
// verdict), retrying once when a NAT block is being claimed. It returns the
// result and the references the flow holds.
func (w *world) send(in string, frame []byte) (*simulation.Result, *Refs) {
	w.t.Helper()
	r := w.sim(in, frame, false)
	if r.Verdict == simulation.NotYet && r.Reason == simulation.ReasonStateful {
		wt := w.svc.Waiting()
		w.svc.Abort()
		if wt == nil {
			w.t.Fatalf("NotYet without anything to wait for\n%s", r.Trace)
		}
		<-wt.Ready()
		if err := wt.Err(); err != nil {
			w.t.Fatalf("NAT block claim failed: %v", err)
		}
		r = w.sim(in, frame, false)
	}
	refs := &Refs{}
	w.msg.Reset()
	w.svc.Finish(r, refs, &w.msg)
	return r, refs
}

// frame describes a packet to build.
type frame struct {
	src, dst     topology.MAC
	ipSrc, ipDst string
	proto        uint8
	sport, dport uint16
	icmpType     uint8
	icmpID       uint16
}

func tcp(src, dst topology.MAC, from, to string) frame {
	a, b := netip.MustParseAddrPort(from), netip.MustParseAddrPort(to)
	return frame{src: src, dst: dst, ipSrc: a.Addr().String(), ipDst: b.Addr().String(), proto: packet.ProtoTCP, sport: a.Port(), dport: b.Port()}
}

func udp(src, dst topology.MAC, from, to string) frame {
	f := tcp(src, dst, from, to)
	f.proto = packet.ProtoUDP
	return f
}

func ping(src, dst topology.MAC, from, to string, id uint16) frame {
	return frame{src: src, dst: dst, ipSrc: from, ipDst: to, proto: packet.ProtoICMP, icmpType: packet.ICMPEchoRequest, icmpID: id}
}

func pong(src, dst topology.MAC, from, to string, id uint16) frame {
	f := ping(src, dst, from, to, id)
	f.icmpType = packet.ICMPEchoReply
	return f
}

func (f frame) bytes(t testing.TB) []byte {
	t.Helper()
	var m packet.Match
	m.SetEthSrc(f.src)
	m.SetEthDst(f.dst)
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(ip(f.ipSrc))
	m.SetIPDst(ip(f.ipDst))
	m.SetIPProto(f.proto)
	m.SetIPTTL(64)
	switch f.proto {
	case packet.ProtoTCP, packet.ProtoUDP:
		m.SetSrcPort(f.sport)
		m.SetDstPort(f.dport)
	case packet.ProtoICMP:
		m.SetICMPType(f.icmpType)
		m.SetICMPID(f.icmpID)
	}
	b, err := packet.AppendFrame(nil, &m, []byte("payload!"))
	if err != nil {
		t.Fatalf("AppendFrame: %v", err)
	}
	return b
}

// icmpError builds an ICMP error from src to dst about frame orig.
func icmpError(t testing.TB, ethSrc, ethDst topology.MAC, src, dst string, typ, code uint8, orig []byte) []byte {
	t.Helper()
	b, err := packet.AppendICMPError(nil, packet.ICMPError{EthSrc: ethSrc, EthDst: ethDst, Src: ip(src), Dst: ip(dst), Type: typ, Code: code, MTU: 1500}, orig)
	if err != nil {
		t.Fatalf("AppendICMPError: %v", err)
	}
	return b
}

// out returns the headers output i of r leaves with, parsed from the frame
// the agent would send (input frame with the rewrites applied).
func out(t testing.TB, in []byte, r *simulation.Result, i int) *packet.View {
	t.Helper()
	if i >= len(r.Outputs) {
		t.Fatalf("no output %d (verdict %v, %v)\n%s", i, r.Verdict, r.Reason, r.Trace)
	}
	f, err := packet.Apply(append([]byte(nil), in...), &r.Original, &r.Outputs[i].Match)
	if err != nil {
		t.Fatalf("applying the rewrites: %v", err)
	}
	var m packet.Match
	if err := m.Parse(f); err != nil {
		t.Fatalf("parsing the output frame: %v", err)
	}
	return m.Peek()
}

func wantVerdict(t testing.TB, r *simulation.Result, v simulation.Verdict, reason simulation.DropReason) {
	t.Helper()
	if r.Verdict != v || r.Reason != reason {
		t.Fatalf("verdict %v (%v), want %v (%v)\n%s", r.Verdict, r.Reason, v, reason, r.Trace)
	}
}

// wantOut checks the result forwards to exactly port.
func wantOut(t testing.TB, r *simulation.Result, port string) {
	t.Helper()
	wantVerdict(t, r, simulation.Forward, simulation.ReasonNone)
	if len(r.Outputs) != 1 || r.Outputs[0].Port != pid(port) {
		t.Fatalf("outputs %v, want %s\n%s", r.OutPorts(nil), port, r.Trace)
	}
}

func natKeyOf(typ flowstate.NATKeyType, device topology.ID, proto uint8, from, to string) flowstate.NATKey {
	a, b := netip.MustParseAddrPort(from), netip.MustParseAddrPort(to)
	s, _ := flowstate.IPv4From(a.Addr())
	d, _ := flowstate.IPv4From(b.Addr())
	return flowstate.NATKey{Type: typ, ConnKey: flowstate.ConnKey{Device: device, SrcIP: s, DstIP: d,
		SrcPort: a.Port(), DstPort: b.Port(), Proto: proto}}
}

// natKeys returns the NAT table's keys of type typ.
func (w *world) natKeys(typ flowstate.NATKeyType) map[flowstate.NATKey]flowstate.NATBinding {
	m := map[flowstate.NATKey]flowstate.NATBinding{}
	w.svc.NATs().Range(func(k flowstate.NATKey, b flowstate.NATBinding) bool {
		if k.Type == typ {
			m[k] = b
		}
		return true
	})
	return m
}

// only returns the single key of m.
func only(t testing.TB, m map[flowstate.NATKey]flowstate.NATBinding) (flowstate.NATKey, flowstate.NATBinding) {
	t.Helper()
	if len(m) != 1 {
		t.Fatalf("%d keys, want 1: %v", len(m), m)
	}
	for k, b := range m {
		return k, b
	}
	panic("unreachable")
}
