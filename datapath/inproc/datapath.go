package inproc

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/internal/ufidmap"
)

// Config configures a Datapath. The zero value is valid.
type Config struct {
	// Name is the datapath's name, also the name of its local port 0
	// (default "inproc").
	Name string
	// Logger receives debug logs (dropped packets, socket errors). Nil
	// discards.
	Logger *slog.Logger
	// Monotonic returns the current time on the clock that Flow.Used is
	// expressed in. Nil means CLOCK_MONOTONIC on Linux, as the kernel
	// reports, and the time since New elsewhere. Tests inject a fake.
	Monotonic func() time.Duration
	// TunnelAddr is the local underlay address that VXLAN ports bind their
	// UDP socket to (default 127.0.0.1). Several datapaths on one host use
	// different addresses (127.0.0.0/8 is all loopback on Linux) or
	// different PortSpec.DstPort values.
	TunnelAddr netip.Addr
	// UpcallQueue is the capacity of each upcall socket's queue (default
	// 1024). Upcalls arriving at a full queue are dropped and counted in
	// Stats.Lost, like upcalls the kernel cannot queue on a full netlink
	// socket.
	UpcallQueue int
	// MaskCache is the number of entries of the mask cache, which
	// remembers the mask that last matched a packet hash (default 4096,
	// rounded up to a power of two; negative disables it).
	MaskCache int
	// EndpointQueue is the capacity of each in-memory port's receive queue
	// (default 512). Frames output to a full queue are dropped and counted
	// in the port's TxDropped.
	EndpointQueue int
}

// maxPorts is DP_MAX_PORTS: port numbers are below 65536.
const maxPorts = 1 << 16

// Datapath is an in-process Open vSwitch datapath. It implements
// datapath.Datapath, datapath.FlowBatcher and datapath.FlowDeleter. It is safe for concurrent
// use: packets are processed in the goroutine that delivers them (an
// Endpoint's Send, a VXLAN port's receive loop, Execute) and flow lookups
// share a read lock, so they run in parallel with each other.
type Datapath struct {
	name  string
	log   *slog.Logger
	now   func() time.Duration
	tunIP netip.Addr
	upQ   int
	epQ   int

	// flowMu guards the flow table. Lookups take the read lock; flow
	// statistics are atomics updated under it.
	flowMu sync.RWMutex
	cls    *classifier
	byUFID ufidmap.Map[flow]
	byKey  map[string]*flow // flows without UFID, by packed key
	seq    uint64           // installation counter, orders dumps
	// touched accumulates what DeleteFlows reads ahead, so that the
	// compiler keeps the reads; its value means nothing.
	touched uint64
	// flowPool holds removed flows for reuse (recycle).
	flowPool sync.Pool
	// masks shares the masks of the flows installed (masks.go).
	masks maskCache

	// portMu serializes port changes; readers load ports without locking.
	portMu sync.Mutex
	ports  atomic.Pointer[map[datapath.PortNumber]*port]

	sockMu  sync.Mutex
	socks   atomic.Pointer[map[uint32]*UpcallSocket]
	nextPID atomic.Uint32
	msgPool sync.Pool // *upcallMsg

	hit, missed, lost, maskHit, cacheHit atomic.Uint64
	closed                               atomic.Bool
}

var (
	_ datapath.Datapath    = (*Datapath)(nil)
	_ datapath.FlowBatcher = (*Datapath)(nil)
	_ datapath.FlowDeleter = (*Datapath)(nil)
)

// New returns a datapath with its local port 0 (an internal port named
// cfg.Name) and no flows.
func New(cfg Config) *Datapath {
	d := &Datapath{
		name:  cfg.Name,
		log:   cfg.Logger,
		now:   cfg.Monotonic,
		tunIP: cfg.TunnelAddr,
		upQ:   cfg.UpcallQueue,
		epQ:   cfg.EndpointQueue,
		cls:   newClassifier(cacheSize(cfg.MaskCache)),
		byKey: make(map[string]*flow),
	}
	if d.name == "" {
		d.name = "inproc"
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = datapath.MonotonicClock()
	}
	if !d.tunIP.IsValid() {
		d.tunIP = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if d.upQ <= 0 {
		d.upQ = 1024
	}
	if d.epQ <= 0 {
		d.epQ = 512
	}
	ports := map[datapath.PortNumber]*port{
		datapath.LocalPort: d.newPort(datapath.LocalPort, datapath.PortInternal, d.name, 0, nil),
	}
	d.ports.Store(&ports)
	socks := map[uint32]*UpcallSocket{}
	d.socks.Store(&socks)
	return d
}

func cacheSize(n int) int {
	switch {
	case n == 0:
		return 4096
	case n < 0:
		return 0
	}
	return min(n, 1<<20)
}

// Name returns the datapath's name.
func (d *Datapath) Name() string { return d.name }

// Stats are the datapath's counters, as the kernel's datapath and megaflow
// statistics.
type Stats struct {
	// Hit and Missed count packets received on ports that matched a flow or
	// not; Lost counts upcalls that could not be queued (no upcall socket,
	// closed socket, full queue).
	Hit, Missed, Lost uint64
	// Flows is the number of flows; Masks the number of distinct masks
	// (subtables).
	Flows uint64
	Masks uint32
	// MaskHit is the number of subtables probed by all lookups:
	// MaskHit/(Hit+Missed) is the average lookup cost. CacheHit counts the
	// lookups answered by the mask cache at the first probe.
	MaskHit, CacheHit uint64
}

// Stats returns the datapath's counters.
func (d *Datapath) Stats() Stats {
	d.flowMu.RLock()
	flows, masks := d.cls.flows, len(d.cls.subs)
	d.flowMu.RUnlock()
	return Stats{
		Hit: d.hit.Load(), Missed: d.missed.Load(), Lost: d.lost.Load(),
		Flows: uint64(flows), Masks: uint32(masks), MaskHit: d.maskHit.Load(), CacheHit: d.cacheHit.Load(),
	}
}

// Rebalance orders the megaflow subtables by how many lookups each
// answered since the last call, so that the busiest masks are probed
// first (the kernel does this periodically). Call it from time to time.
func (d *Datapath) Rebalance() {
	d.flowMu.Lock()
	d.cls.rebalance()
	d.flowMu.Unlock()
}

// Close deletes every port (closing VXLAN sockets and endpoints) and
// upcall socket. Later calls fail with datapath.ErrClosed.
func (d *Datapath) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	d.portMu.Lock()
	ports := *d.ports.Load()
	empty := map[datapath.PortNumber]*port{}
	d.ports.Store(&empty)
	d.portMu.Unlock()
	for _, p := range ports {
		p.close()
	}
	d.sockMu.Lock()
	socks := *d.socks.Load()
	none := map[uint32]*UpcallSocket{}
	d.socks.Store(&none)
	d.sockMu.Unlock()
	for _, s := range socks {
		s.shut()
	}
	return nil
}

func errno(e syscall.Errno) error { return datapath.Errno{Errno: e} }

func opErr(op string, err error) error { return &datapath.OpError{Op: op, Err: err} }

// invalid returns an error matching datapath.ErrInvalid and EINVAL.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), errno(syscall.EINVAL))
}

// unsupported returns an error matching datapath.ErrNotSupported and
// EOPNOTSUPP for a feature the in-process datapath lacks.
func unsupported(what string) error {
	return fmt.Errorf("%s is not supported by the in-process datapath: %w", what, errno(syscall.EOPNOTSUPP))
}

func (d *Datapath) checkOpen(ctx context.Context, op string) error {
	if d.closed.Load() {
		return opErr(op, datapath.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return opErr(op, err)
	}
	return nil
}

// port returns port n, or nil.
func (d *Datapath) port(n datapath.PortNumber) *port { return (*d.ports.Load())[n] }

// CreatePort implements datapath.Datapath. Port numbers are assigned like
// the kernel's: the lowest free number from 1 unless spec.Number asks for
// one. Internal and netdev ports are in-memory endpoints (see Endpoint); a
// VXLAN port binds a UDP socket on Config.TunnelAddr and spec.DstPort
// (default 4789). GRE and Geneve ports are not supported.
func (d *Datapath) CreatePort(ctx context.Context, spec datapath.PortSpec) (datapath.Port, error) {
	const op = "vport new"
	if err := d.checkOpen(ctx, op); err != nil {
		return datapath.Port{}, err
	}
	dst := spec.DstPort
	switch spec.Type {
	case datapath.PortInternal, datapath.PortNetdev:
		if dst != 0 {
			return datapath.Port{}, opErr(op, invalid("DstPort on a %s port", spec.Type))
		}
	case datapath.PortVXLAN:
		if dst == 0 {
			dst = 4789
		}
	case datapath.PortGRE, datapath.PortGeneve:
		return datapath.Port{}, opErr(op, unsupported(spec.Type.String()+" port"))
	default:
		return datapath.Port{}, opErr(op, invalid("port type %d", spec.Type))
	}
	if spec.Name == "" || len(spec.Name) > 15 {
		return datapath.Port{}, opErr(op, invalid("port name %q (1 to 15 bytes)", spec.Name))
	}
	if spec.Number >= maxPorts {
		return datapath.Port{}, opErr(op, fmt.Errorf("port number %d: %w", spec.Number, errno(syscall.EFBIG)))
	}

	d.portMu.Lock()
	defer d.portMu.Unlock()
	old := *d.ports.Load()
	for _, p := range old {
		if p.name == spec.Name {
			return datapath.Port{}, opErr(op, fmt.Errorf("port name %q in use: %w", spec.Name, errno(syscall.EEXIST)))
		}
	}
	no := spec.Number
	if no != 0 {
		if old[no] != nil {
			return datapath.Port{}, opErr(op, fmt.Errorf("port number %d in use: %w", no, errno(syscall.EBUSY)))
		}
	} else {
		for no = 1; old[no] != nil; no++ {
		}
		if no >= maxPorts {
			return datapath.Port{}, opErr(op, fmt.Errorf("no free port number: %w", errno(syscall.EFBIG)))
		}
	}
	p := d.newPort(no, spec.Type, spec.Name, dst, spec.UpcallPIDs)
	if spec.Type == datapath.PortVXLAN {
		if err := d.openVXLAN(p); err != nil {
			return datapath.Port{}, opErr(op, err)
		}
	}
	next := make(map[datapath.PortNumber]*port, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[no] = p
	d.ports.Store(&next)
	return p.info(), nil
}

// DeletePort implements datapath.Datapath. The local port cannot be
// deleted (EINVAL, as in the kernel); a missing port gives ENODEV.
func (d *Datapath) DeletePort(ctx context.Context, n datapath.PortNumber) error {
	const op = "vport del"
	if err := d.checkOpen(ctx, op); err != nil {
		return err
	}
	if n == datapath.LocalPort {
		return opErr(op, invalid("the local port cannot be deleted"))
	}
	d.portMu.Lock()
	old := *d.ports.Load()
	p := old[n]
	if p == nil {
		d.portMu.Unlock()
		return opErr(op, errno(syscall.ENODEV))
	}
	next := make(map[datapath.PortNumber]*port, len(old))
	for k, v := range old {
		if k != n {
			next[k] = v
		}
	}
	d.ports.Store(&next)
	d.portMu.Unlock()
	p.close()
	return nil
}

// Port returns port n (ENODEV if absent).
func (d *Datapath) Port(ctx context.Context, n datapath.PortNumber) (datapath.Port, error) {
	if err := d.checkOpen(ctx, "vport get"); err != nil {
		return datapath.Port{}, err
	}
	p := d.port(n)
	if p == nil {
		return datapath.Port{}, opErr("vport get", errno(syscall.ENODEV))
	}
	return p.info(), nil
}

// PortByName returns the port named name (ENODEV if absent).
func (d *Datapath) PortByName(ctx context.Context, name string) (datapath.Port, error) {
	if err := d.checkOpen(ctx, "vport get"); err != nil {
		return datapath.Port{}, err
	}
	for _, p := range *d.ports.Load() {
		if p.name == name {
			return p.info(), nil
		}
	}
	return datapath.Port{}, opErr("vport get", errno(syscall.ENODEV))
}

// Ports implements datapath.Datapath.
func (d *Datapath) Ports(ctx context.Context) ([]datapath.Port, error) {
	if err := d.checkOpen(ctx, "vport dump"); err != nil {
		return nil, err
	}
	m := *d.ports.Load()
	out := make([]datapath.Port, 0, len(m))
	for _, p := range m {
		out = append(out, p.info())
	}
	slices.SortFunc(out, func(a, b datapath.Port) int { return int(a.Number) - int(b.Number) })
	return out, nil
}

// SetPortUpcallPIDs changes the upcall sockets of a port. Empty or {0}
// disables upcalls (misses are then counted as lost).
func (d *Datapath) SetPortUpcallPIDs(ctx context.Context, n datapath.PortNumber, pids []uint32) error {
	if err := d.checkOpen(ctx, "vport set"); err != nil {
		return err
	}
	p := d.port(n)
	if p == nil {
		return opErr("vport set", errno(syscall.ENODEV))
	}
	p.setPIDs(pids)
	return nil
}
