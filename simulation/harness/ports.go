package harness

import (
	"fmt"
	"sync"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/l4"
	"github.com/hivenet/hivenet/topology"
)

// portBlockSize is the number of ports in a NAT port block, as agents
// claim them.
const portBlockSize = 64

// memPorts is the harness's NAT port leaser (l4.NATPorts), held in memory
// and deterministic. Like an agent's, it hands out ports from 64-port
// blocks per device and address, and a port once per destination; the
// first allocation that finds no free port in its blocks claims the next
// block and reports that it is not there yet (a wait that is already
// over), so the simulation ends with NotYet and is run again, as on an
// agent. Ports are taken in increasing order.
type memPorts struct {
	claimed claimed // what Allocate returns when it claimed a block
	mu      sync.Mutex
	blocks  map[devIP]map[uint16]bool // claimed block indexes
	used    map[devIP]map[portUse]bool
}

type devIP struct {
	dev topology.ID
	ip  flowstate.IPv4
}

type portUse struct {
	port    uint16
	dst     flowstate.IPv4
	dstPort uint16
}

var _ l4.NATPorts = (*memPorts)(nil)

func newMemPorts() *memPorts {
	ready := make(chan struct{})
	close(ready)
	return &memPorts{claimed: claimed{ready}, blocks: map[devIP]map[uint16]bool{}, used: map[devIP]map[portUse]bool{}}
}

// Allocate implements l4.NATPorts.
func (m *memPorts) Allocate(device topology.ID, dst flowstate.IPv4, dstPort uint16, targets []flowstate.NATTarget) (flowstate.NATBinding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range targets {
		for ip := range ips(t) {
			k := devIP{device, ip}
			for b := t.PortStart / portBlockSize; ; b++ {
				if m.blocks[k][b] {
					if port, ok := m.take(k, b, t, dst, dstPort); ok {
						return flowstate.NATBinding{IP: ip, Port: port}, nil
					}
				}
				if b == t.PortEnd/portBlockSize {
					break
				}
			}
		}
	}
	for _, t := range targets {
		for ip := range ips(t) {
			k := devIP{device, ip}
			for b := t.PortStart / portBlockSize; ; b++ {
				if !m.blocks[k][b] {
					if m.blocks[k] == nil {
						m.blocks[k] = map[uint16]bool{}
					}
					m.blocks[k][b] = true
					return flowstate.NATBinding{}, m.claimed
				}
				if b == t.PortEnd/portBlockSize {
					break
				}
			}
		}
	}
	return flowstate.NATBinding{}, fmt.Errorf("%w: every block of %d targets is taken", ErrPortsExhausted, len(targets))
}

// take returns the lowest port of block b inside t's range not used toward
// dst:dstPort, and marks it used.
func (m *memPorts) take(k devIP, b uint16, t flowstate.NATTarget, dst flowstate.IPv4, dstPort uint16) (uint16, bool) {
	first := uint32(b) * portBlockSize
	for p := first; p < first+portBlockSize; p++ {
		if p < uint32(t.PortStart) || p > uint32(t.PortEnd) {
			continue
		}
		u := portUse{uint16(p), dst, dstPort}
		if m.used[k][u] {
			continue
		}
		if m.used[k] == nil {
			m.used[k] = map[portUse]bool{}
		}
		m.used[k][u] = true
		return uint16(p), true
	}
	return 0, false
}

// Free implements l4.NATPorts.
func (m *memPorts) Free(device topology.ID, b flowstate.NATBinding, dst flowstate.IPv4, dstPort uint16) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.used[devIP{device, b.IP}], portUse{b.Port, dst, dstPort})
}

// ips yields the addresses of t's range.
func ips(t flowstate.NATTarget) func(func(flowstate.IPv4) bool) {
	return func(yield func(flowstate.IPv4) bool) {
		lo, hi := be32(t.IPStart), be32(t.IPEnd)
		for v := uint64(lo); v <= uint64(hi); v++ {
			if !yield(flowstate.IPv4{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}) {
				return
			}
		}
	}
}

func be32(ip flowstate.IPv4) uint32 {
	return uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8 | uint32(ip[3])
}

// claimed is the not-yet error of a block claim, which in memory is over
// at once: it wraps simulation.ErrNotYet and implements l4.Wait.
type claimed struct{ ready chan struct{} }

func (claimed) Error() string            { return "harness: claiming a NAT port block" }
func (claimed) Unwrap() error            { return simulation.ErrNotYet }
func (c claimed) Ready() <-chan struct{} { return c.ready }
func (claimed) Err() error               { return nil }
